"""Reads. Each selector owns its query shape (select_related / prefetch / aggregates)."""

from dataclasses import dataclass
from datetime import datetime, time

from django.core.cache import cache
from django.db.models import F, OuterRef, QuerySet, Subquery, Value
from django.utils import timezone

from .models import Annotation, Category, ImportJob, Item, Membership, Project

QUEUE_REMAINING_CACHE_SECONDS = 30


def project_list_for_user(*, user) -> QuerySet[Project]:
    """Projects the user belongs to, each with `role` (None for superusers' other projects)."""
    role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    projects = Project.objects.annotate(role=Subquery(role))
    if not user.is_superuser:
        projects = projects.filter(memberships__user=user)
    return projects.order_by("name")


def category_list(*, project: Project, active_only: bool = True) -> list[Category]:
    categories = Category.objects.filter(project=project)
    if active_only:
        categories = categories.filter(active=True)
    return list(categories.order_by("order", "id"))


@dataclass(frozen=True)
class AnnotatorProgress:
    done_today: int
    done_total: int
    left_in_queue: int


def _start_of_today() -> datetime:
    now = timezone.localtime()
    return timezone.make_aware(datetime.combine(now.date(), time.min), now.tzinfo)


def queue_remaining(*, project: Project) -> int:
    """Items that still need annotations (cached briefly: a count over a million rows on every
    submit would cost more than the figure is worth)."""
    key = f"queue-remaining:{project.pk}"
    value = cache.get(key)
    if value is None:
        # Not yet consolidated (adaptive overlap sends an item back to pending); gold questions
        # are served outside the count. Index item_label_state_idx.
        value = Item.objects.filter(
            project=project, label_state=Item.LabelState.PENDING, is_gold_question=False
        ).count()
        cache.set(key, value, QUEUE_REMAINING_CACHE_SECONDS)
    return value


def annotator_progress(*, project: Project, annotator) -> AnnotatorProgress:
    mine = Annotation.objects.filter(item__project=project, annotator=annotator)
    return AnnotatorProgress(
        done_today=mine.filter(created_at__gte=_start_of_today()).count(),
        done_total=mine.count(),
        left_in_queue=queue_remaining(project=project),
    )


def annotation_list_mine(*, annotator, project: Project | None = None) -> QuerySet[Annotation]:
    annotations = Annotation.objects.filter(annotator=annotator)
    if project is not None:
        annotations = annotations.filter(item__project=project)
    return (
        annotations.select_related("item", "item__project")
        .prefetch_related("categories")
        .order_by("-created_at", "-id")
    )


ITEM_STATES = ("unlabeled", "in_progress", "complete", "adjudication", "gold")


def item_state_filter(items: QuerySet[Item], *, project: Project, state: str) -> QuerySet[Item]:
    """Filter `items` of `project` by state. Annotation progress: unlabeled (no annotation),
    in_progress (fewer than the item needs: the overlap plus any adaptive extra), complete (all
    it needs). Consolidation: adjudication (waiting for a lead), gold (gold label set)."""
    needed = Value(project.overlap) + F("extra_overlap")
    if state == "unlabeled":
        return items.filter(annotation_count=0)
    if state == "in_progress":
        return items.filter(annotation_count__gt=0, annotation_count__lt=needed)
    if state == "complete":
        return items.filter(annotation_count__gte=needed)
    if state in (Item.LabelState.ADJUDICATION, Item.LabelState.GOLD):
        return items.filter(label_state=state)
    raise ValueError(f"unknown item state {state!r}")


def item_list(
    *,
    project: Project,
    state: str | None = None,
    external_id: str | None = None,
    import_job_id: int | None = None,
) -> QuerySet[Item]:
    """Items of the project, filtered (states: `item_state_filter`); the caller pages by id
    (keyset), never counts them all."""
    items = Item.objects.filter(project=project)
    if state:
        items = item_state_filter(items, project=project, state=state)
    if external_id:
        items = items.filter(external_id=external_id)
    if import_job_id is not None:
        items = items.filter(import_job_id=import_job_id)
    return items.order_by("id")


def import_job_list(*, project: Project) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(project=project).order_by("-created_at", "-id")


def import_job_get(*, project: Project, job_id: int) -> ImportJob | None:
    return ImportJob.objects.filter(project=project, pk=job_id).first()


def category_get(*, project: Project, category_id: int) -> Category | None:
    return Category.objects.filter(project=project, pk=category_id).first()


def import_job_progress(*, job: ImportJob) -> dict:
    """Where an import stands: status, phase, rows_processed, rows_total, percent.

    While it runs, the importer writes progress to the cache (`import-progress:<id>`): its
    insert transaction is open, so the job row shows only the state before it. A finished job
    is read from the row.
    """
    finished = job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED)
    live = None if finished else cache.get(f"import-progress:{job.pk}")
    if live:
        return dict(live)
    return {
        "status": job.status,
        "phase": job.phase or job.status,
        "rows_processed": job.rows_processed,
        "rows_total": job.rows_total,
        "percent": 100.0 if finished else 0.0,
    }

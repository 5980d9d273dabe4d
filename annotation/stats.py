"""Reads for the lead and scientist pages: dashboard figures, the items list, members.

Dashboard figures are aggregated in the database with a few grouped queries.

Nothing here loops over items or annotations in Python; the loops below walk grouped result
rows (at most days × annotators, or categories). `dashboard_stats` caches the whole bundle per
project, so a dashboard left open by several people costs one set of queries; figures older
than 30 seconds are refreshed by a background task while the page shows the previous ones with
their time (at a million annotations the aggregates take seconds; no page view waits for them
once a project has been viewed).
"""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import Count, F, Min, Q, Sum, Value
from django.db.models.functions import Substr, TruncDate
from django.utils import timezone

from . import selectors
from .models import AdjudicationCase, Annotation, Category, ImportJob, Item, Membership, Project

logger = logging.getLogger(__name__)

DASHBOARD_CACHE_SECONDS = 30  # figures older than this are refreshed in the background
DASHBOARD_KEEP_SECONDS = 24 * 3600  # older figures are shown (with their time) meanwhile
DAILY_WINDOW_DAYS = 30
RECENT_IMPORTS = 5


@dataclass(frozen=True)
class ItemStates:
    total: int
    unlabeled: int  # no annotation yet
    in_progress: int  # 0 < annotations < what the item needs (overlap + adaptive extra)
    complete: int  # annotations >= what the item needs
    annotations: int  # sum of every item's annotation count
    adjudication: int = 0  # waiting for a lead
    gold: int = 0  # gold label set


@dataclass(frozen=True)
class DailyActivity:
    days: list[date]
    # (username, counts aligned with `days`), busiest annotator first
    series: list[tuple[str, list[int]]]

    @property
    def totals(self) -> list[int]:
        return [sum(col) for col in zip(*(c for _, c in self.series), strict=True)] or [
            0 for _ in self.days
        ]

    def active_on(self, day: date) -> int:
        if day not in self.days:
            return 0
        i = self.days.index(day)
        return sum(1 for _, counts in self.series if counts[i])

    def rows(self) -> list[tuple[date, list[int], int]]:
        """Days with any annotation, newest first: (day, per-annotator counts, total)."""
        out = []
        for i in range(len(self.days) - 1, -1, -1):
            counts = [c[i] for _, c in self.series]
            if any(counts):
                out.append((self.days[i], counts, sum(counts)))
        return out


@dataclass(frozen=True)
class LabelCount:
    name: str
    count: int
    kind: str = "category"  # category | none | unsure
    active: bool = True


@dataclass(frozen=True)
class ImportSummary:
    id: int
    original_name: str
    status: str
    status_label: str
    rows_imported: int
    rows_bad: int
    created_at: datetime


@dataclass(frozen=True)
class BacklogReason:
    reason: str
    label: str
    count: int
    oldest: datetime


@dataclass(frozen=True)
class Backlog:
    """Open adjudication cases: how many per reason and since when."""

    reasons: list[BacklogReason]

    @property
    def open(self) -> int:
        return sum(r.count for r in self.reasons)

    @property
    def oldest(self) -> datetime | None:
        return min((r.oldest for r in self.reasons), default=None)


@dataclass(frozen=True)
class DashboardStats:
    states: ItemStates
    daily: DailyActivity
    labels: list[LabelCount]
    imports: list[ImportSummary]
    active_today: int
    as_of: datetime
    chart_data: dict = field(default_factory=dict)
    backlog: Backlog = field(default_factory=lambda: Backlog(reasons=[]))


def item_state_counts(*, project: Project) -> ItemStates:
    """One aggregate over the project's items (index on project, annotation_count)."""
    needed = Value(project.overlap) + F("extra_overlap")
    row = Item.objects.filter(project=project).aggregate(
        total=Count("id"),
        unlabeled=Count("id", filter=Q(annotation_count=0)),
        complete=Count("id", filter=Q(annotation_count__gte=needed)),
        annotations=Sum("annotation_count"),
        adjudication=Count("id", filter=Q(label_state=Item.LabelState.ADJUDICATION)),
        gold=Count("id", filter=Q(label_state=Item.LabelState.GOLD)),
    )
    total = row["total"]
    return ItemStates(
        total=total,
        unlabeled=row["unlabeled"],
        in_progress=total - row["unlabeled"] - row["complete"],
        complete=row["complete"],
        annotations=row["annotations"] or 0,
        adjudication=row["adjudication"],
        gold=row["gold"],
    )


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def annotations_per_annotator_per_day(
    *, project: Project, days: int = DAILY_WINDOW_DAYS, today: date | None = None
) -> DailyActivity:
    """Annotations per annotator per (local) day over the last `days` days, today included."""
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    day_list = [first + timedelta(days=i) for i in range(days)]
    rows = (
        Annotation.objects.filter(
            item__project=project,
            created_at__gte=_local_midnight(first),
            created_at__lt=_local_midnight(today + timedelta(days=1)),
        )
        .annotate(day=TruncDate("created_at"))
        .values("day", "annotator__username")
        .annotate(n=Count("id"))
        .order_by()
    )
    index = {d: i for i, d in enumerate(day_list)}
    by_user: dict[str, list[int]] = {}
    for row in rows:
        counts = by_user.setdefault(row["annotator__username"], [0] * days)
        i = index.get(row["day"])
        if i is not None:
            counts[i] += row["n"]
    series = sorted(by_user.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    return DailyActivity(days=day_list, series=series)


def label_distribution(*, project: Project) -> list[LabelCount]:
    """How many annotations chose each category (inactive ones too), plus none-of-these and
    unsure. Two grouped queries."""
    through = Annotation.categories.through
    per_category = dict(
        through.objects.filter(category__project=project)
        .values("category_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("category_id", "n")
    )
    flags = Annotation.objects.filter(item__project=project).aggregate(
        none=Count("id", filter=Q(none_of_these=True)),
        unsure=Count("id", filter=Q(unsure=True)),
    )
    categories = Category.objects.filter(project=project).order_by("order", "id")
    labels = [
        LabelCount(name=c.name, count=per_category.get(c.pk, 0), active=c.active)
        for c in categories.only("id", "name", "active")
    ]
    labels.append(LabelCount(name="None of these", count=flags["none"], kind="none"))
    labels.append(LabelCount(name="Unsure", count=flags["unsure"], kind="unsure"))
    return labels


def recent_imports(*, project: Project, limit: int = RECENT_IMPORTS) -> list[ImportSummary]:
    jobs = ImportJob.objects.filter(project=project).order_by("-created_at", "-id")[:limit]
    return [
        ImportSummary(
            id=job.pk,
            original_name=job.original_name,
            status=job.status,
            status_label=job.get_status_display(),
            rows_imported=job.rows_imported,
            rows_bad=job.rows_bad,
            created_at=job.created_at,
        )
        for job in jobs.only(
            "id", "original_name", "status", "rows_imported", "rows_bad", "created_at"
        )
    ]


def adjudication_backlog(*, project: Project) -> Backlog:
    """Open cases per reason with the oldest one's age: one grouped query over the open
    cases (the partial index case_open_queue_idx holds only those)."""
    labels = dict(AdjudicationCase.Reason.choices)
    rows = (
        AdjudicationCase.objects.filter(project=project, status=AdjudicationCase.Status.OPEN)
        .values("reason")
        .annotate(n=Count("id"), oldest=Min("created_at"))
        .order_by()
    )
    reasons = [
        BacklogReason(
            reason=r["reason"],
            label=labels.get(r["reason"], r["reason"]),
            count=r["n"],
            oldest=r["oldest"],
        )  # fmt: skip
        for r in rows
    ]
    reasons.sort(key=lambda r: (-r.count, r.reason))
    return Backlog(reasons=reasons)


def _chart_data(states: ItemStates, daily: DailyActivity, labels: list[LabelCount]) -> dict:
    """Plain JSON for charts.js (passed with json_script, so it is escaped for the page)."""
    return {
        "states": {
            "labels": ["Unlabeled", "In progress", "Complete"],
            "values": [states.unlabeled, states.in_progress, states.complete],
        },
        "daily": {
            "days": [d.isoformat() for d in daily.days],
            "series": [{"label": name, "values": counts} for name, counts in daily.series],
        },
        "labels": {
            "labels": [label.name for label in labels],
            "values": [label.count for label in labels],
            "kinds": [label.kind for label in labels],
        },
    }


def dashboard_cache_key(project: Project | int) -> str:
    project_id = project if isinstance(project, int) else project.pk
    return f"dashboard:v2:{project_id}"  # v2: the bundle gained the adjudication backlog


def dashboard_stats(*, project: Project) -> DashboardStats:
    """Everything the dashboard shows: computed on the first view, then from the cache. Once
    older than DASHBOARD_CACHE_SECONDS, one background refresh is sent and the older figures
    are returned meanwhile. Without a broker (Celery eager) the refresh runs here instead."""
    stats = cache.get(dashboard_cache_key(project))
    if stats is None:
        return dashboard_stats_refresh(project=project)
    if (timezone.now() - stats.as_of).total_seconds() > DASHBOARD_CACHE_SECONDS:
        return _refresh_in_background(project) or stats
    return stats


def _refresh_in_background(project: Project) -> DashboardStats | None:
    """Send one refresh task per project and window; in eager mode compute here and return."""
    from config.celery import app

    if app.conf.task_always_eager:
        return dashboard_stats_refresh(project=project)
    if cache.add(f"dashboard:refreshing:{project.pk}", 1, timeout=DASHBOARD_CACHE_SECONDS):
        from .tasks import dashboard_stats_refresh_task

        try:
            dashboard_stats_refresh_task.delay(project.pk)
        except Exception:  # a broker outage must not break the page: it shows older figures
            logger.exception("could not queue the dashboard refresh of project %s", project.pk)
    return None


def dashboard_stats_refresh(*, project: Project) -> DashboardStats:
    """Compute the bundle and cache it (the first view, and the background refresh)."""
    today = timezone.localdate()
    states = item_state_counts(project=project)
    daily = annotations_per_annotator_per_day(project=project, today=today)
    labels = label_distribution(project=project)
    stats = DashboardStats(
        states=states,
        daily=daily,
        labels=labels,
        imports=recent_imports(project=project),
        active_today=daily.active_on(today),
        as_of=timezone.now(),
        chart_data=_chart_data(states, daily, labels),
        backlog=adjudication_backlog(project=project),
    )
    cache.set(dashboard_cache_key(project), stats, DASHBOARD_KEEP_SECONDS)
    return stats


# --- items list -----------------------------------------------------------------------------

ITEM_STATES = ("all", *selectors.ITEM_STATES)
ITEM_PAGE_SIZE = 50
SNIPPET_CHARS = 120


@dataclass(frozen=True)
class ItemPage:
    items: list[Item]  # each with `title_snippet` and `text_snippet`
    next_after: int | None  # pass as `after` for the next page; None on the last page


def item_page(
    *,
    project: Project,
    state: str = "all",
    external_id_prefix: str = "",
    import_job_id: int | None = None,
    after: int | None = None,
    limit: int = ITEM_PAGE_SIZE,
) -> ItemPage:
    """One page of items in id order after `after` (keyset paging: no COUNT, no OFFSET, so
    page 20,000 costs what page 1 costs). Only the first characters of text and title leave
    the database."""
    items = Item.objects.filter(project=project)
    if state and state != "all":
        items = selectors.item_state_filter(items, project=project, state=state)
    if external_id_prefix:
        items = items.filter(external_id__startswith=external_id_prefix)
    if import_job_id is not None:
        items = items.filter(import_job_id=import_job_id)
    if after:
        items = items.filter(pk__gt=after)
    rows = list(
        items.order_by("pk")
        .only(
            "id",
            "external_id",
            "annotation_count",
            "extra_overlap",
            "label_state",
            "is_gold_question",
            "priority",
            "import_job_id",
        )
        .annotate(
            title_snippet=Substr("title", 1, SNIPPET_CHARS),
            text_snippet=Substr("text", 1, SNIPPET_CHARS + 1),
        )[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return ItemPage(items=rows, next_after=rows[-1].pk if more else None)


def import_job_choices(*, project: Project, limit: int = 200) -> list[ImportJob]:
    return list(
        ImportJob.objects.filter(project=project)
        .order_by("-created_at", "-id")
        .only("id", "original_name")[:limit]
    )


def membership_list(*, project: Project) -> list[Membership]:
    return list(
        Membership.objects.filter(project=project).select_related("user").order_by("user__username")
    )

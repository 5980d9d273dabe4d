"""Reads for consolidation and adjudication: the case queue, one case, an item's gold history.

Annotators appear as letters (A, B, C … in the order they labeled the item) unless the caller
asks for names: a lead deciding a case should weigh the labels, not the people. Each selector
owns its query shape; the number of queries does not grow with the rows shown.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import Substr

from .models import AdjudicationCase, Annotation, Category, GoldLabel, Item, LabelEvent, Project

CASE_PAGE_SIZE = 50
SNIPPET_CHARS = 160
EVENTS_SHOWN = 200
Status = AdjudicationCase.Status
# What a queue row needs; the item's text and title arrive as snippets (annotations below).
CASE_LIST_FIELDS = (
    "id", "reason", "status", "priority", "details", "created_at", "closed_at", "note",
    "project_id", "item_id", "gold_label_id", "closed_by_id",
    "item__id", "item__external_id", "item__label_state", "item__project_id",
    "closed_by__id", "closed_by__username",
)  # fmt: skip


def _letter(i: int) -> str:
    return chr(ord("A") + i) if i < 26 else f"#{i + 1}"


# --- the queue --------------------------------------------------------------------------------


def case_queryset(
    *,
    project: Project,
    reason: str | None = None,
    category_id: int | None = None,
    status: str | None = Status.OPEN,
) -> QuerySet[AdjudicationCase]:
    """Cases of the project, filtered, highest priority first (the open ones walk the partial
    index `case_open_queue_idx`). Item text arrives as a snippet only; categories prefetched."""
    cases = AdjudicationCase.objects.filter(project=project)
    if status:
        cases = cases.filter(status=status)
    if reason:
        cases = cases.filter(reason=reason)
    if category_id is not None:
        cases = cases.filter(categories__id=category_id)
    return (
        cases.select_related("item", "closed_by")
        .only(*CASE_LIST_FIELDS)
        .annotate(
            item_title=Substr("item__title", 1, SNIPPET_CHARS),
            item_snippet=Substr("item__text", 1, SNIPPET_CHARS + 1),
        )
        .prefetch_related(Prefetch("categories", queryset=Category.objects.order_by("order", "id")))
        .order_by("-priority", "id")
    )


@dataclass(frozen=True)
class CasePage:
    cases: list[AdjudicationCase]
    next_after: tuple[float, int] | None  # (priority, id) of the last case when more follow


def case_list(
    *,
    project: Project,
    reason: str | None = None,
    category_id: int | None = None,
    after: tuple[float, int] | None = None,
    limit: int = CASE_PAGE_SIZE,
) -> CasePage:
    """One page of open cases by priority (keyset paging on (priority DESC, id): page 100
    costs what page 1 costs). Two queries: the cases with their items, their categories."""
    cases = case_queryset(project=project, reason=reason, category_id=category_id)
    if after is not None:
        priority, case_id = after
        cases = cases.filter(Q(priority__lt=priority) | Q(priority=priority, pk__gt=case_id))
    rows = list(cases[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return CasePage(
        cases=rows, next_after=(rows[-1].priority, rows[-1].pk) if more and rows else None
    )


def case_open_counts(*, project: Project) -> dict[str, int]:
    """Open cases per reason (every reason present, zeros included). One grouped query."""
    counts = dict.fromkeys(AdjudicationCase.Reason.values, 0)
    rows = (
        AdjudicationCase.objects.filter(project=project, status=Status.OPEN)
        .values("reason")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("reason", "n")
    )
    counts.update(dict(rows))
    return counts


def case_next_id(
    *,
    project: Project,
    reason: str | None = None,
    category_id: int | None = None,
    after_case_id: int | None = None,
) -> int | None:
    """The id of the open case a lead should look at next: the first in queue order, or the
    first after case `after_case_id` (skipping it). Two short index reads at most."""
    cases = AdjudicationCase.objects.filter(project=project, status=Status.OPEN)
    if reason:
        cases = cases.filter(reason=reason)
    if category_id is not None:
        cases = cases.filter(categories__id=category_id)
    if after_case_id is not None:
        position = (
            AdjudicationCase.objects.filter(project=project, pk=after_case_id)
            .values_list("priority", "pk")
            .first()
        )
        if position is not None:
            priority, case_id = position
            cases = cases.filter(Q(priority__lt=priority) | Q(priority=priority, pk__gt=case_id))
    return cases.order_by("-priority", "id").values_list("pk", flat=True).first()


# --- one item ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnnotationView:
    letter: str
    annotator: str  # the username; templates show it only when names are asked for
    annotation: Annotation
    categories: list[Category]

    @property
    def seconds(self) -> float:
        return round(self.annotation.time_spent_ms / 1000, 1)


@dataclass(frozen=True)
class ItemGold:
    item: Item
    annotations: list[AnnotationView]
    gold: GoldLabel | None  # the current gold label
    history: list[GoldLabel]  # every gold label, newest first, categories prefetched
    cases: list[AdjudicationCase]  # every case, newest first
    events: list[LabelEvent] = field(default_factory=list)  # newest first (item page only)

    @property
    def open_cases(self) -> list[AdjudicationCase]:
        return [c for c in self.cases if c.status == Status.OPEN]


def _annotation_views(item: Item) -> list[AnnotationView]:
    annotations = (
        Annotation.objects.filter(item=item)
        .select_related("annotator")
        .prefetch_related(Prefetch("categories", queryset=Category.objects.order_by("order", "id")))
        .order_by("created_at", "id")
    )
    return [
        AnnotationView(
            letter=_letter(i),
            annotator=a.annotator.username,
            annotation=a,
            categories=list(a.categories.all()),
        )
        for i, a in enumerate(annotations)
    ]


def item_gold_get(
    *, project: Project, item_id: int, with_annotations: bool = True, with_events: bool = False
) -> ItemGold | None:
    """An item's consolidation state: its annotations (lettered), current gold, gold history,
    cases, and (for the item page) its audit events. A fixed number of queries."""
    item = Item.objects.filter(project=project, pk=item_id).first()
    if item is None:
        return None
    history = list(
        GoldLabel.objects.filter(item=item)
        .select_related("decided_by")
        .prefetch_related(Prefetch("categories", queryset=Category.objects.order_by("order", "id")))
        .order_by("-created_at", "-id")
    )
    cases = list(
        AdjudicationCase.objects.filter(item=item)
        .select_related("closed_by")
        .prefetch_related(Prefetch("categories", queryset=Category.objects.order_by("order", "id")))
        .order_by("-created_at", "-id")
    )
    events = []
    if with_events:
        events = list(
            LabelEvent.objects.filter(item=item)
            .select_related("actor")
            .order_by("-created_at", "-id")[:EVENTS_SHOWN]
        )
    return ItemGold(
        item=item,
        annotations=_annotation_views(item) if with_annotations else [],
        gold=next((gl for gl in history if gl.current), None),
        history=history,
        cases=cases,
        events=events,
    )


@dataclass(frozen=True)
class CaseDetail:
    case: AdjudicationCase
    state: ItemGold
    opened_at: datetime


def case_get(*, project: Project, case_id: int) -> CaseDetail | None:
    case = (
        AdjudicationCase.objects.filter(project=project, pk=case_id)
        .select_related("closed_by")
        .prefetch_related("categories")
        .first()
    )
    if case is None:
        return None
    state = item_gold_get(project=project, item_id=case.item_id)
    return CaseDetail(case=case, state=state, opened_at=case.created_at)

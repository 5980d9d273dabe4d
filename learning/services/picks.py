"""Writing a run's picks into the queue: the last step of a run, in one short transaction.

Queue positions. Imports give every item a uniform random priority in [0, 1). A run gives its
batch priorities in (1, 2]: rank r of a batch of B gets 1 + (B − r) / B, so the batch is served
before anything else, in rank order. The rank is a random permutation of the batch (seeded by
the run), not the strategies' score order: when the next run replaces the batch, the part
that got labeled is then a simple random subsample of the batch, so a labeled pick's effective
inclusion probability is its design probability times the labeled fraction of its batch (both
recorded: `PickedItem` keeps every pick, `released_at` the ones never labeled).

Replacing the previous batch. Earlier picks nobody has started (no annotation yet, still
pending) go back to their import position (the same deterministic uniform value an import
gives them) with provenance "random"; their `PickedItem` rows get `released_at`. Picks already
started keep their place, so the annotations given are completed.

Never older over newer. Every write is guarded by `selection_run_id IS NULL OR
selection_run_id < this run`: a late save of an older run cannot move an item a newer run
placed. (The run row is also re-checked under its lock: a run failed by the timeout saves
nothing.)
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.db.models import Case, CharField, F, FloatField, Q, Value, When

from annotation.models import Item
from annotation.services.imports.validate import priority_for

from ..models import ModelRun

LOCK_CHUNK = 500


@dataclass(frozen=True)
class RankedPick:
    item_id: int
    rank: int
    reason: str
    inclusion_probability: float
    score: float
    category_id: int | None = None


def pick_priority(rank: int, batch: int) -> float:
    """Queue priority of rank `rank` (0 first) in a batch of `batch`: (1, 2], above every
    import priority ([0, 1))."""
    return 1.0 + (batch - rank) / batch


T = TypeVar("T")


def _chunks(values: Sequence[T], size: int = LOCK_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _newer_wins(run: ModelRun) -> Q:
    return Q(selection_run_id__isnull=True) | Q(selection_run_id__lt=run.pk)


def _unstarted() -> Q:
    return Q(annotation_count=0, label_state=Item.LabelState.PENDING)


def picks_write(
    *, run: ModelRun, picks: Sequence[RankedPick], earlier_item_ids: Sequence[int]
) -> tuple[set[int], list[int]]:
    """Put `picks` at the head of the queue and release the earlier picks in
    `earlier_item_ids` that this batch replaces. Returns (item ids queued, item ids released).

    Precondition: inside the save transaction, with the run row locked. Every item row touched
    is locked first, all of them in primary-key order (no deadlock with the queue, which locks
    one item at a time), and every update repeats its guard in SQL.
    """
    by_item = {p.item_id: p for p in picks}
    candidates = sorted(set(by_item) | set(earlier_item_ids))
    queue_guard = _newer_wins(run) & _unstarted() & Q(is_gold_question=False)
    queue_guard &= ~Q(selection_reason=Item.SelectionReason.MANUAL)
    release_guard = Q(selection_run_id__isnull=False, selection_run_id__lt=run.pk) & _unstarted()
    to_queue: list[int] = []
    to_release: list[tuple[int, str]] = []
    for chunk in _chunks(candidates):
        rows = (
            Item.objects.select_for_update()
            .filter(project_id=run.project_id, pk__in=chunk)
            .annotate(
                can_queue=Case(When(queue_guard, then=True), default=False),
                can_release=Case(When(release_guard, then=True), default=False),
            )
            .order_by("pk")
            .values_list("pk", "external_id", "can_queue", "can_release")
        )
        for pk, external_id, can_queue, can_release in rows:
            if pk in by_item:
                if can_queue:
                    to_queue.append(pk)
            elif can_release:
                to_release.append((pk, external_id))
    batch = len(picks)
    for chunk in _chunks(to_queue):
        chosen = [by_item[pk] for pk in chunk]
        Item.objects.filter(pk__in=chunk).filter(queue_guard).update(
            priority=Case(
                *[When(pk=p.item_id, then=Value(pick_priority(p.rank, batch))) for p in chosen],
                default=F("priority"),
                output_field=FloatField(),
            ),
            selection_reason=Case(
                *[When(pk=p.item_id, then=Value(p.reason)) for p in chosen],
                default=F("selection_reason"),
                output_field=CharField(),
            ),
            inclusion_probability=Case(
                *[When(pk=p.item_id, then=Value(p.inclusion_probability)) for p in chosen],
                default=F("inclusion_probability"),
                output_field=FloatField(),
            ),
            selection_run_id=Value(run.pk),
        )
    for pairs in _chunks(to_release):
        ids = [pk for pk, _ in pairs]
        Item.objects.filter(pk__in=ids).filter(release_guard).update(
            priority=Case(
                *[When(pk=pk, then=Value(priority_for(run.project_id, ext))) for pk, ext in pairs],
                default=F("priority"),
                output_field=FloatField(),
            ),
            selection_reason=Value(Item.SelectionReason.RANDOM),
            selection_run_id=None,
            inclusion_probability=None,
        )
    return set(to_queue), [pk for pk, _ in to_release]

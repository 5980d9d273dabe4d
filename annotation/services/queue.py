"""The annotation queue: claim, renew, skip, release and expire leases.

Lock order everywhere: item rows first (in primary-key order when several), then their
assignments. `Item.open_slots` = overlap − annotations − active leases and is only changed while
the item row is locked, so active leases plus annotations never exceed the overlap.

PostgreSQL: the claim is `SELECT … FOR UPDATE SKIP LOCKED` over the partial index of items
with open slots in priority order, so parallel annotators never wait for each other.
SQLite: Django's `select_for_update` is a no-op there, but every transaction starts with
`BEGIN IMMEDIATE` (settings), which serialises writers; the same code stays correct.

Gold questions (items with a lead's known label, `Item.is_gold_question`) live outside the slot
accounting: their `open_slots` is always 0, so the regular claim never sees them. With
probability `project.gold_question_rate` a claim first looks for a gold question this annotator
has never been assigned (any number of annotators may get the same one) and falls back to a
regular item. The item and its lease look exactly like any other, so annotators cannot tell.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Count, F, IntegerField, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from ..errors import Conflict, InvalidInput, NotFound
from ..models import Assignment, Item, Project
from ..rows import fetch_one, insert

EXPIRE_SWEEP_LIMIT = 500
_rng = random.Random()  # noqa: S311 (mixing gold questions in is not security-relevant)


@dataclass(frozen=True)
class Claim:
    item: Item
    assignment: Assignment
    created: bool  # False: an existing lease of this annotator was handed back (and renewed)


def _lease_end(project: Project, now: datetime) -> datetime:
    return now + timedelta(minutes=project.lease_minutes)


def item_claim_next(
    *,
    project: Project,
    annotator,
    exclude_item_ids: tuple[int, ...] = (),
    rng: random.Random | None = None,
) -> Claim | None:
    """Lease the next item to `annotator`, or None when nothing is left for them.

    An active lease the annotator already holds (outside `exclude_item_ids`, which are the
    items the page already shows or prefetched) is renewed and returned first, so reloading the
    page never takes a second item. Otherwise the highest-priority item that still has an open
    slot and that this annotator has not labeled, skipped or currently holds is locked
    (skipping rows other claimers hold), its slot taken and a lease created, in one short
    transaction. An item whose lease this annotator released or let expire (a closed tab, a
    prefetched item never shown) may come back to them: otherwise a small team could leave an
    item that nobody else may take.

    With probability `project.gold_question_rate` (drawn from `rng`, injectable for tests) a
    gold question comes first (module docstring); a project without gold questions pays
    nothing for the feature (the rate is 0, no query is made).
    """
    now = timezone.now()
    max_leases = settings.GOLDSET["MAX_LEASES_PER_ANNOTATOR"]
    exclude = {int(i) for i in exclude_item_ids}
    rate = project.gold_question_rate
    gold = rate > 0 and (rng or _rng).random() < rate
    kwargs = {"annotator": annotator, "exclude": exclude, "now": now, "limit": max_leases}
    claim = _claim(project=project, gold=gold, **kwargs)
    if claim is None and assignment_expire_stale(project=project, now=now):
        # Leases abandoned by closed pages hold slots; when nothing else is left, reopen them
        # now rather than waiting for the periodic sweep (Celery beat, every minute).
        claim = _claim(project=project, gold=gold, **kwargs)
    return claim


def _claim(
    *, project: Project, annotator, exclude: set[int], now: datetime, limit: int, gold: bool
):
    """One claim transaction. The three hot statements are plain SQL: built by the ORM they
    cost 5–15× the CPU on this path (docs/benchmarks.md), and the claim runs for every item."""
    end = _lease_end(project, now)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(HELD_SQL, [project.pk, annotator.pk])
        held = cursor.fetchall()
        for lease_id, item_id in held:
            # Renew only a lease that is still active: a sweep may have expired it (and
            # reopened its slot to someone else) since it was read.
            if item_id not in exclude and Assignment.objects.filter(
                pk=lease_id, state=Assignment.State.ACTIVE
            ).update(expires_at=end):
                lease = Assignment.objects.select_related("item").get(pk=lease_id)
                return Claim(item=lease.item, assignment=lease, created=False)
        if len(held) >= limit:
            raise Conflict(
                f"You already hold {limit} items; submit or skip one first.",
                code="lease_limit",
            )
        if gold:
            # No slot to take and no row lock: a gold question is served to anyone who has
            # not had it, and the lease only keeps the annotator from getting it twice.
            item = fetch_one(Item, GOLD_QUESTION_SQL, [project.pk, annotator.pk])
            if item is not None:
                lease = _lease_create(project=project, item=item, annotator=annotator, now=now)
                return Claim(item=item, assignment=lease, created=True)
        item = fetch_one(Item, _next_item_sql(), [project.pk, annotator.pk])
        if item is None:
            return None
        cursor.execute(TAKE_SLOT_SQL, [item.pk])
        assignment = _lease_create(project=project, item=item, annotator=annotator, now=now)
    item.open_slots -= 1
    return Claim(item=item, assignment=assignment, created=True)


def _lease_create(*, project: Project, item: Item, annotator, now: datetime) -> Assignment:
    fields = {"expires_at": _lease_end(project, now), "created_at": now}
    lease = Assignment(project=project, item=item, annotator=annotator, **fields)
    lease.pk = insert(
        Assignment,
        project_id=project.pk,
        item_id=item.pk,
        annotator_id=annotator.pk,
        state=Assignment.State.ACTIVE,
        skip_reason="",
        **fields,
    )
    lease._state.adding, lease._state.db = False, connection.alias
    return lease


_ITEM = Item._meta.db_table
_LEASE = Assignment._meta.db_table
HELD_SQL = (
    f"SELECT id, item_id FROM {_LEASE} "  # noqa: S608 (table names are ours)
    "WHERE project_id = %s AND annotator_id = %s AND state = 'active' ORDER BY created_at, id"
)
TAKE_SLOT_SQL = f"UPDATE {_ITEM} SET open_slots = open_slots - 1 WHERE id = %s"  # noqa: S608
# A walk of the partial index `item_gold_question_idx (project, id) WHERE is_gold_question`.
GOLD_QUESTION_SQL = (
    f"SELECT * FROM {_ITEM} i WHERE i.project_id = %s AND i.is_gold_question "  # noqa: S608
    f"AND NOT EXISTS (SELECT 1 FROM {_LEASE} a WHERE a.item_id = i.id AND a.annotator_id = %s) "
    "ORDER BY i.id LIMIT 1"
)


# Lease states that keep an item from coming back to the same annotator: they hold it, labeled
# it (a late submit marks its ended lease submitted too) or skipped it.
EXCLUDING_STATES = ("active", "submitted", "skipped")


def _next_item_sql() -> str:
    """The claim query: a walk of the partial index `item_queue_idx` (its predicate
    `open_slots > 0` is written as a literal so the planner matches it), a per-row NOT EXISTS
    probe of the (item, annotator) index, and on PostgreSQL FOR UPDATE SKIP LOCKED."""
    states = ", ".join(f"'{state}'" for state in EXCLUDING_STATES)
    lock = (
        " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    )
    return (
        f"SELECT * FROM {_ITEM} i "  # noqa: S608
        "WHERE i.project_id = %s AND i.open_slots > 0 AND NOT EXISTS "
        f"(SELECT 1 FROM {_LEASE} a WHERE a.item_id = i.id AND a.annotator_id = %s "
        f"AND a.state IN ({states})) ORDER BY i.priority DESC, i.id LIMIT 1{lock}"
    )


def assignment_renew(*, project: Project, annotator, item_ids: list[int]) -> list[int]:
    """Extend the annotator's active leases on `item_ids`; return the ids still held.

    No item lock is needed: only `expires_at` changes, and the sweep re-checks it under the
    item lock before expiring anything.
    """
    now = timezone.now()
    leases = Assignment.objects.filter(
        project=project, annotator=annotator, state=Assignment.State.ACTIVE, item_id__in=item_ids
    )
    leases.update(expires_at=_lease_end(project, now))
    return sorted(leases.values_list("item_id", flat=True))


def assignment_skip(*, project: Project, annotator, item_id: int, reason: str) -> Assignment:
    """Give the item back with a reason; this annotator will not be offered it again."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why you skip this item.", code="skip_reason_required")
    if len(reason) > 200:
        raise InvalidInput("The skip reason is limited to 200 characters.")
    return _close_lease(
        project=project,
        annotator=annotator,
        item_id=item_id,
        state=Assignment.State.SKIPPED,
        reason=reason,
    )


def assignment_release(*, project: Project, annotator, item_ids: list[int]) -> int:
    """Give back items without a verdict (the annotator stops for now). Returns how many.
    The items may be offered to the same annotator again later."""
    released = 0
    for item_id in sorted(set(item_ids)):
        try:
            _close_lease(
                project=project,
                annotator=annotator,
                item_id=item_id,
                state=Assignment.State.RELEASED,
            )
            released += 1
        except NotFound:
            continue
    return released


def _close_lease(*, project, annotator, item_id: int, state: str, reason: str = "") -> Assignment:
    now = timezone.now()
    with transaction.atomic():
        item = Item.objects.select_for_update().filter(project=project, pk=item_id).first()
        if item is None:
            raise NotFound("No such item in this project.")
        lease = Assignment.objects.filter(
            item=item, annotator=annotator, state=Assignment.State.ACTIVE
        ).first()
        if lease is None:
            raise NotFound("You do not hold this item (the lease ended).", code="no_lease")
        lease.state = state
        lease.skip_reason = reason
        lease.closed_at = now
        lease.save(update_fields=["state", "skip_reason", "closed_at"])
        item_open_slots_recount(project=project, item_ids=[item.pk])
    return lease


def assignment_expire_stale(*, project: Project | None = None, now: datetime | None = None) -> int:
    """Expire leases past `expires_at` and reopen their slots. Returns how many expired.

    Items are locked with SKIP LOCKED (a busy item is left for the next sweep), and the
    assignments are then updated with RETURNING, so a lease renewed in between is not counted.
    """
    now = now or timezone.now()
    stale = Assignment.objects.filter(state=Assignment.State.ACTIVE, expires_at__lt=now)
    if project is not None:
        stale = stale.filter(project=project)
    item_ids = sorted(set(stale.values_list("item_id", flat=True)[:EXPIRE_SWEEP_LIMIT]))
    if not item_ids:
        return 0
    with transaction.atomic():
        locked = list(
            Item.objects.filter(pk__in=item_ids)
            .order_by("pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        if not locked:
            return 0
        expired_items = _expire_leases_returning(item_ids=locked, now=now)
        for project_id, ids in _by_project(sorted(set(expired_items))).items():
            item_open_slots_recount(project=Project(pk=project_id), item_ids=ids)
    return len(expired_items)


def _by_project(item_ids: list[int]) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = {}
    for item_id, project_id in Item.objects.filter(pk__in=item_ids).values_list("pk", "project_id"):
        groups.setdefault(project_id, []).append(item_id)
    return groups


def item_open_slots_recount(*, project: Project, item_ids: list[int] | None = None) -> int:
    """Set open_slots = max(0, overlap + extra_overlap − annotations − active leases) from the
    rows themselves; gold questions always 0 (they are served outside the slot accounting).

    Precondition: the items are locked by the caller (or `item_ids` is None and the caller
    accepts a whole-project recount, as after an overlap change). Returns rows updated.
    """
    overlap = Project.objects.filter(pk=project.pk).values_list("overlap", flat=True).get()
    active = (
        Assignment.objects.filter(item=OuterRef("pk"), state=Assignment.State.ACTIVE)
        .order_by()
        .values("item")
        .annotate(n=Count("id"))
        .values("n")
    )
    items = Item.objects.filter(project_id=project.pk)
    if item_ids is not None:
        items = items.filter(pk__in=item_ids)
    return items.update(
        open_slots=Case(
            When(is_gold_question=True, then=Value(0)),
            default=Greatest(
                Value(0),
                Value(overlap)
                + F("extra_overlap")
                - F("annotation_count")
                - Coalesce(Subquery(active, output_field=IntegerField()), Value(0)),
            ),
        )
    )


def _expire_leases_returning(*, item_ids: list[int], now: datetime) -> list[int]:
    table = Assignment._meta.db_table
    placeholders = ", ".join(["%s"] * len(item_ids))
    sql = (
        f"UPDATE {table} SET state = %s, closed_at = %s "  # noqa: S608 (table name is ours)
        f"WHERE item_id IN ({placeholders}) AND state = %s AND expires_at < %s "
        "RETURNING item_id"
    )
    at = connection.ops.adapt_datetimefield_value(now)
    params = [Assignment.State.EXPIRED, at, *item_ids, Assignment.State.ACTIVE, at]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]

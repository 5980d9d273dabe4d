"""Submitting and undoing annotations.

A submit carries a client-generated idempotency key: a retried request with the same key
returns the annotation already stored instead of writing a second one, so a save retried after
a network error never duplicates or loses work. Every change writes a LabelEvent.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from ..errors import Conflict, InvalidInput, NotFound
from ..models import Annotation, Assignment, Category, Item, LabelEvent, Project
from ..rows import fetch_one, insert
from .agreement.snapshots import agreement_note_change
from .consolidation import consolidation_undo, item_consolidate
from .queue import item_open_slots_recount

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_COMMENT_CHARS = 2000
MAX_TIME_SPENT_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Submitted:
    annotation: Annotation
    created: bool  # False: a replay of a submit already stored under the same key


def annotation_snapshot(annotation: Annotation, category_ids: list[int] | None = None) -> dict:
    """The label as the audit log and undo see it."""
    ids = category_ids
    if ids is None:
        ids = sorted(annotation.categories.values_list("id", flat=True))
    return {
        "categories": sorted(ids),
        "none_of_these": annotation.none_of_these,
        "unsure": annotation.unsure,
        "comment": annotation.comment,
    }


def _validate_label(
    *, project: Project, category_ids: list[int], none_of_these: bool, unsure: bool
) -> list[tuple[int, str]]:
    """The chosen categories as sorted (id, name) pairs, or InvalidInput."""
    ids = sorted({int(c) for c in category_ids})
    known: dict[int, str] = {}
    if ids:
        with connection.cursor() as cursor:
            marks = ", ".join(["%s"] * len(ids))
            cursor.execute(ACTIVE_CATEGORIES_SQL.format(ids=marks), [project.pk, True, *ids])
            known = dict(cursor.fetchall())
        unknown = [c for c in ids if c not in known]
        if unknown:
            raise InvalidInput(
                f"Unknown or inactive categories for this project: {unknown}.",
                code="unknown_category",
            )
    if none_of_these and ids:
        raise InvalidInput(
            "'None of these' cannot be combined with categories.", code="none_with_categories"
        )
    if not ids and not none_of_these and not unsure:
        raise InvalidInput(
            "Choose at least one category, 'none of these', or mark the item unsure.",
            code="empty_label",
        )
    if not project.multi_label and len(ids) > 1:
        raise InvalidInput(
            "This project is single-label: choose exactly one category.", code="single_label"
        )
    return [(c, known[c]) for c in ids]


def _replay(*, key: str, annotator, item_id: int) -> Submitted | None:
    existing = fetch_one(Annotation, ANNOTATION_BY_KEY_SQL, [key])
    if existing is None:
        return None
    if existing.annotator_id != annotator.pk or existing.item_id != item_id:
        raise Conflict("This idempotency key was already used for another submission.")
    return Submitted(annotation=existing, created=False)


def annotation_submit(
    *,
    project: Project,
    annotator,
    item_id: int,
    category_ids: list[int],
    none_of_these: bool = False,
    unsure: bool = False,
    comment: str = "",
    time_spent_ms: int = 0,
    idempotency_key: str,
) -> Submitted:
    """Store one annotator's label for one item.

    Locks the item row, then the annotator's lease. A submit whose lease already expired is
    still kept (the work is never thrown away): it takes a free slot if there is one, otherwise
    it is stored as an extra annotation beyond the overlap.
    """
    if not KEY_RE.match(idempotency_key or ""):
        raise InvalidInput(
            "idempotency_key must be 8–64 letters, digits, '-' or '_'.", code="bad_key"
        )
    replay = _replay(key=idempotency_key, annotator=annotator, item_id=item_id)
    if replay is not None:
        return replay
    refs = _validate_label(
        project=project, category_ids=category_ids, none_of_these=none_of_these, unsure=unsure
    )
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise InvalidInput(f"The comment is limited to {MAX_COMMENT_CHARS} characters.")
    time_spent_ms = max(0, min(int(time_spent_ms or 0), MAX_TIME_SPENT_MS))

    try:
        with transaction.atomic():
            return _submit_locked(
                project=project,
                annotator=annotator,
                item_id=item_id,
                category_refs=refs,
                none_of_these=none_of_these,
                unsure=unsure,
                comment=comment,
                time_spent_ms=time_spent_ms,
                key=idempotency_key,
            )
    except IntegrityError:
        # The unique constraints decide the races: a copy of this request that committed first
        # (same key: a replay), or another label of this annotator on the item.
        replay = _replay(key=idempotency_key, annotator=annotator, item_id=item_id)
        if replay is not None:
            return replay
        if Annotation.objects.filter(item_id=item_id, annotator=annotator).exists():
            raise Conflict("You already labeled this item.", code="already_labeled") from None
        raise


def _submit_locked(
    *,
    project,
    annotator,
    item_id,
    category_refs,
    none_of_these,
    unsure,
    comment,
    time_spent_ms,
    key,
) -> Submitted:
    """Precondition: inside a transaction. Locks the item row first, like every lease change.

    The submit that completes an item (its k-th annotation, k = overlap + extra_overlap, or a
    late one beyond) consolidates it in the same transaction, under the same lock; every other
    submit does no consolidation work at all. Gold questions are never consolidated.

    Every statement is plain SQL, rows read and written through `annotation.rows`: the ORM's
    query building cost 5–15× the CPU of the statements themselves on this path
    (bench/queue_profile.py, docs/benchmarks.md)."""
    now = timezone.now()
    item = fetch_one(Item, _lock_item_sql(), [item_id, project.pk])
    if item is None:
        raise NotFound("No such item in this project.")
    item.project = project
    with connection.cursor() as cursor:
        # The lease's slot becomes the annotation's.
        cursor.execute(
            CLOSE_LEASE_SQL, [connection.ops.adapt_datetimefield_value(now), item.pk, annotator.pk]
        )
        if cursor.rowcount:
            slot_delta = 0
        elif Assignment.objects.filter(item=item, annotator=annotator).exists():
            # A late submit after the lease ended: an expired or released last lease is marked
            # submitted, so the claim never offers the item to this annotator again.
            cursor.execute(MARK_ENDED_LEASE_SUBMITTED_SQL, [item.pk, annotator.pk])
            slot_delta = -1 if item.open_slots > 0 else 0
        else:
            raise Conflict("This item was never assigned to you.", code="not_assigned")

    fields = {
        "none_of_these": none_of_these,
        "unsure": unsure,
        "comment": comment,
        "time_spent_ms": time_spent_ms,
        "idempotency_key": key,
        "created_at": now,
    }
    annotation = Annotation(item=item, annotator=annotator, **fields)
    annotation.pk = insert(Annotation, item_id=item.pk, annotator_id=annotator.pk, **fields)
    annotation._state.adding, annotation._state.db = False, connection.alias
    annotation.category_refs = category_refs  # the response needs the names: no query
    category_ids = [pk for pk, _name in category_refs]
    with connection.cursor() as cursor:
        if category_ids:
            cursor.executemany(ADD_CATEGORY_SQL, [(annotation.pk, c) for c in category_ids])
        cursor.execute(COUNT_ANNOTATION_SQL, [slot_delta, item.pk])
    insert(
        LabelEvent,
        project_id=project.pk,
        item_id=item.pk,
        annotation_id_ref=annotation.pk,
        actor_id=annotator.pk,
        action=LabelEvent.Action.SUBMIT,
        before=None,
        after=annotation_snapshot(annotation, category_ids),
        created_at=now,
    )
    if not item.is_gold_question and item.annotation_count + 1 >= (
        project.overlap + item.extra_overlap
    ):
        item_consolidate(item_id=item.pk, project=project)
    agreement_note_change(project_id=project.pk)  # a dict lookup on most calls
    return Submitted(annotation=annotation, created=True)


_ITEM = Item._meta.db_table
_LEASE = Assignment._meta.db_table
ANNOTATION_BY_KEY_SQL = f"SELECT * FROM {Annotation._meta.db_table} WHERE idempotency_key = %s"  # noqa: S608
ACTIVE_CATEGORIES_SQL = (
    f"SELECT id, name FROM {Category._meta.db_table} "  # noqa: S608
    "WHERE project_id = %s AND active = %s AND id IN ({ids})"
)
CLOSE_LEASE_SQL = (
    f"UPDATE {_LEASE} SET state = 'submitted', closed_at = %s "  # noqa: S608 (our tables)
    "WHERE item_id = %s AND annotator_id = %s AND state = 'active'"
)
MARK_ENDED_LEASE_SUBMITTED_SQL = (
    f"UPDATE {_LEASE} SET state = 'submitted' WHERE id = ("  # noqa: S608 (our tables)
    f"SELECT MAX(id) FROM {_LEASE} WHERE item_id = %s AND annotator_id = %s) "
    "AND state IN ('expired', 'released')"
)
ADD_CATEGORY_SQL = (
    f"INSERT INTO {Annotation.categories.through._meta.db_table} "  # noqa: S608
    "(annotation_id, category_id) VALUES (%s, %s)"
)
COUNT_ANNOTATION_SQL = (
    f"UPDATE {_ITEM} SET annotation_count = annotation_count + 1, "  # noqa: S608
    "open_slots = open_slots + %s WHERE id = %s"
)


def _lock_item_sql() -> str:
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    return f"SELECT * FROM {_ITEM} WHERE id = %s AND project_id = %s{lock}"  # noqa: S608


@dataclass(frozen=True)
class Undone:
    item: Item
    previous: dict  # the label that was withdrawn, to pre-fill the form


def annotation_undo(*, project: Project, annotator, annotation_id: int) -> Undone:
    """Withdraw the annotator's own recent submit and give them the item back under a lease.

    Allowed within GOLDSET['UNDO_WINDOW_SECONDS'] of the submit. The slot the annotation held
    becomes the new lease's slot, so no other annotator can take it in between. If the item was
    consolidated with this annotation, a consensus gold label built from it is withdrawn and
    the cases it caused are cancelled (`consolidation_undo`); a lead's decision stays.
    """
    window = timedelta(seconds=settings.GOLDSET["UNDO_WINDOW_SECONDS"])
    now = timezone.now()
    with transaction.atomic():
        annotation = (
            Annotation.objects.filter(pk=annotation_id, annotator=annotator, item__project=project)
            .only("id", "item_id", "created_at")
            .first()
        )
        if annotation is None:
            raise NotFound("No such annotation of yours in this project.")
        item = Item.objects.select_for_update().get(pk=annotation.item_id)
        annotation = Annotation.objects.get(pk=annotation.pk)
        if now - annotation.created_at > window:
            raise Conflict(
                f"Undo is possible for {int(window.total_seconds())} seconds after a submit.",
                code="undo_window_passed",
            )
        previous = annotation_snapshot(annotation)
        annotation.delete()
        Item.objects.filter(pk=item.pk).update(annotation_count=F("annotation_count") - 1)
        Assignment.objects.create(
            project=project,
            item=item,
            annotator=annotator,
            expires_at=now + timedelta(minutes=project.lease_minutes),
        )
        item_open_slots_recount(project=project, item_ids=[item.pk])
        LabelEvent.objects.create(
            project=project,
            item=item,
            annotation_id_ref=annotation_id,
            actor=annotator,
            action=LabelEvent.Action.UNDO,
            before=previous,
            after=None,
        )
        consolidation_undo(item=item, annotation_id=annotation_id)
        agreement_note_change(project_id=project.pk)
    item.refresh_from_db()
    return Undone(item=item, previous=previous)

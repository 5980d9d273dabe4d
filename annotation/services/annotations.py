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
) -> list[int]:
    ids = sorted({int(c) for c in category_ids})
    if ids:
        with connection.cursor() as cursor:
            marks = ", ".join(["%s"] * len(ids))
            cursor.execute(ACTIVE_CATEGORIES_SQL.format(ids=marks), [project.pk, True, *ids])
            known = {row[0] for row in cursor.fetchall()}
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
    return ids


def _replay(*, key: str, annotator, item_id: int) -> Submitted | None:
    found = list(Annotation.objects.raw(ANNOTATION_BY_KEY_SQL, [key]))
    if not found:
        return None
    existing = found[0]
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
    ids = _validate_label(
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
                category_ids=ids,
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
    category_ids,
    none_of_these,
    unsure,
    comment,
    time_spent_ms,
    key,
) -> Submitted:
    """Precondition: inside a transaction. Locks the item row first, like every lease change.

    The hot statements are plain SQL (the ORM costs 5–15× their CPU here; see
    docs/benchmarks.md); the rows that become objects (annotation, audit event) use the ORM."""
    now = timezone.now()
    found = list(Item.objects.raw(_lock_item_sql(), [item_id, project.pk]))
    if not found:
        raise NotFound("No such item in this project.")
    item = found[0]
    item.project = project
    with connection.cursor() as cursor:
        # The lease's slot becomes the annotation's.
        cursor.execute(
            CLOSE_LEASE_SQL, [connection.ops.adapt_datetimefield_value(now), item.pk, annotator.pk]
        )
        if cursor.rowcount:
            slot_delta = 0
        elif Assignment.objects.filter(item=item, annotator=annotator).exists():
            slot_delta = -1 if item.open_slots > 0 else 0  # late submit after the lease ended
        else:
            raise Conflict("This item was never assigned to you.", code="not_assigned")

    annotation = Annotation.objects.create(
        item=item,
        annotator=annotator,
        none_of_these=none_of_these,
        unsure=unsure,
        comment=comment,
        time_spent_ms=time_spent_ms,
        idempotency_key=key,
    )
    with connection.cursor() as cursor:
        if category_ids:
            cursor.executemany(ADD_CATEGORY_SQL, [(annotation.pk, c) for c in category_ids])
        cursor.execute(COUNT_ANNOTATION_SQL, [slot_delta, item.pk])
    LabelEvent.objects.create(
        project=project,
        item=item,
        annotation_id_ref=annotation.pk,
        actor=annotator,
        action=LabelEvent.Action.SUBMIT,
        before=None,
        after=annotation_snapshot(annotation, category_ids),
    )
    return Submitted(annotation=annotation, created=True)


_ITEM = Item._meta.db_table
_LEASE = Assignment._meta.db_table
ANNOTATION_BY_KEY_SQL = f"SELECT * FROM {Annotation._meta.db_table} WHERE idempotency_key = %s"  # noqa: S608
ACTIVE_CATEGORIES_SQL = (
    f"SELECT id FROM {Category._meta.db_table} "  # noqa: S608
    "WHERE project_id = %s AND active = %s AND id IN ({ids})"
)
CLOSE_LEASE_SQL = (
    f"UPDATE {_LEASE} SET state = 'submitted', closed_at = %s "  # noqa: S608 (our tables)
    "WHERE item_id = %s AND annotator_id = %s AND state = 'active'"
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
    becomes the new lease's slot, so no other annotator can take it in between.
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
    item.refresh_from_db()
    return Undone(item=item, previous=previous)

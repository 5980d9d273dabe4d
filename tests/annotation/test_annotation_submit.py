"""annotation_submit and annotation_undo: validation, idempotency, late submits, audit."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from annotation.errors import Conflict, InvalidInput
from annotation.models import Annotation, Assignment, Item, LabelEvent
from annotation.services.annotations import annotation_submit, annotation_undo
from annotation.services.queue import assignment_expire_stale, item_claim_next
from tests.factories import CategoryFactory, ProjectFactory, items, member

pytestmark = pytest.mark.django_db


def _claim(project, user):
    return item_claim_next(project=project, annotator=user).item


def test_submit_stores_label_audits_and_closes_lease(project, annotator):
    items(project, 1)
    item = _claim(project, annotator)
    cats = list(project.categories.all()[:2])

    result = annotation_submit(
        project=project,
        annotator=annotator,
        item_id=item.pk,
        category_ids=[c.pk for c in cats],
        comment="  both  ",
        time_spent_ms=4200,
        idempotency_key="abcdef-123",
    )

    ann = result.annotation
    assert result.created
    assert sorted(ann.categories.values_list("pk", flat=True)) == sorted(c.pk for c in cats)
    assert ann.comment == "both" and ann.time_spent_ms == 4200
    assert Assignment.objects.get(item=item, annotator=annotator).state == "submitted"
    event = LabelEvent.objects.get(item=item)
    assert event.action == "submit" and event.after["categories"] == sorted(c.pk for c in cats)
    assert Item.objects.get(pk=item.pk).annotation_count == 1


def test_retried_submit_with_same_key_returns_the_stored_annotation(project, annotator):
    items(project, 1)
    item = _claim(project, annotator)
    cat = project.categories.first()
    kwargs = dict(
        project=project,
        annotator=annotator,
        item_id=item.pk,
        category_ids=[cat.pk],
        idempotency_key="retry-key-1",
    )

    first = annotation_submit(**kwargs)
    second = annotation_submit(**kwargs)

    assert not second.created and second.annotation.pk == first.annotation.pk
    assert Annotation.objects.count() == 1
    assert Item.objects.get(pk=item.pk).annotation_count == 1
    assert LabelEvent.objects.count() == 1


def test_key_reused_by_someone_else_is_a_conflict(project, annotator):
    items(project, 2)
    item = _claim(project, annotator)
    cat = project.categories.first()
    annotation_submit(
        project=project,
        annotator=annotator,
        item_id=item.pk,
        category_ids=[cat.pk],
        idempotency_key="shared-key-1",
    )
    other = member(project)
    other_item = _claim(project, other)

    with pytest.raises(Conflict, match="already used"):
        annotation_submit(
            project=project,
            annotator=other,
            item_id=other_item.pk,
            category_ids=[cat.pk],
            idempotency_key="shared-key-1",
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"category_ids": []}, "Choose at least one"),
        ({"category_ids": [999999]}, "Unknown or inactive"),
        ({"none_of_these": True, "category_ids": "first"}, "cannot be combined"),
        ({"idempotency_key": "short"}, "idempotency_key"),
        ({"comment": "x" * 2001}, "limited to 2000"),
    ],
)
def test_bad_submit_is_refused_and_stores_nothing(project, annotator, kwargs, message):
    items(project, 1)
    item = _claim(project, annotator)
    cat = project.categories.first()
    args = {
        "project": project,
        "annotator": annotator,
        "item_id": item.pk,
        "category_ids": [cat.pk],
        "idempotency_key": "good-key-01",
        **kwargs,
    }
    if args["category_ids"] == "first":
        args["category_ids"] = [cat.pk]

    with pytest.raises(InvalidInput, match=message):
        annotation_submit(**args)

    assert Annotation.objects.count() == 0
    assert Assignment.objects.get(item=item).state == "active"  # the lease is kept


def test_single_label_project_takes_one_category(annotator):
    project = ProjectFactory(multi_label=False)
    member(project, username=annotator.username)
    a, b = CategoryFactory(project=project), CategoryFactory(project=project)
    items(project, 1)
    item = _claim(project, annotator)

    with pytest.raises(InvalidInput, match="single-label"):
        annotation_submit(
            project=project,
            annotator=annotator,
            item_id=item.pk,
            category_ids=[a.pk, b.pk],
            idempotency_key="single-001",
        )


def test_inactive_category_is_refused(project, annotator):
    items(project, 1)
    item = _claim(project, annotator)
    cat = project.categories.first()
    cat.active = False
    cat.save()

    with pytest.raises(InvalidInput, match="inactive"):
        annotation_submit(
            project=project,
            annotator=annotator,
            item_id=item.pk,
            category_ids=[cat.pk],
            idempotency_key="inactive-1",
        )


def test_submit_for_an_item_never_assigned_is_refused(project, annotator):
    (item,) = items(project, 1)
    with pytest.raises(Conflict, match="never assigned"):
        annotation_submit(
            project=project,
            annotator=annotator,
            item_id=item.pk,
            category_ids=[],
            unsure=True,
            idempotency_key="never-001",
        )


def test_late_submit_after_expiry_is_kept_not_lost(project, annotator):
    (only,) = items(project, 1)
    item = _claim(project, annotator)
    assignment_expire_stale(now=timezone.now() + timedelta(hours=1))
    assert Item.objects.get(pk=only.pk).open_slots == 2

    result = annotation_submit(
        project=project,
        annotator=annotator,
        item_id=item.pk,
        category_ids=[],
        none_of_these=True,
        idempotency_key="late-0001",
    )

    assert result.created
    only.refresh_from_db()
    assert (only.annotation_count, only.open_slots) == (1, 1)


def test_undo_withdraws_label_gives_item_back_and_is_audited(project, annotator):
    items(project, 1)
    item = _claim(project, annotator)
    cat = project.categories.first()
    ann = annotation_submit(
        project=project,
        annotator=annotator,
        item_id=item.pk,
        category_ids=[cat.pk],
        idempotency_key="undo-key-1",
    ).annotation

    undone = annotation_undo(project=project, annotator=annotator, annotation_id=ann.pk)

    assert undone.previous["categories"] == [cat.pk]
    assert not Annotation.objects.exists()
    assert Assignment.objects.filter(item=item, annotator=annotator, state="active").exists()
    assert undone.item.annotation_count == 0 and undone.item.open_slots == 1
    assert list(LabelEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "submit",
        "undo",
    ]


def test_undo_after_the_window_is_refused(project, annotator, settings):
    items(project, 1)
    item = _claim(project, annotator)
    ann = annotation_submit(
        project=project,
        annotator=annotator,
        item_id=item.pk,
        category_ids=[],
        unsure=True,
        idempotency_key="undo-late-1",
    ).annotation
    Annotation.objects.filter(pk=ann.pk).update(created_at=timezone.now() - timedelta(hours=1))

    with pytest.raises(Conflict, match="Undo is possible"):
        annotation_undo(project=project, annotator=annotator, annotation_id=ann.pk)
    assert Annotation.objects.filter(pk=ann.pk).exists()


def test_audit_log_rows_cannot_be_changed(project, annotator):
    items(project, 1)
    item = _claim(project, annotator)
    annotation_submit(
        project=project,
        annotator=annotator,
        item_id=item.pk,
        category_ids=[],
        unsure=True,
        idempotency_key="audit-key-1",
    )

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LabelEvent.objects.update(action="undo")
    assert LabelEvent.objects.get().action == "submit"


@pytest.mark.postgres
def test_audit_log_rows_cannot_be_deleted_on_postgres(project, annotator):
    items(project, 1)
    item = _claim(project, annotator)
    annotation_submit(
        project=project,
        annotator=annotator,
        item_id=item.pk,
        category_ids=[],
        unsure=True,
        idempotency_key="audit-key-2",
    )

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LabelEvent.objects.all().delete()
    assert LabelEvent.objects.count() == 1


def test_submit_and_undo_tell_the_agreement_figures(project, annotator, monkeypatch):
    """Label changes reach the background agreement snapshot (debounced there)."""
    noted = []
    monkeypatch.setattr(
        "annotation.services.annotations.agreement_note_change",
        lambda *, project_id: noted.append(project_id),
    )
    items(project, 1)
    item = _claim(project, annotator)
    cat = project.categories.first()

    done = annotation_submit(
        project=project,
        annotator=annotator,
        item_id=item.pk,
        category_ids=[cat.pk],
        idempotency_key="note-change-1",
    )
    annotation_undo(project=project, annotator=annotator, annotation_id=done.annotation.pk)

    assert noted == [project.pk, project.pk]


def test_submit_response_carries_category_names_without_a_query(project, annotator):
    items(project, 1)
    item = _claim(project, annotator)
    cats = sorted(project.categories.all()[:2], key=lambda c: c.pk)

    result = annotation_submit(
        project=project,
        annotator=annotator,
        item_id=item.pk,
        category_ids=[c.pk for c in reversed(cats)],
        idempotency_key="refs-check-1",
    )

    assert result.annotation.category_refs == [(c.pk, c.name) for c in cats]
    stored = Annotation.objects.get(pk=result.annotation.pk)
    assert stored.created_at == result.annotation.created_at
    assert LabelEvent.objects.get(annotation_id_ref=stored.pk).after["categories"] == sorted(
        c.pk for c in cats
    )

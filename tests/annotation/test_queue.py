"""item_claim_next, renew, skip, release and lease expiry."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.errors import Conflict, InvalidInput, NotFound
from annotation.models import Assignment, Item
from annotation.services.annotations import annotation_submit
from annotation.services.queue import (
    assignment_expire_stale,
    assignment_release,
    assignment_renew,
    assignment_skip,
    item_claim_next,
)
from tests.factories import items, member

pytestmark = pytest.mark.django_db


def _submit(project, user, item, key):
    category = project.categories.first()
    return annotation_submit(
        project=project,
        annotator=user,
        item_id=item.pk,
        category_ids=[category.pk],
        idempotency_key=key,
    )


def test_claim_gives_highest_priority_item_and_takes_a_slot(project, annotator):
    low, high = items(project, 2)
    Item.objects.filter(pk=high.pk).update(priority=5.0)

    claim = item_claim_next(project=project, annotator=annotator)

    assert claim.item.pk == high.pk and claim.created
    assert Item.objects.get(pk=high.pk).open_slots == project.overlap - 1
    assert claim.assignment.state == Assignment.State.ACTIVE


def test_claim_again_returns_the_same_lease_not_a_second_item(project, annotator):
    items(project, 3)
    first = item_claim_next(project=project, annotator=annotator)
    again = item_claim_next(project=project, annotator=annotator)

    assert again.item.pk == first.item.pk and not again.created
    assert Assignment.objects.filter(annotator=annotator, state="active").count() == 1


def test_prefetch_excluding_current_item_claims_a_second_one(project, annotator):
    items(project, 3)
    first = item_claim_next(project=project, annotator=annotator)
    second = item_claim_next(
        project=project, annotator=annotator, exclude_item_ids=(first.item.pk,)
    )

    assert second.item.pk != first.item.pk and second.created


def test_lease_limit_is_enforced(project, annotator, settings):
    settings.GOLDSET = {**settings.GOLDSET, "MAX_LEASES_PER_ANNOTATOR": 2}
    items(project, 5)
    a = item_claim_next(project=project, annotator=annotator)
    b = item_claim_next(project=project, annotator=annotator, exclude_item_ids=(a.item.pk,))

    with pytest.raises(Conflict, match="already hold 2 items"):
        item_claim_next(
            project=project, annotator=annotator, exclude_item_ids=(a.item.pk, b.item.pk, 999)
        )


def test_item_never_held_by_more_annotators_than_overlap(project):
    (only,) = items(project, 1)
    users = [member(project) for _ in range(3)]

    claims = [item_claim_next(project=project, annotator=u) for u in users]

    assert [c is not None for c in claims] == [True, True, False]
    assert Item.objects.get(pk=only.pk).open_slots == 0


def test_annotator_never_gets_an_item_twice(project, annotator):
    (only,) = items(project, 1)
    claim = item_claim_next(project=project, annotator=annotator)
    _submit(project, annotator, claim.item, "key-00000001")

    assert item_claim_next(project=project, annotator=annotator) is None
    assert Item.objects.get(pk=only.pk).open_slots == 1  # still open for someone else


def test_item_with_k_annotations_leaves_the_queue(project):
    (only,) = items(project, 1)
    for n in range(2):
        user = member(project)
        claim = item_claim_next(project=project, annotator=user)
        _submit(project, user, claim.item, f"key-0000000{n}")

    only.refresh_from_db()
    assert (only.annotation_count, only.open_slots) == (2, 0)
    assert item_claim_next(project=project, annotator=member(project)) is None


def test_expired_lease_reopens_the_slot_for_others(project, annotator):
    (only,) = items(project, 1)
    project.overlap = 1
    project.save()
    Item.objects.filter(pk=only.pk).update(open_slots=1)
    item_claim_next(project=project, annotator=annotator)
    other = member(project)
    assert item_claim_next(project=project, annotator=other) is None

    Assignment.objects.filter(annotator=annotator).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    claim = item_claim_next(project=project, annotator=other)

    assert claim is not None and claim.item.pk == only.pk
    assert Assignment.objects.get(annotator=annotator).state == Assignment.State.EXPIRED


def test_renew_extends_the_lease_so_it_does_not_expire(project, annotator):
    items(project, 1)
    claim = item_claim_next(project=project, annotator=annotator)
    Assignment.objects.filter(pk=claim.assignment.pk).update(
        expires_at=timezone.now() + timedelta(seconds=5)
    )

    held = assignment_renew(project=project, annotator=annotator, item_ids=[claim.item.pk])
    expired = assignment_expire_stale(now=timezone.now() + timedelta(minutes=1))

    assert held == [claim.item.pk] and expired == 0
    lease = Assignment.objects.get(pk=claim.assignment.pk)
    assert lease.expires_at > timezone.now() + timedelta(minutes=project.lease_minutes - 1)


def test_renew_reports_a_lost_lease(project, annotator):
    items(project, 1)
    claim = item_claim_next(project=project, annotator=annotator)
    assignment_expire_stale(now=timezone.now() + timedelta(hours=1))

    assert assignment_renew(project=project, annotator=annotator, item_ids=[claim.item.pk]) == []


def test_skip_needs_a_reason_and_never_returns_the_item(project, annotator):
    (only,) = items(project, 1)
    claim = item_claim_next(project=project, annotator=annotator)

    with pytest.raises(InvalidInput, match="Say why"):
        assignment_skip(project=project, annotator=annotator, item_id=claim.item.pk, reason=" ")
    assignment_skip(
        project=project, annotator=annotator, item_id=claim.item.pk, reason="Not in English"
    )

    assert Item.objects.get(pk=only.pk).open_slots == 2
    assert item_claim_next(project=project, annotator=annotator) is None
    assert Assignment.objects.get(annotator=annotator).skip_reason == "Not in English"


def test_skip_without_lease_is_a_clear_error(project, annotator):
    (only,) = items(project, 1)
    with pytest.raises(NotFound, match="do not hold"):
        assignment_skip(project=project, annotator=annotator, item_id=only.pk, reason="x")


def test_release_reopens_slots(project, annotator):
    items(project, 2)
    a = item_claim_next(project=project, annotator=annotator)
    b = item_claim_next(project=project, annotator=annotator, exclude_item_ids=(a.item.pk,))

    assert (
        assignment_release(project=project, annotator=annotator, item_ids=[a.item.pk, b.item.pk])
        == 2
    )
    assert sorted(Item.objects.values_list("open_slots", flat=True)) == [2, 2]


# --- released and expired items may come back; submitted and skipped ones never do ---------------


@pytest.mark.parametrize("end", ["release", "expire"])
def test_an_item_whose_lease_ended_without_a_verdict_comes_back_to_the_same_annotator(
    project, annotator, end
):
    # given an overlap-2 item held by two annotators, one of whom closes the page
    (only,) = items(project, 1)
    other = member(project)
    claim = item_claim_next(project=project, annotator=annotator)
    item_claim_next(project=project, annotator=other)
    if end == "release":
        assignment_release(project=project, annotator=annotator, item_ids=[only.pk])
    else:
        assignment_expire_stale(now=timezone.now() + timedelta(hours=1))
        item_claim_next(project=project, annotator=other)  # the other one's page renews

    # when the first annotator asks again, then the item is offered to them once more
    again = item_claim_next(project=project, annotator=annotator)
    assert again is not None and again.item.pk == only.pk and again.created
    assert again.assignment.pk != claim.assignment.pk
    # and a submit of it is stored once, the item completes with the other annotator's label
    _submit(project, annotator, again.item, "key-back-001")
    _submit(project, other, only, "key-back-002")
    only.refresh_from_db()
    assert (only.annotation_count, only.open_slots) == (2, 0)
    assert item_claim_next(project=project, annotator=annotator) is None


def test_a_late_submit_marks_its_ended_lease_so_the_item_never_comes_back(project, annotator):
    (only,) = items(project, 1)
    claim = item_claim_next(project=project, annotator=annotator)
    assignment_expire_stale(now=timezone.now() + timedelta(hours=1))

    _submit(project, annotator, claim.item, "key-late-0001")

    assert Assignment.objects.get(pk=claim.assignment.pk).state == Assignment.State.SUBMITTED
    assert item_claim_next(project=project, annotator=annotator) is None
    assert Item.objects.get(pk=only.pk).open_slots == 1  # still open for someone else

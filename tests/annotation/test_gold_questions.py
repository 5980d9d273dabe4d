"""Gold questions: marking, mixing into the queue at the project's rate (seeded), submit / skip /
undo on them, and unmarking."""

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from annotation.errors import Conflict, InvalidInput
from annotation.models import AdjudicationCase, Category, GoldLabel, Item, LabelEvent
from annotation.services.annotations import annotation_submit, annotation_undo
from annotation.services.gold_questions import gold_question_set, gold_question_unset
from annotation.services.queue import assignment_skip, item_claim_next
from tests.factories import ItemFactory, annotate, disagreement, items, member

pytestmark = pytest.mark.django_db


class Always:
    """An rng whose draws are all `value` (0.0: always a gold question, 1.0: never)."""

    def __init__(self, value: float):
        self.value = value

    def random(self) -> float:
        return self.value


def hate(project):
    return Category.objects.get(project=project, name="Hate")


def mark(project, lead, item, **kwargs):
    kwargs.setdefault("category_ids", [hate(project).pk])
    return gold_question_set(project=project, item_id=item.pk, lead=lead, **kwargs)


def with_rate(project, rate):
    project.gold_question_rate = rate
    project.save(update_fields=["gold_question_rate"])
    return project


def claim_submit(project, user, rng, n):
    """Claim and submit n times; the ids served in order."""
    served = []
    for i in range(n):
        claim = item_claim_next(project=project, annotator=user, rng=rng)
        if claim is None:
            break
        served.append(claim.item.pk)
        annotation_submit(
            project=project,
            annotator=user,
            item_id=claim.item.pk,
            category_ids=[hate(project).pk],
            idempotency_key=f"gq-{user.pk}-{i}-{claim.item.pk}",
        )
    return served


def test_marking_sets_the_known_label_and_takes_the_item_out_of_the_queue(project, lead):
    item = ItemFactory(project=project)
    case = disagreement(item)

    gold = mark(project, lead, item)

    item.refresh_from_db()
    assert item.is_gold_question and item.open_slots == 0
    assert item.label_state == Item.LabelState.GOLD
    assert gold.source == GoldLabel.Source.KNOWN and gold.current and gold.decided_by == lead
    case.refresh_from_db()
    assert case.status == AdjudicationCase.Status.RESOLVED and case.gold_label == gold
    assert item_claim_next(project=project, annotator=member(project), rng=Always(1.0)) is None


def test_bad_known_label_is_refused_and_nothing_changes(project, lead):
    item = ItemFactory(project=project)

    with pytest.raises(InvalidInput):
        mark(project, lead, item, category_ids=[10**9])

    item.refresh_from_db()
    assert not item.is_gold_question and item.open_slots == project.overlap
    assert not GoldLabel.objects.filter(item=item).exists()


def test_gold_questions_are_mixed_in_at_the_rate_with_a_seeded_rng(project, lead):
    with_rate(project, 0.3)
    regular = items(project, 20)
    golds = [ItemFactory(project=project, priority=-1) for _ in range(3)]
    for g in golds:
        mark(project, lead, g)
    annotator = member(project)

    served = claim_submit(project, annotator, random.Random(42), 15)

    # The same seed decides the same draws: gold question exactly where draw < rate, while
    # there is one left for this annotator.
    draws = random.Random(42)
    expected_gold_positions = []
    left = 3
    for i in range(15):
        if draws.random() < 0.3 and left:
            expected_gold_positions.append(i)
            left -= 1
    gold_ids = {g.pk for g in golds}
    assert [i for i, pk in enumerate(served) if pk in gold_ids] == expected_gold_positions
    assert len(set(served)) == len(served)  # never an item twice
    assert {pk for pk in served if pk not in gold_ids} <= {r.pk for r in regular}


def test_mixing_rate_over_many_draws(project):
    with_rate(project, 0.2)
    items(project, 100)
    for _ in range(100):  # marked directly: only the queue's mixing is under test here
        ItemFactory(project=project, is_gold_question=True, open_slots=0)

    served = claim_submit(project, member(project), random.Random(7), 100)

    gold_share = Item.objects.filter(pk__in=served, is_gold_question=True).count() / len(served)
    assert 0.1 < gold_share < 0.3


def test_every_annotator_may_get_the_same_gold_question_once(project, lead):
    with_rate(project, 0.5)
    gold_item = ItemFactory(project=project)
    mark(project, lead, gold_item)
    items(project, 3)
    annotators = [member(project) for _ in range(4)]

    firsts = [item_claim_next(project=project, annotator=a, rng=Always(0.0)) for a in annotators]

    assert {c.item.pk for c in firsts} == {gold_item.pk}
    gold_item.refresh_from_db()
    assert gold_item.open_slots == 0  # no slot accounting for gold questions
    # Falls back to a regular item once this annotator has had every gold question.
    a = annotators[0]
    annotation_submit(
        project=project, annotator=a, item_id=gold_item.pk, category_ids=[hate(project).pk],
        idempotency_key="gold-once-1",
    )  # fmt: skip
    again = item_claim_next(project=project, annotator=a, rng=Always(0.0))
    assert again.item.pk != gold_item.pk and not again.item.is_gold_question


def test_rate_zero_costs_no_gold_question_query(project, lead):
    mark(project, lead, ItemFactory(project=project))
    ItemFactory(project=project)
    annotator = member(project)

    with CaptureQueriesContext(connection) as queries:
        claim = item_claim_next(project=project, annotator=annotator, rng=Always(0.0))

    assert not claim.item.is_gold_question
    assert not any("is_gold_question" in q["sql"] for q in queries.captured_queries)


def test_submitting_a_gold_question_never_consolidates_nor_moves_slots(project, lead):
    with_rate(project, 0.5)
    gold_item = ItemFactory(project=project)
    known = mark(project, lead, gold_item)
    annotators = [member(project) for _ in range(3)]
    for i, a in enumerate(annotators):
        claim = item_claim_next(project=project, annotator=a, rng=Always(0.0))
        annotation_submit(
            project=project,
            annotator=a,
            item_id=claim.item.pk,
            category_ids=[Category.objects.filter(project=project)[i].pk],  # they disagree
            idempotency_key=f"gold-submit-{i}",
        )

    gold_item.refresh_from_db()
    assert gold_item.annotation_count == 3 and gold_item.open_slots == 0
    assert list(GoldLabel.objects.filter(item=gold_item)) == [known]
    assert not AdjudicationCase.objects.filter(item=gold_item, status="open").exists()
    assert gold_item.label_state == Item.LabelState.GOLD


def test_skip_and_undo_on_a_gold_question(project, lead):
    with_rate(project, 0.5)
    gold_item = ItemFactory(project=project)
    mark(project, lead, gold_item)
    ItemFactory(project=project)
    skipper, undoer = member(project), member(project)

    claim = item_claim_next(project=project, annotator=skipper, rng=Always(0.0))
    assignment_skip(project=project, annotator=skipper, item_id=claim.item.pk, reason="Unclear")
    nxt = item_claim_next(project=project, annotator=skipper, rng=Always(0.0))
    assert nxt.item.pk != gold_item.pk  # a skipped gold question is not offered again

    claim = item_claim_next(project=project, annotator=undoer, rng=Always(0.0))
    stored = annotation_submit(
        project=project, annotator=undoer, item_id=claim.item.pk,
        category_ids=[hate(project).pk], idempotency_key="gold-undo-1",
    ).annotation  # fmt: skip
    undone = annotation_undo(project=project, annotator=undoer, annotation_id=stored.pk)

    assert undone.item.pk == gold_item.pk
    gold_item.refresh_from_db()
    assert gold_item.open_slots == 0 and gold_item.annotation_count == 0
    assert gold_item.assignments.filter(annotator=undoer, state="active").exists()
    assert LabelEvent.objects.filter(item=gold_item, action="undo").count() == 1


def test_a_gold_question_looks_like_any_item_to_the_annotator(project, lead):
    with_rate(project, 0.5)
    gold_item = ItemFactory(project=project, metadata={"source": "x"})
    mark(project, lead, gold_item)
    ItemFactory(project=project, metadata={"source": "x"})
    annotator = member(project)
    client = APIClient()
    client.force_authenticate(annotator)

    import annotation.services.queue as queue

    rng = queue._rng
    queue._rng = Always(0.0)
    try:
        gold_body = client.post(f"/api/projects/{project.slug}/next/", {}, format="json").json()
        client.post(f"/api/projects/{project.slug}/release/", {"items": [gold_item.pk]})
        queue._rng = Always(1.0)
        other = client.post(
            f"/api/projects/{project.slug}/next/", {"exclude": [gold_item.pk]}, format="json"
        ).json()
    finally:
        queue._rng = rng

    assert gold_body["item"]["id"] == gold_item.pk and other["item"]["id"] != gold_item.pk
    assert gold_body.keys() == other.keys()
    assert gold_body["item"].keys() == other["item"].keys()
    assert "gold" not in str(gold_body).lower()


def test_unmarking_withdraws_the_known_label_and_consolidates(project, lead):
    gold_item = ItemFactory(project=project)
    known = mark(project, lead, gold_item)
    a, b = member(project), member(project)
    annotate(gold_item, a, [hate(project)]), annotate(gold_item, b, [hate(project)])

    item = gold_question_unset(project=project, item_id=gold_item.pk, lead=lead)

    known.refresh_from_db()
    assert not item.is_gold_question and not known.current
    consensus = GoldLabel.objects.get(item=item, current=True)
    assert consensus.source == GoldLabel.Source.CONSENSUS
    assert item.label_state == Item.LabelState.GOLD
    with pytest.raises(Conflict):
        gold_question_unset(project=project, item_id=gold_item.pk, lead=lead)


def test_unmarking_a_fresh_item_puts_it_back_in_the_queue(project, lead):
    gold_item = ItemFactory(project=project)
    mark(project, lead, gold_item)

    item = gold_question_unset(project=project, item_id=gold_item.pk, lead=lead)

    assert item.open_slots == project.overlap and item.label_state == Item.LabelState.PENDING
    claim = item_claim_next(project=project, annotator=member(project), rng=Always(1.0))
    assert claim.item.pk == item.pk

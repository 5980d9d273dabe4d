"""Consolidation: the rules (pure), the submit that completes an item, adaptive overlap, late
submits beyond k, undo, the rebuild and the settings that drive it."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation.errors import InvalidInput
from annotation.models import (
    AdjudicationCase,
    Annotation,
    Category,
    GoldLabel,
    Item,
    LabelEvent,
    Project,
)
from annotation.services.annotations import annotation_submit, annotation_undo
from annotation.services.consolidation import (
    AGREE,
    DISAGREE,
    UNSURE,
    Vote,
    consolidation_rebuild,
    decide,
    project_settings_update,
)
from annotation.services.gold import SYSTEM_USERNAME, case_priority
from annotation.services.queue import assignment_expire_stale, item_claim_next
from learning.models import KeywordSeed
from tests.factories import (
    ItemFactory,
    MembershipFactory,
    annotate,
    disagreement,
    member,
    submit,
)

pytestmark = pytest.mark.django_db


def v(*cats, none=False, unsure=False, pk=0):
    return Vote(pk, frozenset(cats), none_of_these=none, unsure=unsure)


# --- the rules, pure --------------------------------------------------------------------------


def test_unanimous_multi_label_agreement_is_the_shared_label():
    decision = decide([v(1, 2), v(2, 1)], multi_label=True, majority=False)

    assert decision.outcome == AGREE
    assert decision.categories == {1, 2} and not decision.none_of_these


def test_unanimous_disagreement_names_the_disputed_categories():
    decision = decide([v(1, 2), v(1)], multi_label=True, majority=False)

    assert decision.outcome == DISAGREE
    assert decision.disputed == {2} and decision.involved == {1, 2}


def test_majority_two_of_three_decides_each_category():
    decision = decide([v(1, 2), v(1), v(1, 3)], multi_label=True, majority=True)

    assert decision.outcome == AGREE
    assert decision.categories == {1}  # 2 and 3: one vote of three each, a majority against


def test_majority_needs_strictly_more_than_half():
    decision = decide([v(1), v(1), v(2), v(2)], multi_label=True, majority=True)

    assert decision.outcome == DISAGREE and decision.disputed == {1, 2}


def test_majority_rule_with_two_annotations_is_unanimity():
    assert decide([v(1), v(2)], multi_label=True, majority=True).outcome == DISAGREE
    assert decide([v(1), v(1)], multi_label=True, majority=True).outcome == AGREE


def test_three_different_categories_do_not_make_none_of_these_by_majority():
    decision = decide([v(1), v(2), v(3)], multi_label=True, majority=True)

    assert decision.outcome == DISAGREE and decision.disputed == {1, 2, 3}


def test_none_of_these_is_a_decision_of_its_own():
    assert decide([v(none=True), v(none=True)], multi_label=True, majority=False) == decide(
        [v(none=True), v(none=True)], multi_label=True, majority=False
    )
    agreed = decide([v(none=True), v(none=True)], multi_label=True, majority=False)
    assert agreed.outcome == AGREE and agreed.none_of_these and not agreed.categories

    against = decide([v(none=True), v(1)], multi_label=True, majority=False)
    assert against.outcome == DISAGREE and against.disputed == {1}

    by_majority = decide([v(none=True), v(none=True), v(1)], multi_label=True, majority=True)
    assert by_majority.outcome == AGREE and by_majority.none_of_these


def test_any_unsure_goes_to_a_lead_even_when_the_labels_agree():
    decision = decide([v(1), v(1, unsure=True), v(1)], multi_label=True, majority=True)

    assert decision.outcome == UNSURE and decision.involved == {1}


def test_single_label_classes_none_of_these_is_a_class():
    assert decide([v(1), v(1)], multi_label=False, majority=False).categories == {1}
    assert decide([v(1), v(2)], multi_label=False, majority=False).outcome == DISAGREE
    none = decide([v(none=True), v(none=True), v(2)], multi_label=False, majority=True)
    assert none.outcome == AGREE and none.none_of_these
    split = decide([v(1), v(2), v(none=True)], multi_label=False, majority=True)
    assert split.outcome == DISAGREE


# --- the submit that completes an item --------------------------------------------------------


def cats(project, *names):
    return [Category.objects.get(project=project, name=n) for n in names]


def test_agreeing_k_annotations_make_a_consensus_gold_label(project):
    a, b = member(project), member(project)
    item = ItemFactory(project=project)
    hate, social = cats(project, "Hate", "Social Media")

    first = submit(item, a, [hate, social])
    item.refresh_from_db()
    assert item.label_state == Item.LabelState.PENDING and not item.gold_labels.exists()
    second = submit(item, b, [social, hate])

    item.refresh_from_db()
    gold = GoldLabel.objects.get(item=item, current=True)
    assert gold.source == GoldLabel.Source.CONSENSUS
    assert set(gold.categories.all()) == {hate, social} and not gold.none_of_these
    assert gold.annotation_ids == sorted([first.pk, second.pk])
    assert item.label_state == Item.LabelState.GOLD
    assert not AdjudicationCase.objects.filter(item=item).exists()
    event = LabelEvent.objects.get(item=item, action=LabelEvent.Action.GOLD)
    assert event.actor.username == SYSTEM_USERNAME
    assert event.before is None and event.after["categories"] == sorted([hate.pk, social.pk])
    # Raw annotations are stored apart and unchanged.
    assert set(Annotation.objects.get(pk=first.pk).categories.all()) == {hate, social}


def test_disagreement_opens_a_case_and_no_gold(project):
    a, b = member(project), member(project)
    item = ItemFactory(project=project)
    hate, social = cats(project, "Hate", "Social Media")

    first = submit(item, a, [hate])
    second = submit(item, b, [social])

    item.refresh_from_db()
    case = AdjudicationCase.objects.get(item=item)
    assert case.reason == AdjudicationCase.Reason.DISAGREEMENT
    assert case.status == AdjudicationCase.Status.OPEN
    assert set(case.categories.all()) == {hate, social}
    assert case.details["annotation_ids"] == [first.pk, second.pk]
    assert case.details["disputed"] == sorted([hate.pk, social.pk])
    assert item.label_state == Item.LabelState.ADJUDICATION
    assert not GoldLabel.objects.filter(item=item).exists()
    assert LabelEvent.objects.filter(item=item, action=LabelEvent.Action.CASE_OPEN).count() == 1


def test_unsure_opens_an_unsure_case(project):
    a, b = member(project), member(project)
    item = ItemFactory(project=project)
    (hate,) = cats(project, "Hate")

    submit(item, a, [hate])
    submit(item, b, [hate], unsure=True)

    case = AdjudicationCase.objects.get(item=item)
    assert case.reason == AdjudicationCase.Reason.UNSURE
    assert not GoldLabel.objects.filter(item=item).exists()


def test_single_label_none_of_these_agreement(annotator):
    project = Project.objects.create(name="S", slug="s", multi_label=False, overlap=2)
    Category.objects.create(project=project, name="Spam", hotkey="1")
    b = member(project)
    MembershipFactory(user=annotator, project=project)
    item = ItemFactory(project=project)

    submit(item, annotator, none=True)
    submit(item, b, none=True)

    gold = GoldLabel.objects.get(item=item, current=True)
    assert gold.none_of_these and not gold.categories.exists()


def test_majority_project_waits_for_three_and_takes_two_of_three(project):
    project_settings_update(project=project, overlap=3, consolidation_rule="majority")
    users = [member(project) for _ in range(3)]
    item = ItemFactory(project=project)
    hate, violence = cats(project, "Hate", "Violence")

    submit(item, users[0], [hate])
    submit(item, users[1], [hate, violence])
    assert not GoldLabel.objects.filter(item=item).exists()  # 2 of 3: not yet
    submit(item, users[2], [hate])

    gold = GoldLabel.objects.get(item=item, current=True)
    assert list(gold.categories.all()) == [hate]


def test_case_priority_sensitive_first_then_rare(project):
    violence, hate, adult, social = cats(
        project, "Violence", "Hate", "Adult Content", "Social Media"
    )
    # Some gold history: Social Media is common, Adult Content rare.
    for _ in range(4):
        gold = GoldLabel.objects.create(
            project=project, item=ItemFactory(project=project), source="consensus"
        )
        gold.categories.set([social])

    sensitive = case_priority(project_id=project.pk, category_ids=[violence.pk])
    rare = case_priority(project_id=project.pk, category_ids=[adult.pk])
    common = case_priority(project_id=project.pk, category_ids=[social.pk])
    nothing = case_priority(project_id=project.pk, category_ids=[])

    assert sensitive > rare > common > nothing == 0
    assert sensitive >= 2
    assert case_priority(project_id=project.pk, category_ids=[adult.pk], score=1.0) < sensitive
    del hate


def test_completing_submit_is_the_only_one_paying_for_consolidation(project):
    a, b = member(project), member(project)
    (hate,) = cats(project, "Hate")
    item = ItemFactory(project=project)

    def timed_submit(user, key):
        claim = item_claim_next(project=project, annotator=user)
        assert claim.item.pk == item.pk
        with CaptureQueriesContext(connection) as queries:
            annotation_submit(
                project=project,
                annotator=user,
                item_id=item.pk,
                category_ids=[hate.pk],
                idempotency_key=key,
            )
        return [q["sql"] for q in queries.captured_queries]

    first = timed_submit(a, "first-submit-key")
    second = timed_submit(b, "second-submit-key")

    # The first submit runs exactly the submit's own statements; consolidation work (gold
    # labels, cases) happens only in the submit that completes the item.
    assert not any("goldlabel" in sql or "adjudicationcase" in sql for sql in first)
    assert len(first) <= 10
    assert any("goldlabel" in sql for sql in second)


# --- adaptive overlap, through the queue ------------------------------------------------------


def _adaptive_project(project):
    project_settings_update(project=project, adaptive_overlap=True)
    project.refresh_from_db()
    return project


def _claim_and_submit(project, user, categories):
    claim = item_claim_next(project=project, annotator=user)
    assert claim is not None
    annotation_submit(
        project=project,
        annotator=user,
        item_id=claim.item.pk,
        category_ids=[c.pk for c in categories],
        idempotency_key=f"claim-key-{user.pk}-{claim.item.pk}",
    )
    return claim.item


def test_adaptive_overlap_asks_a_third_annotator_then_takes_the_majority(project):
    project = _adaptive_project(project)
    a, b, c = (member(project) for _ in range(3))
    item = ItemFactory(project=project)
    hate, social = cats(project, "Hate", "Social Media")

    _claim_and_submit(project, a, [hate])
    _claim_and_submit(project, b, [social])

    item.refresh_from_db()
    assert item.extra_overlap == 1 and item.open_slots == 1
    assert item.label_state == Item.LabelState.PENDING
    assert not AdjudicationCase.objects.filter(item=item).exists()
    assert item_claim_next(project=project, annotator=a) is None  # never twice the same person

    third = _claim_and_submit(project, c, [hate])

    assert third.pk == item.pk
    item.refresh_from_db()
    gold = GoldLabel.objects.get(item=item, current=True)
    assert list(gold.categories.all()) == [hate] and item.open_slots == 0
    assert item.label_state == Item.LabelState.GOLD


def test_adaptive_overlap_third_annotator_disagreeing_too_opens_a_case(project):
    project = _adaptive_project(project)
    a, b, c = (member(project) for _ in range(3))
    item = ItemFactory(project=project)
    hate, social, adult = cats(project, "Hate", "Social Media", "Adult Content")

    _claim_and_submit(project, a, [hate])
    _claim_and_submit(project, b, [social])
    _claim_and_submit(project, c, [adult])

    case = AdjudicationCase.objects.get(item=item)
    assert case.reason == AdjudicationCase.Reason.DISAGREEMENT
    assert case.details["rule"] == "majority" and len(case.details["annotation_ids"]) == 3


# --- more than k annotations ------------------------------------------------------------------


def _late_third(project, agree: bool):
    """a's lease expires; b and c label the item; then a's late submit arrives."""
    a, b, c = (member(project) for _ in range(3))
    item = ItemFactory(project=project)
    hate, social = cats(project, "Hate", "Social Media")
    claim = item_claim_next(project=project, annotator=a)
    assert assignment_expire_stale(project=project, now=timezone.now() + timedelta(hours=1))
    submit(item, b, [hate])
    submit(item, c, [hate])
    gold = GoldLabel.objects.get(item=item, current=True)
    annotation_submit(
        project=project,
        annotator=a,
        item_id=claim.item.pk,
        category_ids=[hate.pk] if agree else [social.pk],
        idempotency_key="late-submit-1",
    )
    item.refresh_from_db()
    return item, gold


def test_late_submit_beyond_k_that_disagrees_withdraws_consensus_and_opens_a_case(project):
    item, old = _late_third(project, agree=False)

    assert item.annotation_count == 3
    old.refresh_from_db()
    assert not old.current and old.superseded_at is not None
    assert not GoldLabel.objects.filter(item=item, current=True).exists()
    case = AdjudicationCase.objects.get(item=item, status="open")
    assert len(case.details["annotation_ids"]) == 3
    assert item.label_state == Item.LabelState.ADJUDICATION
    assert LabelEvent.objects.filter(item=item, action="gold_withdrawn").count() == 1


def test_late_submit_beyond_k_that_agrees_keeps_the_gold(project):
    item, old = _late_third(project, agree=True)

    assert GoldLabel.objects.get(item=item, current=True).pk == old.pk
    assert item.label_state == Item.LabelState.GOLD


# --- undo -------------------------------------------------------------------------------------


def test_undo_withdraws_the_consensus_built_from_it(project):
    a, b = member(project), member(project)
    item = ItemFactory(project=project)
    (hate,) = cats(project, "Hate")
    submit(item, a, [hate])
    second = submit(item, b, [hate])
    gold = GoldLabel.objects.get(item=item, current=True)

    annotation_undo(project=project, annotator=b, annotation_id=second.pk)

    gold.refresh_from_db()
    item.refresh_from_db()
    assert not gold.current and gold.superseded_at is not None
    assert item.label_state == Item.LabelState.PENDING
    event = LabelEvent.objects.get(item=item, action=LabelEvent.Action.GOLD_WITHDRAWN)
    assert event.before["gold_label"] == gold.pk and event.after["why"] == "undo"
    # b holds the item again and can label it anew: a new consensus.
    submit_again = annotation_submit(
        project=project, annotator=b, item_id=item.pk, category_ids=[hate.pk],
        idempotency_key="again-after-undo",
    )  # fmt: skip
    assert submit_again.created
    assert GoldLabel.objects.filter(item=item, current=True).count() == 1


def test_undo_cancels_the_case_it_caused(project):
    a, b = member(project), member(project)
    item = ItemFactory(project=project)
    hate, social = cats(project, "Hate", "Social Media")
    submit(item, a, [hate])
    second = submit(item, b, [social])

    annotation_undo(project=project, annotator=b, annotation_id=second.pk)

    case = AdjudicationCase.objects.get(item=item)
    assert case.status == AdjudicationCase.Status.CANCELLED
    item.refresh_from_db()
    assert item.label_state == Item.LabelState.PENDING


def test_undo_never_touches_an_adjudicated_gold(project, lead):
    from annotation.services.adjudication import case_decide

    a, b = member(project), member(project)
    item = ItemFactory(project=project)
    hate, social = cats(project, "Hate", "Social Media")
    submit(item, a, [hate])
    second = submit(item, b, [social])
    case = AdjudicationCase.objects.get(item=item)
    decided = case_decide(
        project=project, case_id=case.pk, lead=lead, category_ids=[hate.pk], rationale="Slur."
    )

    annotation_undo(project=project, annotator=b, annotation_id=second.pk)

    gold = GoldLabel.objects.get(item=item, current=True)
    assert gold.pk == decided.gold.pk and gold.source == GoldLabel.Source.ADJUDICATION
    item.refresh_from_db()
    assert item.label_state == Item.LabelState.GOLD


# --- rebuild and settings ---------------------------------------------------------------------


def test_rebuild_consolidates_existing_data_once(project):
    a, b = member(project), member(project)
    hate, social = cats(project, "Hate", "Social Media")
    agreed, split, half = (ItemFactory(project=project) for _ in range(3))
    annotate(agreed, a, [hate]), annotate(agreed, b, [hate])
    annotate(split, a, [hate]), annotate(split, b, [social])
    annotate(half, a, [hate])

    assert consolidation_rebuild(project_id=project.pk) == 2
    assert consolidation_rebuild(project_id=project.pk) == 0  # idempotent

    assert GoldLabel.objects.get(item=agreed, current=True).source == "consensus"
    assert AdjudicationCase.objects.get(item=split).status == "open"
    half.refresh_from_db()
    assert half.label_state == Item.LabelState.PENDING


def test_rule_change_rebuilds_open_disagreements(project, lead, django_capture_on_commit_callbacks):
    project_settings_update(project=project, overlap=3)
    users = [member(project) for _ in range(3)]
    hate, social = cats(project, "Hate", "Social Media")
    item = ItemFactory(project=project)
    submit(item, users[0], [hate])
    submit(item, users[1], [hate])
    submit(item, users[2], [social])
    case = AdjudicationCase.objects.get(item=item)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        project_settings_update(project=project, consolidation_rule="majority")

    assert len(callbacks) == 1  # the rebuild task, sent once the change is committed
    case.refresh_from_db()
    assert case.status == AdjudicationCase.Status.CANCELLED
    assert list(GoldLabel.objects.get(item=item, current=True).categories.all()) == [hate]


def test_rebuild_command(project):
    a, b = member(project), member(project)
    (hate,) = cats(project, "Hate")
    item = ItemFactory(project=project)
    annotate(item, a, [hate]), annotate(item, b, [hate])

    call_command("consolidation_rebuild", project.slug)

    assert GoldLabel.objects.filter(item=item, current=True).exists()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"consolidation_rule": "majority"}, "majority_needs_k3"),
        ({"overlap": 3, "adaptive_overlap": True}, "adaptive_needs_k2"),
        ({"consolidation_rule": "vote"}, "bad_rule"),
        ({"gold_question_rate": 0.7}, "invalid"),
        ({"gold_question_rate": "lots"}, "invalid"),
        ({"gold_alert_threshold": 1.5}, "invalid"),
    ],
)
def test_bad_settings_are_refused_and_nothing_changes(project, lead, fields, code):
    before = Project.objects.values().get(pk=project.pk)

    with pytest.raises(InvalidInput) as err:
        project_settings_update(project=project, name="Renamed", **fields)

    assert err.value.code == code
    assert Project.objects.values().get(pk=project.pk) == before


def test_overlap_below_three_with_majority_is_refused(project, lead):
    project_settings_update(project=project, overlap=3, consolidation_rule="majority")

    with pytest.raises(InvalidInput, match="majority"):
        project_settings_update(project=project, overlap=2)

    project.refresh_from_db()
    assert project.overlap == 3


def test_settings_are_saved(project, lead):
    project_settings_update(
        project=project,
        adaptive_overlap=True,
        gold_question_rate=0.1,
        gold_alert_threshold=0.7,
    )

    project.refresh_from_db()
    assert project.adaptive_overlap and project.gold_question_rate == 0.1
    assert project.gold_alert_threshold == 0.7


def test_case_priorities_are_refreshed_from_todays_prevalence(project):
    from annotation.services.adjudication import case_open
    from annotation.services.gold import case_priorities_refresh

    social, adult = cats(project, "Social Media", "Adult Content")
    early = disagreement(ItemFactory(project=project), first=[social], second=[adult])
    fixed = case_open(item_id=ItemFactory(project=project).pk, reason="label_error", priority=9.0)
    for _ in range(6):  # Social Media turns out common
        gold = GoldLabel.objects.create(
            project=project, item=ItemFactory(project=project), source="consensus"
        )
        gold.categories.set([social])

    assert case_priorities_refresh(project_id=project.pk) == 1

    early_priority = AdjudicationCase.objects.get(pk=early.pk).priority
    assert early_priority == pytest.approx(1 - 1 / (6 + 2))  # Adult Content: still rare
    assert AdjudicationCase.objects.get(pk=fixed.case.pk).priority == 9.0


def test_demo_setup_shows_gold_labels_and_open_cases_and_is_idempotent(db):
    call_command("demo_setup", stdout=None)
    counts = (
        GoldLabel.objects.filter(current=True, source="consensus").count(),
        AdjudicationCase.objects.filter(status="open").count(),
        Item.objects.filter(is_gold_question=True).count(),
        Annotation.objects.count(),
    )

    call_command("demo_setup", stdout=None)

    assert counts == (4, 5, 1, 18)
    seeds = KeywordSeed.objects.filter(category__project__slug="demo-web-safety")
    assert seeds.count() == 4  # the learning page has seeds for a cold start
    assert counts == (
        GoldLabel.objects.filter(current=True, source="consensus").count(),
        AdjudicationCase.objects.filter(status="open").count(),
        Item.objects.filter(is_gold_question=True).count(),
        Annotation.objects.count(),
    )

"""The leads' decisions: decide, dismiss, override, reopen, case_open for other apps; audit and
concurrency (two leads deciding the same case on PostgreSQL)."""

import threading

import pytest
from django.db import close_old_connections, connection

from annotation.errors import Conflict, InvalidInput, NotFound
from annotation.models import AdjudicationCase, Category, GoldLabel, Item, LabelEvent, Role
from annotation.services.adjudication import (
    case_decide,
    case_dismiss,
    case_open,
    gold_override,
    gold_reopen,
)
from annotation.services.annotations import annotation_submit
from annotation.services.gold_questions import gold_question_set
from annotation.services.queue import item_claim_next
from tests.factories import (
    CategoryFactory,
    ItemFactory,
    MembershipFactory,
    ProjectFactory,
    disagreement,
    member,
    submit,
)

pytestmark = pytest.mark.django_db

Reason, Status = AdjudicationCase.Reason, AdjudicationCase.Status


def cat(project, name):
    return Category.objects.get(project=project, name=name)


def snapshot(item):
    """Everything a refused decision must leave as it was."""
    item.refresh_from_db()
    return (
        item.label_state,
        sorted(GoldLabel.objects.filter(item=item).values_list("pk", "current")),
        sorted(AdjudicationCase.objects.filter(item=item).values_list("pk", "status")),
        LabelEvent.objects.filter(item=item).count(),
    )


def test_end_to_end_annotate_case_decide_gold_and_audit(project, lead):
    a, b = member(project), member(project)
    hate, social = cat(project, "Hate"), cat(project, "Social Media")
    item = ItemFactory(project=project)
    for user, label in ((a, hate), (b, social)):
        claim = item_claim_next(project=project, annotator=user)
        annotation_submit(
            project=project,
            annotator=user,
            item_id=claim.item.pk,
            category_ids=[label.pk],
            idempotency_key=f"end-to-end-{user.pk}",
        )
    case = AdjudicationCase.objects.get(item=item)

    decided = case_decide(
        project=project,
        case_id=case.pk,
        lead=lead,
        category_ids=[hate.pk, social.pk],
        rationale="A hateful post on a social platform.",
        guideline_ref="§ Hate",
    )

    gold = decided.gold
    assert gold.current and gold.source == GoldLabel.Source.ADJUDICATION
    assert gold.decided_by == lead and gold.rationale.startswith("A hateful")
    assert gold.guideline_ref == "§ Hate" and gold.guidelines_version == project.guidelines_version
    assert set(gold.categories.all()) == {hate, social}
    case.refresh_from_db()
    assert case.status == Status.RESOLVED and case.gold_label == gold and case.closed_by == lead
    item.refresh_from_db()
    assert item.label_state == Item.LabelState.GOLD
    actions = list(
        LabelEvent.objects.filter(item=item).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["submit", "submit", "case_open", "gold", "case_close"]
    gold_event = LabelEvent.objects.get(item=item, action="gold")
    assert gold_event.actor == lead and gold_event.before is None
    assert gold_event.after["categories"] == sorted([hate.pk, social.pk])
    assert gold_event.after["cases"] == [case.pk]
    close_event = LabelEvent.objects.get(item=item, action="case_close")
    assert close_event.before["status"] == "open" and close_event.after["status"] == "resolved"


def test_a_decision_resolves_every_open_case_of_the_item(project, lead):
    item = ItemFactory(project=project)
    case = disagreement(item)
    flagged = case_open(item_id=item.pk, reason=Reason.LABEL_ERROR, details={"score": 0.9})

    decided = case_decide(
        project=project,
        case_id=case.pk,
        lead=lead,
        category_ids=[cat(project, "Hate").pk],
        rationale="Both questions answered at once.",
    )

    assert {c.pk for c in decided.cases} == {case.pk, flagged.case.pk}
    assert not AdjudicationCase.objects.filter(item=item, status=Status.OPEN).exists()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"rationale": "   "}, "rationale_required"),
        ({"category_ids": []}, "empty_label"),
        ({"category_ids": ["x"]}, "unknown_category"),
        ({"none_of_these": True}, "none_with_categories"),
        ({"rationale": "x" * 5001}, "rationale_required"),
        ({"guideline_ref": "x" * 201}, "bad_guideline_ref"),
    ],
)
def test_bad_decisions_are_refused_and_nothing_changes(project, lead, change, code):
    item = ItemFactory(project=project)
    case = disagreement(item)
    before = snapshot(item)
    kwargs = {"category_ids": [cat(project, "Hate").pk], "rationale": "Because.", **change}

    with pytest.raises(InvalidInput) as err:
        case_decide(project=project, case_id=case.pk, lead=lead, **kwargs)

    assert err.value.code == code
    assert snapshot(item) == before


def test_a_category_of_another_project_is_unknown(project, lead):
    item = ItemFactory(project=project)
    case = disagreement(item)
    elsewhere = CategoryFactory(project=ProjectFactory())
    before = snapshot(item)

    with pytest.raises(InvalidInput, match="Unknown or inactive"):
        case_decide(
            project=project, case_id=case.pk, lead=lead, category_ids=[elsewhere.pk], rationale="r"
        )

    assert snapshot(item) == before


def test_single_label_project_takes_one_final_category(lead):
    project = ProjectFactory(multi_label=False)
    one, two = CategoryFactory(project=project), CategoryFactory(project=project)
    item = ItemFactory(project=project)
    case = disagreement(item)
    MembershipFactory(user=lead, project=project, role=Role.LEAD)

    with pytest.raises(InvalidInput) as err:
        case_decide(
            project=project,
            case_id=case.pk,
            lead=lead,
            category_ids=[one.pk, two.pk],
            rationale="r",
        )

    assert err.value.code == "single_label"


def test_deciding_a_closed_case_is_a_conflict_naming_who_closed_it(project, lead):
    item = ItemFactory(project=project)
    case = disagreement(item)
    hate = cat(project, "Hate")
    case_decide(project=project, case_id=case.pk, lead=lead, category_ids=[hate.pk], rationale="r")
    before = snapshot(item)
    other = member(project, Role.LEAD)

    with pytest.raises(Conflict) as err:
        case_decide(
            project=project, case_id=case.pk, lead=other, category_ids=[hate.pk], rationale="r"
        )

    assert err.value.code == "case_closed" and lead.username in err.value.message
    assert snapshot(item) == before


def test_a_case_of_another_project_is_not_found(project, lead):
    other = ProjectFactory()
    CategoryFactory(project=other), CategoryFactory(project=other)
    case = disagreement(ItemFactory(project=other))

    with pytest.raises(NotFound):
        case_decide(
            project=project,
            case_id=case.pk,
            lead=lead,
            category_ids=[cat(project, "Hate").pk],
            rationale="r",
        )


def test_dismiss_keeps_the_gold_and_the_same_flag_does_not_come_back(project, lead):
    item = ItemFactory(project=project)
    submit(item, member(project), [cat(project, "Hate")])
    submit(item, member(project), [cat(project, "Hate")])
    gold = GoldLabel.objects.get(item=item, current=True)
    flagged = case_open(
        item_id=item.pk,
        reason=Reason.LABEL_ERROR,
        details={"score": 0.8, "categories": [cat(project, "Violence").pk]},
        score=0.8,
    )
    assert flagged.created and flagged.case.priority > 2  # Violence is sensitive
    item.refresh_from_db()
    assert item.label_state == Item.LabelState.ADJUDICATION

    case_dismiss(project=project, case_id=flagged.case.pk, lead=lead, note="Label is right.")

    flagged.case.refresh_from_db()
    assert flagged.case.status == Status.DISMISSED and flagged.case.gold_label == gold
    assert GoldLabel.objects.get(item=item, current=True) == gold
    item.refresh_from_db()
    assert item.label_state == Item.LabelState.GOLD
    again = case_open(item_id=item.pk, reason=Reason.LABEL_ERROR, details={"score": 0.8})
    assert not again.created and again.case.pk == flagged.case.pk
    # A new gold label may be flagged again.
    gold_override(
        project=project,
        item_id=item.pk,
        lead=lead,
        category_ids=[cat(project, "Adult Content").pk],
        rationale="r",
    )
    assert case_open(item_id=item.pk, reason=Reason.LABEL_ERROR).created


def test_a_disagreement_cannot_be_dismissed(project, lead):
    item = ItemFactory(project=project)
    case = disagreement(item)
    before = snapshot(item)

    with pytest.raises(Conflict) as err:
        case_dismiss(project=project, case_id=case.pk, lead=lead)

    assert err.value.code == "not_dismissible" and snapshot(item) == before


def test_case_open_is_idempotent_and_validates(project):
    item = ItemFactory(project=project)

    first = case_open(item_id=item.pk, reason=Reason.LABEL_ERROR, priority=5.0)
    second = case_open(item_id=item.pk, reason=Reason.LABEL_ERROR, priority=1.0)

    assert first.created and not second.created and first.case.pk == second.case.pk
    assert first.case.priority == 5.0
    assert AdjudicationCase.objects.filter(item=item).count() == 1
    with pytest.raises(InvalidInput):
        case_open(item_id=item.pk, reason="whim")
    with pytest.raises(NotFound):
        case_open(item_id=10**9, reason=Reason.LABEL_ERROR)


def test_override_supersedes_and_audits(project, lead):
    item = ItemFactory(project=project)
    submit(item, member(project), [cat(project, "Hate")])
    submit(item, member(project), [cat(project, "Hate")])
    old = GoldLabel.objects.get(item=item, current=True)

    decided = gold_override(
        project=project, item_id=item.pk, lead=lead, none_of_these=True,
        category_ids=[], rationale="Quoting a slur to condemn it.",
    )  # fmt: skip

    old.refresh_from_db()
    assert not old.current and old.superseded_at is not None
    assert decided.gold.none_of_these and decided.gold.source == "adjudication"
    event = LabelEvent.objects.filter(item=item, action="gold").latest("id")
    assert event.actor == lead
    assert event.before["gold_label"] == old.pk and event.before["source"] == "consensus"
    assert event.after["none_of_these"] is True


def test_reopen_needs_a_note_and_a_gold_label_and_is_audited(project, lead):
    item = ItemFactory(project=project)
    with pytest.raises(Conflict):
        gold_reopen(project=project, item_id=item.pk, lead=lead, note="why not")
    submit(item, member(project), [cat(project, "Hate")])
    submit(item, member(project), [cat(project, "Hate")])
    gold = GoldLabel.objects.get(item=item, current=True)
    with pytest.raises(InvalidInput):
        gold_reopen(project=project, item_id=item.pk, lead=lead, note=" ")

    case = gold_reopen(project=project, item_id=item.pk, lead=lead, note="Guidelines changed.")

    assert case.reason == Reason.REOPENED and case.status == Status.OPEN
    assert GoldLabel.objects.get(item=item, current=True) == gold  # stays until decided
    item.refresh_from_db()
    assert item.label_state == Item.LabelState.ADJUDICATION
    event = LabelEvent.objects.get(item=item, action="reopen")
    assert event.actor == lead and event.before["gold_label"] == gold.pk
    assert event.after == {"case": case.pk, "note": "Guidelines changed."}
    with pytest.raises(Conflict):
        gold_reopen(project=project, item_id=item.pk, lead=lead, note="again")
    # Dismissing the reopening keeps the gold label.
    case_dismiss(project=project, case_id=case.pk, lead=lead)
    item.refresh_from_db()
    assert item.label_state == Item.LabelState.GOLD


def test_gold_questions_change_through_their_own_service(project, lead):
    item = ItemFactory(project=project)
    gold_question_set(
        project=project, item_id=item.pk, lead=lead, category_ids=[cat(project, "Hate").pk]
    )

    with pytest.raises(Conflict):
        gold_override(
            project=project, item_id=item.pk, lead=lead, none_of_these=True, category_ids=[],
            rationale="r",
        )  # fmt: skip
    with pytest.raises(Conflict):
        gold_reopen(project=project, item_id=item.pk, lead=lead, note="n")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_leads_deciding_the_same_case_at_once_one_wins(project):
    leads = [member(project, Role.LEAD), member(project, Role.LEAD)]
    item = ItemFactory(project=project)
    case = disagreement(item)
    labels = [cat(project, "Hate").pk, cat(project, "Social Media").pk]
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def decide(i):
        try:
            barrier.wait(timeout=10)
            results[i] = case_decide(
                project=project,
                case_id=case.pk,
                lead=leads[i],
                category_ids=[labels[i]],
                rationale=f"lead {i}",
            )
        except Exception as exc:  # noqa: BLE001 (the test inspects what each thread got)
            results[i] = exc
        finally:
            connection.close()
            close_old_connections()

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    conflicts = [r for r in results if isinstance(r, Conflict)]
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 1 and len(conflicts) == 1, results
    assert conflicts[0].code == "case_closed"
    assert GoldLabel.objects.filter(item=item, source="adjudication").count() == 1
    assert GoldLabel.objects.get(item=item, current=True).pk == wins[0].gold.pk
    assert LabelEvent.objects.filter(item=item, action="case_close").count() == 1

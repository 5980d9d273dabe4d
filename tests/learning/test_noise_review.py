"""Reviewing label issues in the adjudication queue: confirm and relabel, dismiss, the same
label decided again; the issue follows its case; dismissed flags stay dismissed for the same
label and come back when the label changes; bad reviews change nothing."""

import pytest
from django.urls import reverse

from annotation.errors import Conflict, InvalidInput
from annotation.models import AdjudicationCase, GoldLabel, Item, LabelEvent
from annotation.services.adjudication import case_decide, case_dismiss, gold_override
from learning.models import LabelIssue, NoiseRun
from learning.services.noise import noise_run_execute, noise_run_request
from learning.services.noise_issues import (
    label_issue_confirm,
    label_issue_dismiss,
    label_issue_sync,
)
from tests.factories import noisy_gold

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_folds(settings):
    settings.GOLDSET = {**settings.GOLDSET, "LEARNING_NOISE_FOLDS": 3}


def check(project) -> NoiseRun:
    run, created = noise_run_request(project=project, trigger="manual")
    assert created
    run = noise_run_execute(run_id=run.pk)
    assert run.status == NoiseRun.Status.DONE, run.error
    return run


@pytest.fixture
def flagged(project):
    """A single-label project whose three wrong gold labels are open issues."""
    project.multi_label = False
    project.save(update_fields=["multi_label"])
    data = noisy_gold(project, per_class=10, flips=3)
    check(project)
    issues = list(LabelIssue.objects.select_related("case", "gold_label").order_by("item_id"))
    assert [i.item_id for i in issues] == [item.pk for item in data["flipped"]]
    return issues


def gold_ids(item_id) -> list[int]:
    gold = GoldLabel.objects.get(item_id=item_id, current=True)
    return sorted(gold.categories.values_list("pk", flat=True))


def test_confirm_on_the_case_page_relabels_audits_and_confirms_the_issue(
    client, project, lead, flagged
):
    issue = flagged[0]
    before = issue.gold_label
    client.force_login(lead)

    # The lead accepts the suggestion with the one-key form of the case page
    url = reverse("adjudication-case", args=[project.slug, issue.case_id])
    page = client.get(url).content.decode()
    assert 'id="accept-suggestion"' in page
    response = client.post(
        url,
        {"action": "decide", "categories": issue.suggested, "rationale": "the text says so"},
    )

    assert response.status_code == 302
    # the gold label changed to the suggestion; the old one is history
    assert gold_ids(issue.item_id) == issue.suggested
    before.refresh_from_db()
    assert before.current is False and before.superseded_at is not None
    new = GoldLabel.objects.get(item_id=issue.item_id, current=True)
    assert new.source == "adjudication" and new.decided_by == lead
    assert new.rationale == "the text says so"
    # audited like any gold change: the gold event with before and after, the case closing
    event = LabelEvent.objects.get(item_id=issue.item_id, action="gold")
    assert event.actor == lead
    assert (
        event.before["categories"] == issue.given and event.after["categories"] == issue.suggested
    )
    assert event.after["cases"] == [issue.case_id]
    assert LabelEvent.objects.filter(item_id=issue.item_id, action="case_close").exists()
    # the case is resolved and the issue confirmed, by this lead
    issue.refresh_from_db()
    assert issue.case.status == "resolved"
    assert issue.status == LabelIssue.Status.CONFIRMED and issue.resolution == "relabeled"
    assert issue.reviewed_by == lead and issue.reviewed_at is not None
    assert Item.objects.get(pk=issue.item_id).label_state == "gold"


def test_confirm_with_another_label_through_the_service(project, lead, flagged):
    issue = flagged[1]
    other = project.categories.exclude(pk__in=[*issue.given, *issue.suggested]).first()

    reviewed = label_issue_confirm(
        project=project, issue_id=issue.pk, lead=lead, category_ids=[other.pk],
        rationale="neither: it is about something else",
    )  # fmt: skip

    assert reviewed.issue.status == LabelIssue.Status.CONFIRMED
    assert reviewed.gold.current and gold_ids(issue.item_id) == [other.pk]


def test_dismiss_keeps_the_label_and_the_flag_does_not_come_back(project, lead, flagged):
    issue = flagged[0]
    label = gold_ids(issue.item_id)

    reviewed = label_issue_dismiss(
        project=project, issue_id=issue.pk, lead=lead, note="the label is right"
    )

    assert reviewed.issue.status == LabelIssue.Status.DISMISSED
    assert reviewed.issue.resolution == "dismissed" and reviewed.issue.reviewed_by == lead
    case = AdjudicationCase.objects.get(pk=issue.case_id)
    assert case.status == "dismissed" and case.note == "the label is right"
    assert case.gold_label_id == issue.gold_label_id
    assert gold_ids(issue.item_id) == label
    assert GoldLabel.objects.filter(item_id=issue.item_id).count() == 1
    assert Item.objects.get(pk=issue.item_id).label_state == "gold"

    # The next check flags the same item again, and it stays dismissed
    again = check(project)

    assert again.figures["outcomes"]["dismissed"] == 1
    assert LabelIssue.objects.filter(item_id=issue.item_id).count() == 1
    assert not AdjudicationCase.objects.filter(item_id=issue.item_id, status="open").exists()


def test_a_dismissed_flag_comes_back_when_the_gold_label_changes(project, lead, flagged):
    issue = flagged[0]
    label_issue_dismiss(project=project, issue_id=issue.pk, lead=lead)
    # a lead later sets yet another (still wrong) label on the item page
    other = project.categories.exclude(pk__in=[*issue.given, *issue.suggested]).first()
    gold_override(project=project, item_id=issue.item_id, lead=lead, category_ids=[other.pk],
                  rationale="second thoughts")  # fmt: skip

    again = check(project)

    assert again.figures["outcomes"].get("raised", 0) >= 1
    fresh = LabelIssue.objects.get(item_id=issue.item_id, status="open")
    assert fresh.given == [other.pk] and fresh.run == again
    assert fresh.gold_label_id != issue.gold_label_id
    assert AdjudicationCase.objects.get(pk=fresh.case_id).status == "open"


def test_dismissing_on_the_case_page_dismisses_the_issue(client, project, lead, flagged):
    issue = flagged[2]
    client.force_login(lead)
    url = reverse("adjudication-case", args=[project.slug, issue.case_id])

    response = client.post(url, {"action": "dismiss", "note": "fine as it is"})

    assert response.status_code == 302
    issue.refresh_from_db()
    assert issue.status == LabelIssue.Status.DISMISSED and issue.resolution == "dismissed"


def test_deciding_the_same_label_again_counts_as_a_dismissal(project, lead, flagged):
    issue = flagged[0]

    case_decide(project=project, case_id=issue.case_id, lead=lead, category_ids=issue.given,
                rationale="looked again: right as it was")  # fmt: skip

    issue.refresh_from_db()
    assert issue.status == LabelIssue.Status.DISMISSED and issue.resolution == "kept"
    # a new gold row with the same label: the flag still does not come back
    assert GoldLabel.objects.get(item_id=issue.item_id, current=True).pk != issue.gold_label_id
    again = check(project)
    assert again.figures["outcomes"]["dismissed"] == 1
    assert LabelIssue.objects.filter(item_id=issue.item_id).count() == 1


def test_sync_catches_up_with_cases_closed_without_save(project, lead, flagged):
    issue = flagged[0]
    case_dismiss(project=project, case_id=issue.case_id, lead=lead)
    # as if the issue had missed the signal (a bulk update closing cases)
    LabelIssue.objects.filter(pk=issue.pk).update(status="open", resolution="", reviewed_by=None)

    changed = label_issue_sync(project_id=project.pk)

    assert changed == 1
    issue.refresh_from_db()
    assert issue.status == "dismissed" and issue.reviewed_by == lead
    assert label_issue_sync(project_id=project.pk) == 0


def test_a_cancelled_case_withdraws_its_issue(project, flagged):
    issue = flagged[0]
    AdjudicationCase.objects.filter(pk=issue.case_id).update(status="cancelled")

    label_issue_sync(project_id=project.pk)

    issue.refresh_from_db()
    assert issue.status == LabelIssue.Status.WITHDRAWN and issue.resolution == "cancelled"
    # a gold label row is flagged once: the next check leaves it alone
    again = check(project)
    assert again.figures["outcomes"]["flagged_before"] == 1
    assert LabelIssue.objects.filter(item_id=issue.item_id).count() == 1


def _snapshot(issue):
    return (
        list(GoldLabel.objects.filter(item_id=issue.item_id).values_list("pk", "current")),
        AdjudicationCase.objects.get(pk=issue.case_id).status,
        LabelIssue.objects.get(pk=issue.pk).status,
        LabelEvent.objects.filter(item_id=issue.item_id).count(),
    )


@pytest.mark.parametrize(
    "change, error, code",
    [
        ({"category_ids": "same"}, InvalidInput, "same_label"),
        ({"category_ids": [999999]}, InvalidInput, "unknown_category"),
        ({"rationale": "  "}, InvalidInput, "rationale_required"),
        ({"category_ids": "two"}, InvalidInput, "single_label"),
    ],
)
def test_bad_confirmations_are_refused_and_nothing_changes(
    project, lead, flagged, change, error, code
):
    issue = flagged[0]
    ids = {"same": issue.given, "two": list(project.categories.values_list("pk", flat=True)[:2])}
    args = {"category_ids": None, "rationale": "because", **change}
    if isinstance(args["category_ids"], str):
        args["category_ids"] = ids[args["category_ids"]]
    before = _snapshot(issue)

    with pytest.raises(error) as raised:
        label_issue_confirm(project=project, issue_id=issue.pk, lead=lead, **args)

    assert raised.value.code == code
    assert _snapshot(issue) == before


def test_reviewing_twice_is_a_conflict_naming_who_reviewed(project, lead, flagged):
    issue = flagged[0]
    label_issue_dismiss(project=project, issue_id=issue.pk, lead=lead)
    before = _snapshot(issue)

    with pytest.raises(Conflict, match=f"already dismissed .* by {lead.username}"):
        label_issue_confirm(project=project, issue_id=issue.pk, lead=lead, rationale="x")
    with pytest.raises(Conflict):
        label_issue_dismiss(project=project, issue_id=issue.pk, lead=lead)

    assert _snapshot(issue) == before


def test_multi_label_confirm_sets_the_suggested_categories(project, lead):
    data = noisy_gold(project, per_class=12, flips=2)
    check(project)
    issue = LabelIssue.objects.get(item=data["flipped"][0])
    assert issue.given == [] and len(issue.suggested) == 1

    reviewed = label_issue_confirm(
        project=project, issue_id=issue.pk, lead=lead, rationale="missed positive"
    )

    assert reviewed.issue.status == "confirmed"
    gold = GoldLabel.objects.get(item=issue.item, current=True)
    assert sorted(gold.categories.values_list("pk", flat=True)) == issue.suggested
    assert gold.none_of_these is False

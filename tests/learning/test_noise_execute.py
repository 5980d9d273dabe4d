"""noise_run_execute: flags land in the adjudication queue (single-label, multi-label), the
multi-annotator figures, not enough data, duplicate delivery, gold labels that changed meanwhile,
gold questions, failures."""

import pytest

from annotation.models import AdjudicationCase, GoldLabel, Item, LabelEvent
from annotation.services.adjudication import gold_override
from learning.models import LabelIssue, NoiseRun
from learning.services.noise import noise_run_execute, noise_run_request
from tests.factories import ItemFactory, gold_label, member, noisy_gold

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_folds(settings):
    """Three folds: the synthetic classes have a dozen items each."""
    settings.GOLDSET = {**settings.GOLDSET, "LEARNING_NOISE_FOLDS": 3}


def check(project) -> NoiseRun:
    run, created = noise_run_request(project=project, trigger="manual")
    assert created
    return noise_run_execute(run_id=run.pk)


def single_label(project):
    project.multi_label = False
    project.save(update_fields=["multi_label"])
    return project


def test_single_label_flags_land_in_the_adjudication_queue(project):
    # Given a single-label project whose gold labels are right except five
    data = noisy_gold(single_label(project), per_class=12, flips=5)
    names = {c.pk: c.name for c in project.categories.all()}

    # When the gold labels are checked
    run = check(project)

    # Then exactly the five wrong labels are flagged, each an open issue with its case
    assert run.status == NoiseRun.Status.DONE, run.error
    assert run.gold_count == 72 and run.flagged_count == run.raised_count == 5
    assert run.figures["outcomes"] == {"raised": 5}
    issues = list(LabelIssue.objects.filter(run=run).select_related("case"))
    assert {i.item_id for i in issues} == {item.pk for item in data["flipped"]}
    truth = {item.pk: labels for item, labels in zip(data["items"], data["truth"], strict=True)}
    for issue in issues:
        case = issue.case
        gold = GoldLabel.objects.get(item_id=issue.item_id, current=True)
        given = sorted(gold.categories.values_list("pk", flat=True))
        # the suggestion is what the text says; the suspects are the given and the suggested
        assert issue.suggested == [c.pk for c in truth[issue.item_id]]
        assert issue.given == given and issue.gold_label_id == gold.pk
        assert set(issue.suspected_categories.values_list("pk", flat=True)) == {
            *given,
            *issue.suggested,
        }
        assert issue.status == LabelIssue.Status.OPEN and 0 <= issue.quality < 0.5
        # the case: reason label_error, open, with its score and the facts for the lead
        assert case.reason == AdjudicationCase.Reason.LABEL_ERROR and case.status == "open"
        assert case.details["label_issue"] == issue.pk and case.details["noise_run"] == 1
        assert case.details["score"] == pytest.approx(1 - issue.quality, abs=1e-6)
        assert case.details["quality"] == pytest.approx(issue.quality, abs=1e-6)
        assert case.details["suspected"] == sorted(
            {*given, *issue.suggested}, key=list(names).index
        )
        assert case.details["suggested"] == issue.suggested
        assert set(case.categories.values_list("pk", flat=True)) == set(case.details["suspected"])
        assert case.priority > 0
    # the items wait for a lead, and the opening is in the audit log
    assert set(
        Item.objects.filter(pk__in=[i.item_id for i in issues]).values_list(
            "label_state", flat=True
        )
    ) == {"adjudication"}
    opened = LabelEvent.objects.filter(action="case_open", item_id__in=[i.item_id for i in issues])
    assert opened.count() == 5
    assert {"syncing reviews", "reading", "cross-validating", "annotator quality",
            "raising issues", "total"} <= set(run.timings)  # fmt: skip


def test_multi_label_flags_name_the_wrong_categories(project):
    # Given a multi-label project where five items have one category bit wrong
    data = noisy_gold(project, per_class=12, flips=5)

    run = check(project)

    assert run.status == NoiseRun.Status.DONE, run.error
    issues = {i.item_id: i for i in LabelIssue.objects.filter(run=run)}
    flipped = {item.pk for item in data["flipped"]}
    # every wrong bit is found, and (separable data) nothing else
    assert set(issues) == flipped
    categories = list(project.categories.order_by("order", "id"))
    truth = {item.pk: labels for item, labels in zip(data["items"], data["truth"], strict=True)}
    for item_id, issue in issues.items():
        given = set(issue.given)
        right = {c.pk for c in truth[item_id]}
        # the suspected category is the toggled one, and the suggestion corrects it
        assert set(issue.suspected_categories.values_list("pk", flat=True)) == given ^ right
        assert set(issue.suggested) == right
        assert set(issue.per_category_quality) == {str(c.pk) for c in categories}
        assert issue.case.details["suggested"] == sorted(right)


def test_annotator_quality_ranks_the_careless_annotator_lowest(project):
    # Given two careful annotators and one who labels at random, on every gold item
    careful = [member(project, username="careful-a"), member(project, username="careful-b")]
    careless = member(project, username="careless")
    noisy_gold(project, per_class=10, flips=3, annotators=careful, careless=[careless])

    run = check(project)

    assert run.status == NoiseRun.Status.DONE, run.error
    figures = run.figures["annotators"]
    assert figures["available"] and figures["items"] == 60
    assert [a["username"] for a in figures["annotators"]] == ["careful-a", "careful-b", "careless"]
    assert all(a["items"] == 60 for a in figures["annotators"])
    assert len(figures["categories"]) == 5
    for category in figures["categories"]:
        quality = category["annotator_quality"]
        assert quality[str(careless.pk)] < min(quality[str(u.pk)] for u in careful)
        assert 0 <= category["consensus_quality"] <= 1


def test_single_label_annotator_quality_is_one_question(project):
    careful = [member(project), member(project)]
    careless = member(project)
    noisy_gold(single_label(project), per_class=8, flips=2, annotators=careful,
               careless=[careless])  # fmt: skip

    figures = check(project).figures["annotators"]

    assert figures["available"]
    [question] = figures["categories"]
    assert question["name"] == "Label (single-label)"
    quality = question["annotator_quality"]
    assert quality[str(careless.pk)] < min(quality[str(u.pk)] for u in careful)


def test_one_annotator_per_item_has_no_annotator_figures_and_still_checks(project):
    noisy_gold(project, per_class=10, flips=2, annotators=[member(project)])

    run = check(project)

    assert run.status == NoiseRun.Status.DONE
    assert run.figures["annotators"]["available"] is False
    assert "two or more annotators" in run.figures["annotators"]["note"]


@pytest.mark.parametrize("gold_items", [0, 4])
def test_too_few_labels_end_with_a_clear_message_not_a_crash(project, gold_items):
    violence, hate = project.categories.filter(name__in=["Violence", "Hate"]).order_by("order")
    for i in range(gold_items):
        gold_label(ItemFactory(project=project), [violence] if i % 2 else [hate])
    cases_before = AdjudicationCase.objects.count()

    run = check(project)

    assert run.status == NoiseRun.Status.NOT_ENOUGH_DATA
    assert run.error.startswith("Not enough gold labels to look for label errors")
    assert "a category needs at least 3 gold items with it and 3 without it" in run.error
    assert f"({gold_items} gold items;" in run.error
    assert run.finished_at is not None and run.phase == "not_enough_data"
    assert run.gold_count == gold_items
    assert not LabelIssue.objects.exists() and AdjudicationCase.objects.count() == cases_before
    # and the next request is not blocked by it
    assert noise_run_request(project=project, trigger="manual")[1]


def test_one_checkable_category_is_checked_not_failed(project):
    violence = project.categories.get(name="Violence")
    for i in range(8):
        gold_label(ItemFactory(project=project), [violence] if i % 2 else [])

    run = check(project)

    assert run.status == NoiseRun.Status.DONE, run.error


def test_single_label_with_one_class_is_not_enough_data(project):
    violence = project.categories.get(name="Violence")
    for _ in range(10):
        gold_label(ItemFactory(project=project, text="fight"), [violence])

    run = check(single_label(project))

    assert run.status == NoiseRun.Status.NOT_ENOUGH_DATA
    assert "at least two classes need 3 gold items each" in run.error


def test_a_second_delivery_does_the_work_once(project):
    noisy_gold(project, per_class=10, flips=3)
    run, _ = noise_run_request(project=project, trigger="manual")

    first = noise_run_execute(run_id=run.pk)
    again = noise_run_execute(run_id=run.pk)

    assert first.status == again.status == NoiseRun.Status.DONE
    assert again.finished_at == first.finished_at
    assert LabelIssue.objects.count() == first.raised_count == 3
    assert AdjudicationCase.objects.filter(reason="label_error").count() == 3


def test_a_second_check_keeps_open_issues_and_raises_nothing_twice(project):
    noisy_gold(project, per_class=10, flips=3)
    first = check(project)

    second = check(project)

    assert second.status == NoiseRun.Status.DONE
    assert second.raised_count == 0 and second.figures["outcomes"] == {"already_open": 3}
    assert LabelIssue.objects.filter(status="open").count() == first.raised_count == 3
    assert AdjudicationCase.objects.filter(reason="label_error", status="open").count() == 3


def test_a_gold_label_that_changed_since_it_was_read_is_skipped(project, lead, monkeypatch):
    data = noisy_gold(project, per_class=10, flips=3)
    moved = data["flipped"][0]
    from learning.services import noise as service

    real = service._check

    def relabel_meanwhile(run, clock, arrays):
        checked = real(run, clock, arrays)
        # a lead fixes the item while the check computes (no transaction open)
        gold_override(project=project, item_id=moved.pk, lead=lead, category_ids=[],
                      none_of_these=True, rationale="fixed by hand")  # fmt: skip
        return checked

    monkeypatch.setattr(service, "_check", relabel_meanwhile)

    run = check(project)

    assert run.figures["outcomes"] == {"raised": 2, "gold_changed": 1}
    assert not LabelIssue.objects.filter(item=moved).exists()
    assert not AdjudicationCase.objects.filter(item=moved, reason="label_error").exists()


def test_gold_questions_train_the_model_but_are_never_flagged(project):
    data = noisy_gold(project, per_class=10, flips=3)
    question = data["flipped"][0]
    Item.objects.filter(pk=question.pk).update(is_gold_question=True)

    run = check(project)

    assert run.flagged_count == 3 and run.gold_count == 60
    assert run.figures["outcomes"] == {"raised": 2, "gold_question": 1}
    assert not LabelIssue.objects.filter(item=question).exists()


def test_a_failure_is_recorded_and_nothing_is_raised(project, monkeypatch):
    noisy_gold(project, per_class=10, flips=3)

    def boom(*args, **kwargs):
        raise RuntimeError("cleanlab exploded")

    monkeypatch.setattr("learning.ml.noise.find_label_issues", boom)

    run = check(project)

    assert run.status == NoiseRun.Status.FAILED
    assert run.error == "RuntimeError: cleanlab exploded" and run.phase == "failed"
    assert not LabelIssue.objects.exists()
    assert not AdjudicationCase.objects.filter(reason="label_error").exists()

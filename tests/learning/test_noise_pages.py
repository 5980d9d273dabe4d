"""The label-noise review page, its progress fragment and "find label errors now"; the label
error on the adjudication case page (quality, suspects, the suggestion one key accepts)."""

import json

import pytest
from django.urls import reverse

from learning.models import LabelIssue, NoiseRun
from learning.services.noise import noise_run_execute, noise_run_request
from learning.services.noise_issues import label_issue_confirm, label_issue_dismiss
from tests.factories import ItemFactory, UserFactory, disagreement, gold_label, member, noisy_gold

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_folds(settings):
    settings.GOLDSET = {**settings.GOLDSET, "LEARNING_NOISE_FOLDS": 3}


def check(project) -> NoiseRun:
    run, _ = noise_run_request(project=project, trigger="manual")
    return noise_run_execute(run_id=run.pk)


@pytest.fixture
def reviewed(project, lead):
    """Four flags of a multi-label project with annotators: one confirmed, one dismissed,
    two open."""
    careful = [member(project, username="ann-a"), member(project, username="ann-b")]
    noisy_gold(project, per_class=10, flips=4, annotators=careful,
               careless=[member(project, username="ann-z")])  # fmt: skip
    run = check(project)
    assert run.status == "done" and run.raised_count == 4, run.error
    issues = list(LabelIssue.objects.order_by("quality", "id"))
    label_issue_confirm(project=project, issue_id=issues[0].pk, lead=lead, rationale="yes")
    label_issue_dismiss(project=project, issue_id=issues[1].pk, lead=lead)
    return issues


def _chart(html: str) -> dict:
    start = html.index('<script id="noise-data" type="application/json">') + 48
    return json.loads(html[start : html.index("</script>", start)])


def test_the_lead_page_shows_progress_figures_chart_annotators_and_open_issues(
    client, project, lead, reviewed
):
    client.force_login(lead)

    response = client.get(reverse("learning-noise", args=[project.slug]))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="find-label-errors"' in html and "noise.js" in html
    assert "Last check: 1" in html and "4 new issues raised" in html
    assert '<div class="stat" id="open-issues">2</div>' in html
    # one confirmed of two reviewed: 50 %, with its Wilson interval
    assert '<div class="stat" id="precision">50%</div>' in html
    assert "95% CI 0.09–0.91 · 2 reviewed" in html
    assert "2 of 4 issues reviewed: 1 confirmed and relabeled, 1 dismissed, 2 open" in html
    chart = _chart(html)
    assert sum(chart["open"]) == 2 and sum(chart["confirmed"]) == 1
    assert sum(chart["dismissed"]) == 1 and len(chart["labels"]) == len(chart["open"])
    # annotator quality by name for leads, the careless one lowest
    assert 'id="table-annotators"' in html and "ann-z" in html and "ann-a" in html
    # open issues link to their cases, most suspicious first
    open_issues = [i for i in reviewed if i.pk not in (reviewed[0].pk, reviewed[1].pk)]
    for issue in open_issues:
        assert f"/p/{project.slug}/adjudication/{issue.case_id}/" in html
    assert f"/adjudication/{reviewed[0].case_id}/" not in html
    assert f"/p/{project.slug}/adjudication/?reason=label_error" in html


def test_scientists_read_without_acting_or_seeing_names(client, project, scientist, reviewed):
    client.force_login(scientist)

    response = client.get(reverse("learning-noise", args=[project.slug]))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="find-label-errors"' not in html and "/adjudication/" not in html
    assert "ann-z" not in html and "Annotator 3" in html
    assert f"/p/{project.slug}/items/{reviewed[2].item_id}/" in html
    post = client.post(reverse("learning-noise-request", args=[project.slug]))
    assert post.status_code == 403


def test_annotators_never_see_the_flags(client, project, annotator):
    client.force_login(annotator)
    for name in ("learning-noise", "learning-noise-progress"):
        assert client.get(reverse(name, args=[project.slug])).status_code == 403
    assert client.post(reverse("learning-noise-request", args=[project.slug])).status_code == 403


def test_item_text_is_escaped_everywhere(client, project, lead):
    project.multi_label = False
    project.save()
    noisy_gold(project, per_class=10, flips=1)
    check(project)
    issue_item = LabelIssue.objects.get().item
    issue_item.text = "<script>alert(1)</script> " + issue_item.text
    issue_item.title = "<b>bold</b>"
    issue_item.save()
    client.force_login(lead)

    html = client.get(reverse("learning-noise", args=[project.slug])).content.decode()

    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html


def test_not_enough_data_is_a_clear_message_on_the_page(
    client, project, lead, django_capture_on_commit_callbacks
):
    gold_label(ItemFactory(project=project), [project.categories.first()])
    client.force_login(lead)

    # the task runs when the request commits (in-process, as in the embedded default)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("learning-noise-request", args=[project.slug]))
    response = client.get(response["Location"])

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="not-enough-data"' in html
    assert "Not enough gold labels to look for label errors" in html
    assert "1 gold items" in html and "Check 1" in html
    assert NoiseRun.objects.get().status == "not_enough_data"


def test_find_label_errors_now_runs_a_check_and_reports_it(
    client, project, lead, django_capture_on_commit_callbacks
):
    noisy_gold(project, per_class=10, flips=2)
    client.force_login(lead)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("learning-noise-request", args=[project.slug]))
    response = client.get(response["Location"])

    html = response.content.decode()
    # (the message was written before the test's on-commit callbacks ran the check; in the
    # embedded default the check has run by then and the message says what it found)
    assert "Check 1 queued." in html
    assert "60 gold labels checked: 2 flagged, 2 new issues raised." in html
    assert LabelIssue.objects.filter(status="open").count() == 2


def test_a_check_in_flight_polls_and_a_second_click_says_so(client, project, lead, monkeypatch):
    monkeypatch.setattr("learning.tasks.noise_run_task.delay", lambda run_id: None)
    run, _ = noise_run_request(project=project, trigger="manual")
    NoiseRun.objects.filter(pk=run.pk).update(status="running", phase="cross-validating",
                                              progress=0.4)  # fmt: skip
    client.force_login(lead)
    slug = project.slug

    page = client.get(reverse("learning-noise", args=[slug])).content.decode()
    fragment = client.get(reverse("learning-noise-progress", args=[slug])).content.decode()
    again = client.post(reverse("learning-noise-request", args=[slug]), follow=True)

    assert 'hx-get="/p/' in page and "cross-validating" in page and "disabled" in page
    assert 'hx-trigger="every 2s"' in fragment and 'aria-valuenow="40"' in fragment
    assert "Check 1 is already running." in again.content.decode()
    NoiseRun.objects.filter(pk=run.pk).update(status="done")
    ended = client.get(reverse("learning-noise-progress", args=[slug])).content.decode()
    assert "hx-trigger" not in ended and "Reload to see its results" in ended


def test_the_learning_page_links_to_the_review(client, project, scientist):
    client.force_login(scientist)
    html = client.get(reverse("learning", args=[project.slug])).content.decode()
    assert f'href="/p/{project.slug}/learning/noise/"' in html


def test_the_page_costs_a_fixed_number_of_queries(
    client, project, lead, reviewed, django_assert_num_queries
):
    client.force_login(lead)
    url = reverse("learning-noise", args=[project.slug])
    client.get(url)

    # session, user, project access, runs, latest finished run, counts, categories,
    # open issues, their suspected categories, the chart
    with django_assert_num_queries(10):
        client.get(url)
    check(project)  # more runs and flags: the same count
    with django_assert_num_queries(10):
        client.get(url)


# --- the adjudication case page -----------------------------------------------------------------


def test_a_label_error_case_shows_the_flag_and_the_one_key_suggestion(
    client, project, lead, reviewed
):
    issue = reviewed[2]
    client.force_login(lead)

    html = client.get(reverse("adjudication-case", args=[project.slug, issue.case_id])).content
    html = html.decode()

    assert 'id="label-error-flag"' in html and "Likely label error" in html
    assert f'<strong id="flag-quality">{issue.quality:.3f}</strong>' in html
    names = dict(project.categories.values_list("pk", "name"))
    suggested = html[html.index('id="flag-suggested"') :][:400]
    for pk in issue.suggested:
        assert names[pk] in suggested
    form = html[html.index('id="accept-suggestion"') : html.index("</form>", html.index(
        'id="accept-suggestion"'))]  # fmt: skip
    for pk in issue.suggested:
        assert f'name="categories" value="{pk}"' in form
    assert "Likely label error confirmed (label-noise check 1, label quality" in form
    assert "<kbd>U</kbd>" in html and "<kbd>Shift</kbd>+<kbd>D</kbd>" in html
    assert 'id="adj-dismiss"' in html


def test_other_cases_show_no_flag(client, project, lead):
    case = disagreement(ItemFactory(project=project))
    client.force_login(lead)

    html = client.get(reverse("adjudication-case", args=[project.slug, case.pk])).content.decode()

    assert 'id="label-error-flag"' not in html and 'id="accept-suggestion"' not in html


def test_a_reviewed_flag_shows_without_its_forms(client, project, lead, reviewed):
    client.force_login(lead)
    url = reverse("adjudication-case", args=[project.slug, reviewed[0].case_id])

    html = client.get(url).content.decode()

    assert 'id="label-error-flag"' in html and 'id="accept-suggestion"' not in html


@pytest.mark.django_db(transaction=True)
def test_in_the_embedded_default_the_button_reports_what_the_check_found(client, project, lead):
    # Committed requests: the eager task runs when the request's transaction commits, before
    # the view reads the run back.
    noisy_gold(project, per_class=10, flips=2)
    client.force_login(lead)

    response = client.post(reverse("learning-noise-request", args=[project.slug]), follow=True)

    html = response.content.decode()
    assert "Check 1 done: 2 flagged, 2 new issue(s) in the adjudication queue." in html


def test_the_admin_lists_checks_and_issues(client, project, reviewed):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for url in ("/admin/learning/noiserun/", "/admin/learning/labelissue/",
                f"/admin/learning/labelissue/{reviewed[0].pk}/change/"):  # fmt: skip
        assert client.get(url).status_code == 200

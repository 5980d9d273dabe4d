"""The label-noise API: checks (list, detail, request), issues (list with filters, detail),
confirm and dismiss, the summary; roles; bad input; query counts."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from annotation.models import AdjudicationCase, GoldLabel, LabelEvent
from learning.models import LabelIssue, NoiseRun
from learning.services.noise import noise_run_execute, noise_run_request
from tests.factories import member, noisy_gold

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_folds(settings):
    settings.GOLDSET = {**settings.GOLDSET, "LEARNING_NOISE_FOLDS": 3}


def api(user) -> Client:
    token, _ = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def base(project) -> str:
    return f"/api/projects/{project.slug}/learning/noise/"


def check(project) -> NoiseRun:
    run, _ = noise_run_request(project=project, trigger="manual")
    return noise_run_execute(run_id=run.pk)


@pytest.fixture
def flagged(project):
    """Single-label, three wrong gold labels flagged, with two annotators per item."""
    project.multi_label = False
    project.save(update_fields=["multi_label"])
    annotators = [member(project, username="ann-a"), member(project, username="ann-b")]
    noisy_gold(project, per_class=10, flips=3, annotators=annotators)
    run = check(project)
    assert run.raised_count == 3, run.error
    return list(LabelIssue.objects.order_by("quality", "id"))


def test_checks_are_listed_and_detailed(project, lead, scientist, flagged):
    body = api(scientist).get(base(project) + "runs/").json()

    [row] = body["results"]
    assert row["number"] == 1 and row["status"] == "done" and row["trigger"] == "manual"
    assert row["flagged_count"] == row["raised_count"] == 3 and row["gold_count"] == 60

    detail = api(scientist).get(base(project) + "runs/1/").json()
    assert detail["figures"]["outcomes"] == {"raised": 3}
    assert detail["parameters"]["folds"] == 3 and detail["timings"]["total"] > 0
    # scientists see annotators numbered, leads by name
    names = [a["username"] for a in detail["figures"]["annotators"]["annotators"]]
    assert names == ["Annotator 1", "Annotator 2"]
    lead_view = api(lead).get(base(project) + "runs/1/").json()
    assert [a["username"] for a in lead_view["figures"]["annotators"]["annotators"]] == [
        "ann-a", "ann-b"
    ]  # fmt: skip
    assert api(lead).get(base(project) + "runs/9/").status_code == 404


def test_a_lead_requests_a_check(project, lead, django_capture_on_commit_callbacks):
    noisy_gold(project, per_class=10, flips=2)

    with django_capture_on_commit_callbacks(execute=True):
        response = api(lead).post(base(project) + "runs/")

    assert response.status_code == 202
    assert response.json()["created"] is True and response.json()["run"]["number"] == 1
    assert NoiseRun.objects.get().status == "done"


def test_a_request_while_one_is_in_flight_returns_it(project, lead, monkeypatch):
    monkeypatch.setattr("learning.tasks.noise_run_task.delay", lambda run_id: None)
    noise_run_request(project=project, trigger="manual")

    response = api(lead).post(base(project) + "runs/")

    assert response.status_code == 200
    assert response.json() == {**response.json(), "created": False}
    assert response.json()["run"]["status"] == "queued"


def test_not_enough_data_reads_as_such(project, lead, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api(lead).post(base(project) + "runs/")

    row = api(lead).get(base(project) + "runs/1/").json()
    assert row["status"] == "not_enough_data"
    assert row["error"].startswith("Not enough gold labels to look for label errors")


def test_issues_are_listed_most_suspicious_first_with_filters(
    project, scientist, flagged, django_assert_num_queries
):
    client = api(scientist)
    client.get(base(project) + "issues/")

    # token, project access, category names, issues page, their suspected categories
    with django_assert_num_queries(5):
        body = client.get(base(project) + "issues/").json()

    rows = body["results"]
    assert [r["id"] for r in rows] == [i.pk for i in flagged]
    assert [r["quality"] for r in rows] == sorted(r["quality"] for r in rows)
    first = rows[0]
    issue = flagged[0]
    names = dict(project.categories.values_list("pk", "name"))
    assert first["item"] == issue.item_id and first["run"] == 1 and first["status"] == "open"
    assert first["given"] == issue.given and first["suggested"] == issue.suggested
    assert first["given_names"] == [names[c] for c in issue.given]
    assert first["suggested_names"] == [names[c] for c in issue.suggested]
    assert {c["id"] for c in first["suspected"]} == {*issue.given, *issue.suggested}
    assert first["case"] == issue.case_id and first["case_status"] == "open"
    assert first["text_snippet"] and first["external_id"]

    category = issue.suggested[0]
    filtered = client.get(base(project) + f"issues/?category={category}").json()["results"]
    assert issue.pk in {r["id"] for r in filtered}
    assert all(category in {c["id"] for c in r["suspected"]} for r in filtered)
    assert client.get(base(project) + "issues/?status=dismissed").json()["results"] == []
    assert len(client.get(base(project) + "issues/?run=1").json()["results"]) == 3
    bad = client.get(base(project) + "issues/?status=maybe")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_choice"


def test_one_issue_in_detail(project, scientist, flagged):
    issue = flagged[0]

    body = api(scientist).get(base(project) + f"issues/{issue.pk}/").json()

    assert body["id"] == issue.pk and body["gold_label"] == issue.gold_label_id
    assert api(scientist).get(base(project) + "issues/999999/").status_code == 404


def test_confirm_with_the_suggestion_relabels_and_audits(project, lead, flagged):
    issue = flagged[0]

    response = api(lead).post(
        base(project) + f"issues/{issue.pk}/confirm/",
        {"rationale": "the model is right"},
        content_type="application/json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["issue"]["status"] == "confirmed" and body["issue"]["resolution"] == "relabeled"
    assert body["issue"]["reviewed_by"] == lead.username
    assert [c["id"] for c in body["gold"]["categories"]] == issue.suggested
    assert body["gold"]["rationale"] == "the model is right"
    gold = GoldLabel.objects.get(item_id=issue.item_id, current=True)
    assert gold.pk == body["gold"]["id"] and gold.decided_by == lead
    assert LabelEvent.objects.filter(item_id=issue.item_id, action="gold", actor=lead).exists()


def test_confirm_with_none_of_these(project, lead, flagged):
    issue = flagged[1]

    body = (
        api(lead)
        .post(
            base(project) + f"issues/{issue.pk}/confirm/",
            {"categories": None, "none_of_these": True, "rationale": "about nothing"},
            content_type="application/json",
        )
        .json()
    )

    assert body["gold"]["none_of_these"] is True and body["gold"]["categories"] == []


def test_dismiss_keeps_the_label(project, lead, flagged):
    issue = flagged[0]

    response = api(lead).post(
        base(project) + f"issues/{issue.pk}/dismiss/",
        {"note": "right as it is"},
        content_type="application/json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["issue"]["status"] == "dismissed" and body["gold"] is None
    assert AdjudicationCase.objects.get(pk=issue.case_id).status == "dismissed"
    assert GoldLabel.objects.get(item_id=issue.item_id, current=True).pk == issue.gold_label_id


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"rationale": ""}, 400, "rationale_required"),
        ({"categories": [999999], "rationale": "x"}, 400, "unknown_category"),
        ({"categories": "abc", "rationale": "x"}, 400, "not_a_list"),
        ({"categories": "given", "rationale": "x"}, 400, "same_label"),
    ],
)
def test_bad_confirmations_say_why_and_change_nothing(project, lead, flagged, body, status, code):
    issue = flagged[0]
    if body.get("categories") == "given":
        body = {**body, "categories": issue.given}
    events = LabelEvent.objects.count()

    response = api(lead).post(
        base(project) + f"issues/{issue.pk}/confirm/", body, content_type="application/json"
    )

    assert response.status_code == status and response.json()["code"] == code
    assert response.json()["error"]
    issue.refresh_from_db()
    assert issue.status == "open" and LabelEvent.objects.count() == events
    assert GoldLabel.objects.get(item_id=issue.item_id, current=True).pk == issue.gold_label_id


def test_reviewing_a_reviewed_issue_is_a_conflict(project, lead, flagged):
    issue = flagged[0]
    url = base(project) + f"issues/{issue.pk}/"
    api(lead).post(url + "dismiss/", {}, content_type="application/json")

    again = api(lead).post(url + "confirm/", {"rationale": "x"}, content_type="application/json")

    assert again.status_code == 409 and again.json()["code"] == "issue_closed"
    assert api(lead).post(url + "dismiss/", {}, content_type="application/json").status_code == 409


def test_the_summary_counts_and_measures_precision(project, lead, scientist, flagged):
    url = base(project) + "issues/"
    api(lead).post(url + f"{flagged[0].pk}/dismiss/", {}, content_type="application/json")
    api(lead).post(url + f"{flagged[1].pk}/confirm/", {"rationale": "y"},
                   content_type="application/json")  # fmt: skip

    body = api(scientist).get(base(project)).json()

    assert body["counts"] == {"open": 1, "confirmed": 1, "dismissed": 1, "withdrawn": 0}
    assert body["precision"]["value"] == 0.5 and body["precision"]["n"] == 2
    assert 0 < body["precision"]["low"] < 0.5 < body["precision"]["high"] < 1
    assert body["latest"]["number"] == 1


def test_roles(project, annotator, scientist, flagged):
    issue = flagged[0]
    for path in ("", "runs/", "runs/1/", "issues/", f"issues/{issue.pk}/"):
        assert api(annotator).get(base(project) + path).status_code == 403
    for path in ("runs/", f"issues/{issue.pk}/confirm/", f"issues/{issue.pk}/dismiss/"):
        assert api(scientist).post(base(project) + path, {}).status_code == 403
    assert LabelIssue.objects.get(pk=issue.pk).status == "open"


def test_the_run_list_costs_a_fixed_number_of_queries(
    project, scientist, flagged, django_assert_num_queries
):
    check(project)
    client = api(scientist)
    client.get(base(project) + "runs/")

    # token, project access, runs page (requester and model run joined)
    with django_assert_num_queries(3):
        body = client.get(base(project) + "runs/").json()

    assert [r["number"] for r in body["results"]] == [2, 1]

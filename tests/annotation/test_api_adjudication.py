"""The consolidation and adjudication API: gold state, the case queue (cursor paging, filters,
query counts), a case (letters, names on request), decide / dismiss / reopen / override /
gold questions, errors, and blindness for annotators."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.models import AdjudicationCase, Category, GoldLabel, Item, LabelEvent
from annotation.services.adjudication import case_open
from tests.factories import ItemFactory, disagreement, member, submit

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def cat(project, name):
    return Category.objects.get(project=project, name=name)


def agreed(project, name="Hate"):
    item = ItemFactory(project=project)
    submit(item, member(project), [cat(project, name)])
    submit(item, member(project), [cat(project, name)])
    return item


def test_gold_state_for_leads_and_scientists_not_annotators(project, lead, scientist, annotator):
    item = agreed(project)
    url = f"/api/projects/{project.slug}/items/{item.pk}/gold/"

    body = client_for(scientist).get(url).json()

    assert body["label_state"] == "gold" and body["annotations_needed"] == 2
    assert body["gold"]["source"] == "consensus"
    assert body["gold"]["categories"] == [{"id": cat(project, "Hate").pk, "name": "Hate"}]
    assert len(body["history"]) == 1 and body["cases"] == []
    assert "annotations" not in body
    assert client_for(lead).get(url).status_code == 200
    assert client_for(annotator).get(url).status_code == 403
    assert client_for(lead).get(f"/api/projects/{project.slug}/items/0/gold/").status_code == 404


def test_case_list_cursor_pages_in_priority_order(project, lead):
    for _ in range(5):
        case_open(item_id=ItemFactory(project=project).pk, reason="label_error")
    client = client_for(lead)

    first = client.get(f"/api/projects/{project.slug}/adjudication/?page_size=3").json()
    second = client.get(first["next"]).json()

    rows = first["results"] + second["results"]
    assert len(first["results"]) == 3 and len(second["results"]) == 2 and second["next"] is None
    keys = [(-r["priority"], r["id"]) for r in rows]
    assert keys == sorted(keys) and len({r["id"] for r in rows}) == 5
    assert set(rows[0]["item"]) == {"id", "external_id", "label_state", "title", "text_snippet"}


def test_case_list_filters(project, lead):
    hate_case = disagreement(
        ItemFactory(project=project),
        first=[cat(project, "Hate")],
        second=[cat(project, "Violence")],
    )
    flagged = case_open(item_id=ItemFactory(project=project).pk, reason="label_error").case
    client = client_for(lead)
    url = f"/api/projects/{project.slug}/adjudication/"

    by_reason = client.get(url, {"reason": "label_error"}).json()["results"]
    by_category = client.get(url, {"category": cat(project, "Hate").pk}).json()["results"]
    bad = client.get(url, {"reason": "whim"})

    assert [r["id"] for r in by_reason] == [flagged.pk]
    assert [r["id"] for r in by_category] == [hate_case.pk]
    assert bad.status_code == 400 and bad.json()["error"].startswith("reason")
    client.post(f"{url}{flagged.pk}/decide/", {"none_of_these": True, "rationale": "r"})
    closed = client.get(url, {"status": "resolved"}).json()["results"]
    assert [r["id"] for r in closed] == [flagged.pk]
    assert len(client.get(url, {"status": "all"}).json()["results"]) == 2


@pytest.mark.parametrize("n", [2, 8])
def test_case_list_query_count_is_constant(django_assert_num_queries, project, lead, n):
    for _ in range(n):
        disagreement(ItemFactory(project=project))
    client = client_for(lead)

    # token, project access, the cases with their items, their categories
    with django_assert_num_queries(4):
        response = client.get(f"/api/projects/{project.slug}/adjudication/")

    assert len(response.json()["results"]) == n


def test_case_detail_letters_and_names(project, lead):
    item = ItemFactory(project=project, text="<b>hi</b>")
    submit(item, member(project, username="dora"), [cat(project, "Hate")], comment="c1")
    submit(item, member(project, username="eve"), [cat(project, "Violence")], time_spent_ms=900)
    case = AdjudicationCase.objects.get(item=item)
    client = client_for(lead)
    url = f"/api/projects/{project.slug}/adjudication/{case.pk}/"

    blind = client.get(url).json()
    named = client.get(url, {"names": "1"}).json()

    assert [a["annotator"] for a in blind["annotations"]] == ["A", "B"]
    assert [a["name"] for a in blind["annotations"]] == [None, None]
    assert "dora" not in str(blind)
    assert [a["name"] for a in named["annotations"]] == ["dora", "eve"]
    assert blind["annotations"][0]["comment"] == "c1"
    assert blind["annotations"][1]["time_spent_ms"] == 900
    assert blind["item"]["text"] == "<b>hi</b>"  # JSON carries it as data; pages escape it
    assert blind["case"]["reason"] == "disagreement" and blind["gold"] is None
    assert client.get(f"/api/projects/{project.slug}/adjudication/999999/").status_code == 404


def test_decide_then_conflict(project, lead):
    case = disagreement(ItemFactory(project=project))
    client = client_for(lead)
    url = f"/api/projects/{project.slug}/adjudication/{case.pk}/decide/"
    body = {"categories": [cat(project, "Hate").pk], "rationale": "Slur.", "guideline_ref": "§3"}

    response = client.post(url, body, format="json")

    assert response.status_code == 200
    data = response.json()
    assert data["gold"]["source"] == "adjudication" and data["resolved_cases"] == [case.pk]
    assert data["gold"]["decided_by"] == lead.username and data["gold"]["guideline_ref"] == "§3"
    again = client.post(url, body, format="json")
    assert again.status_code == 409 and again.json()["code"] == "case_closed"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"categories": [999999], "rationale": "r"}, 400, "unknown_category"),
        ({"categories": [], "rationale": "r"}, 400, "empty_label"),
        ({"none_of_these": True, "rationale": ""}, 400, "rationale_required"),
        ({"categories": "x", "rationale": "r"}, 400, "not_a_list"),
    ],
)
def test_bad_decisions_are_clear_errors_and_change_nothing(project, lead, body, status, code):
    case = disagreement(ItemFactory(project=project))
    events = LabelEvent.objects.count()

    response = client_for(lead).post(
        f"/api/projects/{project.slug}/adjudication/{case.pk}/decide/", body, format="json"
    )

    assert response.status_code == status and response.json()["code"] == code
    case.refresh_from_db()
    assert case.status == "open" and not GoldLabel.objects.filter(item=case.item).exists()
    assert LabelEvent.objects.count() == events


def test_dismiss_reopen_override_and_gold_question(project, lead):
    item = agreed(project)
    client = client_for(lead)
    base = f"/api/projects/{project.slug}"

    reopened = client.post(f"{base}/items/{item.pk}/reopen/", {"note": "Check."}, format="json")
    assert reopened.status_code == 201 and reopened.json()["reason"] == "reopened"
    dup = client.post(f"{base}/items/{item.pk}/reopen/", {"note": "Again."}, format="json")
    assert dup.status_code == 409
    dismissed = client.post(f"{base}/adjudication/{reopened.json()['id']}/dismiss/", {})
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    assert client.post(f"{base}/items/{item.pk}/reopen/", {}).status_code == 400

    override = client.post(
        f"{base}/items/{item.pk}/gold/",
        {"none_of_these": True, "rationale": "Harmless."},
        format="json",
    )
    assert override.status_code == 200 and override.json()["gold"]["none_of_these"]

    fresh = ItemFactory(project=project)
    marked = client.post(
        f"{base}/items/{fresh.pk}/gold-question/",
        {"is_gold_question": True, "categories": [cat(project, "Violence").pk]},
        format="json",
    )
    assert marked.status_code == 200
    assert marked.json()["is_gold_question"] and marked.json()["gold"]["source"] == "known"
    unmarked = client.post(
        f"{base}/items/{fresh.pk}/gold-question/", {"is_gold_question": False}, format="json"
    )
    assert unmarked.status_code == 200 and not unmarked.json()["is_gold_question"]
    assert Item.objects.get(pk=fresh.pk).open_slots == project.overlap
    not_one = client.post(
        f"{base}/items/{fresh.pk}/gold-question/", {"is_gold_question": False}, format="json"
    )
    assert not_one.status_code == 409


def test_a_disagreement_cannot_be_dismissed_over_the_api(project, lead):
    case = disagreement(ItemFactory(project=project))

    response = client_for(lead).post(
        f"/api/projects/{project.slug}/adjudication/{case.pk}/dismiss/", {}
    )

    assert response.status_code == 409 and response.json()["code"] == "not_dismissible"


def test_annotators_and_scientists_never_reach_cases(project, annotator, scientist):
    case = disagreement(ItemFactory(project=project))
    base = f"/api/projects/{project.slug}/adjudication/"
    for user in (annotator, scientist):
        client = client_for(user)
        assert client.get(base).status_code == 403
        assert client.get(f"{base}{case.pk}/").status_code == 403
        decide = client.post(f"{base}{case.pk}/decide/", {"none_of_these": True, "rationale": "r"})
        assert decide.status_code == 403
    case.refresh_from_db()
    assert case.status == "open"


def test_schema_documents_the_adjudication_paths(project, lead):
    schema = client_for(lead).get("/api/schema/").content.decode()

    for path in (
        "/api/projects/{slug}/adjudication/",
        "/api/projects/{slug}/adjudication/{case_id}/decide/",
        "/api/projects/{slug}/items/{item_id}/gold/",
        "/api/projects/{slug}/items/{item_id}/gold-question/",
    ):
        assert path in schema

"""Agreement and annotator-quality API: bodies per role, empty and pending states, recompute,
query counts, schema."""

import json

import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.models import AgreementSnapshot
from annotation.services.agreement import agreement_snapshot_compute
from tests.factories import ItemFactory, UserFactory, annotate, gold_label

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_bootstrap():
    with override_settings(GOLDSET={"AGREEMENT_BOOTSTRAP": 100}):
        yield


def client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def url(project, tail):
    return f"/api/projects/{project.slug}/{tail}"


def label(project, users, rows):
    cats = {c.name: c for c in project.categories.all()}
    for names_per_user in rows:
        item = ItemFactory(project=project)
        for user, names in zip(users, names_per_user, strict=True):
            annotate(item, user, [cats[n] for n in names or []], none=names is None)


@pytest.fixture
def computed(project):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    label(
        project,
        [alice, bob],
        [[["Hate"], ["Hate"]], [None, ["Hate"]], [None, None], [["Violence"], ["Violence"]]],
    )
    return agreement_snapshot_compute(project_id=project.pk)


def test_agreement_for_a_lead(project, lead, computed):
    response = client_for(lead).get(url(project, "agreement/"))

    assert response.status_code == 200
    body = response.json()
    assert body["snapshot"]["id"] == computed.pk and body["snapshot"]["status"] == "done"
    assert body["newer"] is None and body["multi_label"] is True
    assert body["counts"]["items"] == 4 and body["counts"]["annotators"] == 2
    names = [c["name"] for c in body["categories"]]
    assert names == [
        "Adult Content",
        "Violence",
        "Self-Harm",
        "Hate",
        "Social Media",
        "None of these",
    ]
    hate = body["categories"][3]
    assert set(hate["metrics"]) == {
        "alpha", "ac1", "cohen", "fleiss", "positive", "negative", "percent",
    }  # fmt: skip
    alpha = hate["metrics"]["alpha"]
    assert alpha["low"] <= alpha["value"] <= alpha["high"]
    assert hate["pooled"] == {
        "both_yes": 1, "one_yes": 1, "both_no": 2, "pairs": 4, "percent": 0.75,
    }  # fmt: skip
    (pair,) = hate["pairs"]
    assert {pair["a"], pair["b"]} == {"alice", "bob"} and pair["n"] == 4
    self_harm = body["categories"][2]["metrics"]["alpha"]
    assert self_harm["value"] is None and self_harm["reason"]
    assert set(body["set_level"]) == {"n_items", "jaccard", "masi"}
    json.loads(response.content, parse_constant=pytest.fail)  # no NaN / Infinity tokens


def test_agreement_for_a_scientist_has_no_per_pair_tables(project, scientist, computed):
    body = client_for(scientist).get(url(project, "agreement/")).json()
    assert body["categories"] and all("pairs" not in c for c in body["categories"])
    assert "alice" not in json.dumps(body)


def test_agreement_before_any_snapshot(project, scientist):
    pending = AgreementSnapshot.objects.create(project=project)

    body = client_for(scientist).get(url(project, "agreement/")).json()

    assert body["snapshot"] is None and body["categories"] == []
    assert body["newer"]["id"] == pending.pk and body["newer"]["status"] == "pending"
    assert body["set_level"] is None


def test_annotators_for_a_lead(project, lead, computed):
    hate = project.categories.get(name="Hate")
    dave = UserFactory(username="dave")
    for k in range(5):
        item = ItemFactory(project=project, is_gold_question=True, open_slots=0)
        gold_label(item, [hate], source="known")
        annotate(item, dave, [hate] if k else [], none=not k)
    agreement_snapshot_compute(project_id=project.pk)

    response = client_for(lead).get(url(project, "annotators/"))

    assert response.status_code == 200
    body = response.json()
    assert body["gold_alert_threshold"] == 0.8
    rows = {a["username"]: a for a in body["annotators"]}
    assert set(rows) == {"alice", "bob", "dave"}
    gq = rows["dave"]["gold_questions"]
    assert (gq["n"], gq["correct"], gq["accuracy"], gq["alert"]) == (5, 4, 0.8, False)
    assert rows["alice"]["peers"]["pairs"] == 4 and rows["alice"]["annotations"] == 4
    hate_key = f"c{hate.pk}"
    assert rows["alice"]["peers"]["per_class"][hate_key]["n"] == 4


@pytest.mark.parametrize("role", ["scientist", "annotator"])
def test_annotators_are_for_leads_only(project, computed, role, request):
    user = request.getfixturevalue(role)
    assert client_for(user).get(url(project, "annotators/")).status_code == 403


def test_annotator_cannot_read_agreement(project, annotator, computed):
    response = client_for(annotator).get(url(project, "agreement/"))
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_recompute_queues_a_snapshot(project, lead, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(lead).post(url(project, "agreement/recompute/"))
    assert response.status_code == 202
    assert response.json()["status"] == "pending" and len(callbacks) == 1
    again = client_for(lead).post(url(project, "agreement/recompute/"))
    assert again.json()["id"] == response.json()["id"]  # joins the pending one
    assert AgreementSnapshot.objects.filter(project=project).count() == 1


def test_recompute_without_a_worker_computes_on_commit(
    project, lead, computed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(lead).post(url(project, "agreement/recompute/"))
    assert response.status_code == 202
    # (Outside tests the commit comes before the answer, which then says "done".)
    snapshot = AgreementSnapshot.objects.get(pk=response.json()["id"])
    assert snapshot.status == "done" and snapshot.pk != computed.pk


def test_recompute_is_for_leads_only(project, scientist):
    response = client_for(scientist).post(url(project, "agreement/recompute/"))
    assert response.status_code == 403
    assert not AgreementSnapshot.objects.exists()


def test_unknown_project_is_404(lead):
    assert client_for(lead).get("/api/projects/nope/agreement/").status_code == 404


@pytest.mark.parametrize(
    "tail,queries",
    [
        ("agreement/", 4),  # token, project access, newest done snapshot, newest row after it
        ("annotators/", 3),  # token, project access, newest done snapshot
    ],
)
def test_query_count_does_not_grow_with_data(
    project, lead, computed, tail, queries, django_assert_num_queries
):
    client = client_for(lead)
    with django_assert_num_queries(queries) as small:
        client.get(url(project, tail))
    more = [UserFactory() for _ in range(3)]
    label(project, more, [[["Hate"], None, ["Violence"]]] * 10)
    agreement_snapshot_compute(project_id=project.pk)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(url(project, tail))
    assert response.status_code == 200


def test_schema_documents_the_endpoints(lead):
    text = client_for(lead).get("/api/schema/").content.decode()
    for path in (
        "/api/projects/{slug}/agreement/:",
        "/api/projects/{slug}/agreement/recompute/:",
        "/api/projects/{slug}/annotators/:",
    ):
        assert path in text
    assert "Krippendorff" in text

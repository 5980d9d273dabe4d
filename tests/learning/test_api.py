"""The learning API: runs, picks, settings, seeds and retrain."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from annotation.models import Category
from learning.models import KeywordSeed, LearningConfig, ModelRun, PickedItem
from learning.services.execute import model_run_execute
from learning.services.runs import model_run_request

pytestmark = pytest.mark.django_db


def api(user) -> Client:
    token, _ = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def base(project) -> str:
    return f"/api/projects/{project.slug}/learning/"


def _run(project):
    run, _ = model_run_request(project=project, trigger="manual")
    return model_run_execute(run_id=run.pk)


def test_runs_are_listed_newest_first(data, scientist, django_assert_num_queries):
    first = _run(data.project)
    second = _run(data.project)
    client = api(scientist)
    client.get(base(data.project) + "runs/")

    # token, project access, runs page
    with django_assert_num_queries(3):
        body = client.get(base(data.project) + "runs/").json()

    assert [r["number"] for r in body["results"]] == [second.number, first.number]
    row = body["results"][0]
    assert row["status"] == "done" and row["trigger"] == "manual" and row["mode"] == "model"
    assert row["gold_count"] == 60 and row["pool_size"] == second.pool_size
    assert row["macro_f1"] == pytest.approx(second.metrics["macro_f1"])
    assert body["next"] is None


def test_a_run_in_detail(data, lead):
    run = _run(data.project)

    body = api(lead).get(base(data.project) + f"runs/{run.number}/").json()

    assert body["categories"][2] == {"id": data.categories["Self-Harm"].pk, "name": "Self-Harm"}
    assert len(body["metrics"]["per_category"]) == 5
    assert body["parameters"]["batch_size"] == 100 and body["seed"] == run.seed
    assert body["timings"]["total"] > 0 and body["artifact_size"] > 0
    summary = {row["reason"]: row for row in body["pick_summary"]}
    assert sum(row["picked"] for row in summary.values()) == run.picked_count
    total_pi = sum(
        PickedItem.objects.filter(run=run).values_list("inclusion_probability", flat=True)
    )
    assert sum(row["inclusion_sum"] for row in summary.values()) == pytest.approx(total_pi)


def test_a_runs_picks_in_serving_order(data, lead, django_assert_num_queries):
    run = _run(data.project)
    client = api(lead)
    url = base(data.project) + f"runs/{run.number}/picks/?page_size=30"
    client.get(url)

    # token, access, run, picks page
    with django_assert_num_queries(4):
        body = client.get(url).json()

    assert [p["rank"] for p in body["results"]] == list(range(30))
    pick = body["results"][0]
    stored = PickedItem.objects.get(run=run, rank=0)
    assert pick["item"] == stored.item_id and pick["reason"] == stored.reason
    assert pick["inclusion_probability"] == pytest.approx(stored.inclusion_probability)
    assert pick["label_state"] == "pending" and pick["annotation_count"] == 0
    assert body["next"]


def test_unknown_runs_are_404(project, lead):
    for url in ("runs/3/", "runs/3/picks/"):
        response = api(lead).get(base(project) + url)
        assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_retrain_queues_once(project, lead, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr("learning.tasks.model_run_task.delay", sent.append)
    client = api(lead)

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(base(project) + "retrain/")
    second = client.post(base(project) + "retrain/")

    assert first.status_code == 202 and first.json()["created"] is True
    assert first.json()["run"]["status"] == "queued" and first.json()["run"]["requested_by"]
    assert second.status_code == 200 and second.json()["created"] is False
    assert second.json()["run"]["number"] == 1
    assert sent == [ModelRun.objects.get().pk]


def test_retrain_without_categories_is_400(project, lead):
    Category.objects.filter(project=project).update(active=False)

    response = api(lead).post(base(project) + "retrain/")

    assert response.status_code == 400 and "no active category" in response.json()["error"]
    assert not ModelRun.objects.exists()


def test_settings_read_and_replaced(project, lead, scientist):
    body = api(scientist).get(base(project) + "config/").json()
    assert body["batch_size"] == 100 and body["audit_floor"] == 0.1

    body["batch_size"] = 40
    body["share_rare"], body["share_boundary"] = 0.6, 0.2  # multi-label defaults
    response = api(lead).put(base(project) + "config/", body, content_type="application/json")

    assert response.status_code == 200, response.json()
    assert response.json()["batch_size"] == 40
    assert LearningConfig.objects.get(project=project).share_rare == 0.6


def test_put_needs_every_field_and_patch_any(project, lead):
    client = api(lead)

    incomplete = client.put(
        base(project) + "config/", {"batch_size": 5}, content_type="application/json"
    )
    patched = client.patch(
        base(project) + "config/", {"batch_size": 5}, content_type="application/json"
    )

    assert incomplete.status_code == 400 and "fields" in incomplete.json()
    assert patched.status_code == 200 and patched.json()["batch_size"] == 5


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"share_rare": 0.9}, "must add up to 1"),
        ({"share_audit": 0.0, "share_rare": 0.7}, "audit share must be at least"),
        ({"batch_size": 0}, "Batch size must be between 1 and 10000"),
        ({"batch_size": "many"}, "batch_size: A valid integer is required."),
    ],
)
def test_bad_settings_are_400_and_change_nothing(project, lead, body, message):
    response = api(lead).patch(base(project) + "config/", body, content_type="application/json")

    assert response.status_code == 400 and message in response.json()["error"]
    assert not LearningConfig.objects.exists()


def test_seeds_read_and_replaced(project, lead, scientist):
    hate = Category.objects.get(project=project, name="Hate")
    violence = Category.objects.get(project=project, name="Violence")
    KeywordSeed.objects.create(project=project, category=violence, keywords="gun")

    response = api(lead).put(
        base(project) + "seeds/",
        {"seeds": [{"category_id": hate.pk, "keywords": ["slur", " vermin "]}]},
        content_type="application/json",
    )

    assert response.status_code == 200
    rows = {
        r["category"]: r["keywords"] for r in api(scientist).get(base(project) + "seeds/").json()
    }
    assert rows["Hate"] == ["slur", "vermin"] and rows["Violence"] == []


def test_bad_seeds_are_400_and_change_nothing(project, lead):
    violence = Category.objects.get(project=project, name="Violence")
    KeywordSeed.objects.create(project=project, category=violence, keywords="gun")

    response = api(lead).put(
        base(project) + "seeds/",
        {"seeds": [{"category_id": 987654, "keywords": ["x"]}]},
        content_type="application/json",
    )

    assert response.status_code == 400 and "No category 987654" in response.json()["error"]
    assert KeywordSeed.objects.get().keywords == "gun"


def test_the_schema_describes_the_learning_api(client, lead):
    client.force_login(lead)

    schema = client.get("/api/schema/").content.decode()

    for path in ("learning/runs/", "learning/config/", "learning/seeds/", "learning/retrain/",
                 "learning/runs/{number}/picks/"):  # fmt: skip
        assert path in schema

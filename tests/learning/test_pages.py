"""The active-learning pages: runs with charts, a run's picks, progress, retrain, settings."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from annotation.models import Category, Item
from learning.models import KeywordSeed, LearningConfig, ModelRun
from learning.services.execute import model_run_execute
from learning.services.runs import model_run_request
from tests.factories import ItemFactory, gold_label

pytestmark = pytest.mark.django_db


def _run(project):
    run, _ = model_run_request(project=project, trigger="manual")
    return model_run_execute(run_id=run.pk)


def _chart_data(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="learning-data" type="application/json">') + 51
    return json.loads(html[start : html.index("</script>", start)])


def test_the_runs_page_shows_runs_metrics_and_the_learning_curve(client, data, lead):
    first = _run(data.project)
    more = ItemFactory.create_batch(10, project=data.project, text="fight blood gun attack")
    for item in more:
        gold_label(item, [data.categories["Violence"]])
    second = _run(data.project)
    client.force_login(lead)

    response = client.get(reverse("learning", args=[data.project.slug]))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="chart-metrics"' in html and 'id="chart-curve"' in html
    assert 'id="retrain"' in html and "learning.js" in html
    chart = _chart_data(response)
    assert chart["metrics"]["run"] == second.number
    assert chart["metrics"]["labels"][2] == "Self-Harm"
    assert chart["curve"]["gold"] == [first.gold_count, second.gold_count] == [60, 70]
    assert chart["curve"]["macro_f1"] == [first.metrics["macro_f1"], second.metrics["macro_f1"]]
    assert [c["name"] for c in chart["curve"]["categories"]][:2] == ["Adult Content", "Violence"]
    assert len(chart["curve"]["categories"][0]["f1"]) == 2
    assert f'href="/p/{data.project.slug}/learning/runs/2/"' in html


def test_scientists_read_but_cannot_retrain_or_change_settings(client, data, scientist):
    _run(data.project)
    client.force_login(scientist)

    response = client.get(reverse("learning", args=[data.project.slug]))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="retrain"' not in html and "learning/settings/" not in html
    assert client.post(reverse("learning-retrain", args=[data.project.slug])).status_code == 403
    assert client.get(reverse("learning-settings", args=[data.project.slug])).status_code == 403


def test_annotators_never_see_the_model(client, data, annotator):
    run = _run(data.project)
    client.force_login(annotator)
    slug = data.project.slug

    for url in (
        reverse("learning", args=[slug]),
        reverse("learning-progress", args=[slug]),
        reverse("learning-run", args=[slug, run.number]),
    ):
        assert client.get(url).status_code == 403
    annotate_page = client.get(reverse("annotate", args=[slug])).content.decode()
    assert "/learning/" not in annotate_page


def test_the_runs_page_costs_a_fixed_number_of_queries(
    client, data, lead, django_assert_num_queries
):
    client.force_login(lead)
    url = reverse("learning", args=[data.project.slug])
    _run(data.project)
    client.get(url)

    # session, user, project access, runs, finished runs for the charts, settings
    with django_assert_num_queries(6):
        client.get(url)
    for _ in range(3):
        _run(data.project)
    with django_assert_num_queries(6):
        assert client.get(url).status_code == 200


def test_the_run_page_lists_picks_with_reason_and_probability(client, data, lead):
    run = _run(data.project)
    client.force_login(lead)

    response = client.get(reverse("learning-run", args=[data.project.slug, run.number]))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="table-picks"' in html and 'id="table-reasons"' in html
    assert html.count("<tr>", html.index('id="table-picks"')) >= run.picked_count
    for reason in ("audit", "rare", "boundary"):  # a multi-label project's default mix
        assert f'<th scope="row">{reason}</th>' in html
    assert "Self-Harm" in html and "Macro-F1" in html and "cross-validating" in html


def test_item_text_in_the_picks_is_escaped(client, project, lead):
    from tests.learning.conftest import build

    build(project, gold=30, pool=0)
    hostile = ItemFactory(project=project, text='<script>alert("x")</script><img src=x onerror=1>')
    run = _run(project)
    assert Item.objects.get(pk=hostile.pk).selection_run_id == run.pk  # the only pool item
    client.force_login(lead)

    html = client.get(reverse("learning-run", args=[project.slug, run.number])).content.decode()

    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_picks_are_paged_by_rank(client, data, lead, django_assert_num_queries):
    run = _run(data.project)
    client.force_login(lead)
    url = reverse("learning-run", args=[data.project.slug, run.number])
    client.get(url)

    # session, user, access, run, reasons, picks
    with django_assert_num_queries(6):
        first = client.get(url, {"after": 9}).content.decode()
    assert ">10</td>" in first and ">9</td>" not in first.split('id="table-picks"')[1]
    assert client.get(url, {"after": "x"}).status_code == 200  # a bad cursor: the first page


def test_an_unknown_run_is_404(client, project, lead):
    client.force_login(lead)

    assert client.get(reverse("learning-run", args=[project.slug, 7])).status_code == 404


def test_a_failed_run_shows_its_error(client, project, lead):
    ModelRun.objects.create(
        project=project, number=1, trigger="manual", status="failed", error="ValueError: <b>x"
    )
    client.force_login(lead)

    html = client.get(reverse("learning-run", args=[project.slug, 1])).content.decode()

    assert 'id="run-error"' in html and "ValueError: &lt;b&gt;x" in html


def test_progress_polls_while_a_run_is_in_flight_and_stops_after(client, project, lead):
    client.force_login(lead)
    url = reverse("learning-progress", args=[project.slug])
    assert "No model run yet" in client.get(url).content.decode()

    run = ModelRun.objects.create(
        project=project, number=1, trigger="manual", status="running", phase="scoring",
        progress=0.4,
    )  # fmt: skip
    live = client.get(url).content.decode()
    assert 'hx-trigger="every 2s"' in live and "scoring" in live and 'aria-valuenow="40"' in live

    ModelRun.objects.filter(pk=run.pk).update(status="done")
    done = client.get(url).content.decode()
    assert "hx-trigger" not in done and "Reload to see its results" in done


def test_progress_says_when_a_running_runs_picks_are_already_in_the_queue(client, project, lead):
    client.force_login(lead)
    url = reverse("learning-progress", args=[project.slug])
    run = ModelRun.objects.create(
        project=project, number=1, trigger="manual", status="running", phase="scoring"
    )
    assert "new picks in the queue" not in client.get(url).content.decode()

    ModelRun.objects.filter(pk=run.pk).update(
        phase="cross-validating", picks_saved_at=timezone.now()
    )
    live = client.get(url).content.decode()

    assert "cross-validating" in live and "new picks in the queue" in live
    assert 'hx-trigger="every 2s"' in live


def test_a_done_run_with_an_error_shows_it(client, project, lead):
    client.force_login(lead)
    message = "Failed after its picks were saved (they stay in the queue): RuntimeError: x"
    ModelRun.objects.create(
        project=project, number=1, trigger="manual", status="done", error=message,
        picks_saved_at=timezone.now(), finished_at=timezone.now(),
    )  # fmt: skip

    page = client.get(reverse("learning-run", args=[project.slug, 1])).content.decode()
    progress = client.get(reverse("learning-progress", args=[project.slug])).content.decode()

    assert 'id="run-error"' in page and "they stay in the queue" in page
    assert "they stay in the queue" in progress


def test_retrain_now_queues_a_run_once(client, project, lead, django_capture_on_commit_callbacks):
    client.force_login(lead)
    url = reverse("learning-retrain", args=[project.slug])

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("learning", args=[project.slug])
    assert "Run 1 queued." in response.content.decode()
    assert len(callbacks) == 1

    again = client.post(url, follow=True).content.decode()
    assert "Run 1 is already queued." in again
    assert ModelRun.objects.count() == 1


def test_retrain_without_categories_says_why(client, project, lead):
    Category.objects.filter(project=project).update(active=False)
    client.force_login(lead)

    html = client.post(reverse("learning-retrain", args=[project.slug]), follow=True)

    assert "no active category" in html.content.decode()
    assert not ModelRun.objects.exists()


def _settings_post(project, **changes):
    hate = Category.objects.get(project=project, name="Hate")
    data = {
        "enabled": "on",
        "retrain_every_labels": "40",
        "retrain_every_minutes": "30",
        "batch_size": "150",
        "min_gold_labels": "20",
        "share_uncertainty": "0.3",
        "share_margin": "0",
        "share_entropy": "0",
        "share_multilabel": "0",
        "share_boundary": "0",
        "share_rare": "0.4",
        "share_audit": "0.3",
        "url_tokens": "on",
        "seed": "3",
        f"seeds_{hate.pk}": "slur\nvermin\n",
    }
    data.update(changes)
    return data


def test_leads_save_settings_and_seeds(client, project, lead):
    client.force_login(lead)
    url = reverse("learning-settings", args=[project.slug])
    assert client.get(url).status_code == 200

    response = client.post(url, _settings_post(project), follow=True)

    assert "Learning settings saved." in response.content.decode()
    config = LearningConfig.objects.get(project=project)
    assert config.batch_size == 150 and config.share_audit == 0.3 and not config.hashing
    assert KeywordSeed.objects.get().keyword_list() == ["slur", "vermin"]
    page = client.get(url).content.decode()
    assert "slur\nvermin</textarea>" in page


@pytest.mark.parametrize(
    ("changes", "message", "status"),
    [
        ({"share_rare": "0.5"}, "must add up to 1", 400),
        ({"share_audit": "0.05", "share_rare": "0.65"}, "audit share must be at least", 400),
        ({"batch_size": "lots"}, "Batch size: Enter a whole number.", 400),
    ],
)
def test_bad_settings_show_the_error_and_keep_the_old_ones(
    client, project, lead, changes, message, status
):
    client.force_login(lead)
    url = reverse("learning-settings", args=[project.slug])

    response = client.post(url, _settings_post(project, **changes))

    assert response.status_code == status
    assert message in response.content.decode()
    assert not LearningConfig.objects.exists() and not KeywordSeed.objects.exists()
    assert 'value="lots"' in response.content.decode() or "lots" not in str(changes)


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_retrain_now_reports_how_the_run_ended(client, project, lead):
    # Transactional: the request's commit really happens, and with it the eager task.
    from tests.learning.conftest import build

    build(project, gold=12, pool=10)
    client.force_login(lead)

    response = client.post(reverse("learning-retrain", args=[project.slug]), follow=True)

    assert "Run 1 done." in response.content.decode()
    assert ModelRun.objects.get().status == ModelRun.Status.DONE

"""The lead dashboard's agreement parts: what each role sees, edge cases without NaN, the
snapshot status and "recompute now", the backlog, escaping, and that a page view computes
nothing (bounded queries, no reads of the annotation tables)."""

import dataclasses
from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from annotation.models import AgreementSnapshot, Category, Project, Role
from annotation.services.agreement import agreement_snapshot_compute
from tests.factories import (
    CategoryFactory,
    ItemFactory,
    UserFactory,
    annotate,
    gold_label,
    items,
    member,
    open_case,
)

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture(autouse=True)
def _fast_bootstrap():
    with override_settings(GOLDSET={"AGREEMENT_BOOTSTRAP": 100}):
        yield


def dashboard(client, user, project):
    client.force_login(user)
    response = client.get(reverse("dashboard", args=[project.slug]))
    assert response.status_code == 200
    return response, response.content.decode()


def label_all(project, users, pattern):
    """pattern: per item, one list of category names per user (None: none of these)."""
    cats = {c.name: c for c in project.categories.all()}
    for labels in pattern:
        item = ItemFactory(project=project)
        for user, names in zip(users, labels, strict=True):
            annotate(item, user, [cats[n] for n in names or []], none=names is None)


@pytest.fixture
def labeled(project):
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    label_all(
        project,
        [alice, bob],
        [
            [["Adult Content"], ["Adult Content"]],
            [["Violence"], ["Adult Content"]],
            [None, None],
            [["Hate"], ["Hate"]],
            [None, ["Hate"]],
        ],
    )
    agreement_snapshot_compute(project_id=project.pk)
    return alice, bob


def test_lead_sees_agreement_table_chart_confusion_and_annotators(client, project, lead, labeled):
    response, body = dashboard(client, lead, project)

    panel = response.context["agreement"]
    assert panel.snapshot is not None and not panel.in_progress
    assert [row.name for row in panel.categories][:2] == ["Adult Content", "Violence"]
    assert 'id="table-agreement"' in body and 'id="chart-agreement"' in body
    assert 'id="agreement-data"' in body and "Krippendorff" in body and "Gwet" in body
    assert "Set-level α (Jaccard)" in body and "Set-level α (MASI)" in body
    assert 'id="confusion-category"' in body and "confusion-pairs" in body
    assert 'id="table-annotators"' in body and "alice" in body and "bob" in body
    assert 'id="table-annotator-categories"' in body
    assert 'id="table-gold-questions"' not in body  # nobody answered a gold question
    assert "Recompute now" in body
    adult = next(r for r in panel.categories if r.name == "Adult Content")
    assert adult.items == "5 (5)" and adult.prevalence == "30.0%"
    assert all(cell.text for cell in adult.cells)
    # The confusion shows the first category; its pair table names both annotators.
    assert panel.confusion.name == "Adult Content"
    (pair,) = panel.confusion.pairs
    assert (pair.a, pair.b) == ("alice", "bob") and pair.counts == ["5", "1", "0", "1", "3"]
    assert "NaN" not in body


def test_scientist_sees_categories_but_not_annotator_figures(client, project, scientist, labeled):
    response, body = dashboard(client, scientist, project)

    panel = response.context["agreement"]
    assert panel.categories and panel.annotators == []
    assert 'id="table-agreement"' in body and 'id="confusion-category"' in body
    assert 'id="table-annotators"' not in body and "confusion-pairs" not in body
    assert panel.confusion.pairs == [] and panel.confusion.pooled == ["1", "1", "3"]
    assert "Recompute now" not in body


def test_no_snapshot_yet(client, project, lead):
    response, body = dashboard(client, lead, project)
    assert response.context["agreement"].snapshot is None
    assert "No agreement figures yet" in body and 'id="table-agreement"' not in body
    assert "NaN" not in body


@pytest.mark.parametrize(
    "case",
    ["no annotations", "one annotator", "category nobody chose", "all agree"],
)
def test_edge_cases_render_not_enough_data_without_nan(client, project, lead, case):
    alice, bob = UserFactory(), UserFactory()
    if case == "one annotator":
        label_all(project, [alice], [[["Hate"]], [None], [["Hate"]]])
    elif case == "category nobody chose":
        label_all(project, [alice, bob], [[["Hate"], ["Hate"]], [None, ["Hate"]], [None, None]])
    elif case == "all agree":
        label_all(project, [alice, bob], [[["Hate"], ["Hate"]], [None, None], [None, None]])
    agreement_snapshot_compute(project_id=project.pk)

    response, body = dashboard(client, lead, project)

    assert "NaN" not in body and "nan" not in body.replace("nanosec", "")
    assert "Infinity" not in body
    assert "not enough data" in body
    self_harm = next(r for r in response.context["agreement"].categories if r.name == "Self-Harm")
    alpha = self_harm.cells[0]
    assert alpha.missing and alpha.text == "not enough data" and alpha.reason
    assert f'title="{alpha.reason}"' in body or alpha.reason.replace("'", "&#x27;") in body


def test_confusion_selector_fragment(client, project, lead, scientist, labeled):
    hate = Category.objects.get(project=project, name="Hate")
    url = reverse("agreement-confusion", args=[project.slug])

    client.force_login(lead)
    response = client.get(url, {"confusion": f"c{hate.pk}"})
    body = response.content.decode()
    assert response.status_code == 200 and 'id="confusion-block"' in body
    block = response.context["block"]
    assert block.name == "Hate" and block.pooled == ["1", "1", "3"]
    assert "confusion-pairs" in body and "alice" in body

    client.force_login(scientist)
    body = client.get(url, {"confusion": f"c{hate.pk}"}).content.decode()
    assert "confusion-pairs" not in body and "alice" not in body
    # An unknown key shows the first category instead of failing.
    assert client.get(url, {"confusion": "c0"}).context["block"].name == "Adult Content"


def test_dashboard_opens_on_the_requested_confusion_category(client, project, lead, labeled):
    hate = Category.objects.get(project=project, name="Hate")
    client.force_login(lead)
    response = client.get(reverse("dashboard", args=[project.slug]), {"confusion": f"c{hate.pk}"})
    assert response.context["agreement"].confusion.name == "Hate"
    assert f'<option value="c{hate.pk}" selected>' in response.content.decode()


def test_confusion_fragment_before_any_snapshot(client, project, lead):
    client.force_login(lead)
    response = client.get(reverse("agreement-confusion", args=[project.slug]))
    assert response.status_code == 200 and response.context["block"] is None


def test_snapshot_status_pending_running_failed(client, project, lead, labeled):
    newer = AgreementSnapshot.objects.create(project=project)
    _, body = dashboard(client, lead, project)
    assert "Recompute queued" in body and 'hx-trigger="every 2s"' in body

    AgreementSnapshot.objects.filter(pk=newer.pk).update(status="running")
    _, body = dashboard(client, lead, project)
    assert "Computing…" in body and 'hx-trigger="every 2s"' in body

    AgreementSnapshot.objects.filter(pk=newer.pk).update(status="failed", error=HOSTILE)
    response, body = dashboard(client, lead, project)
    assert "Last computation failed" in body and ESCAPED in body and HOSTILE not in body
    assert 'hx-trigger="every 2s"' not in body
    assert response.context["agreement"].snapshot is not None  # the last good figures stay


def test_recompute_now_computes_without_a_worker(
    client, project, lead, labeled, django_capture_on_commit_callbacks
):
    client.force_login(lead)
    url = reverse("agreement-recompute", args=[project.slug])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse(
        "dashboard", args=[project.slug]
    )
    assert AgreementSnapshot.objects.filter(project=project, status="done").count() == 2


def test_recompute_with_htmx_answers_the_status_fragment(
    client, project, lead, labeled, django_capture_on_commit_callbacks
):
    shown = AgreementSnapshot.objects.get(project=project).pk
    client.force_login(lead)
    url = reverse("agreement-recompute", args=[project.slug])
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(url, {"shown": shown}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and 'id="agreement-status"' in body
    assert "Recompute queued" in body and f"shown={shown}" in body
    assert "HX-Refresh" not in response


def test_status_fragment_asks_for_a_reload_when_new_figures_are_ready(
    client, project, scientist, labeled
):
    shown = AgreementSnapshot.objects.get(project=project).pk
    agreement_snapshot_compute(project_id=project.pk)
    client.force_login(scientist)
    url = reverse("agreement-status", args=[project.slug])

    fresh = client.get(url, {"shown": shown}, HTTP_HX_REQUEST="true")
    assert fresh.status_code == 200 and fresh["HX-Refresh"] == "true"
    newest = AgreementSnapshot.objects.filter(project=project).order_by("-id").first().pk
    same = client.get(url, {"shown": newest}, HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in same and "Recompute now" not in same.content.decode()


@pytest.mark.parametrize("role", [Role.SCIENTIST, Role.ANNOTATOR])
def test_only_leads_may_recompute(client, project, role):
    client.force_login(member(project, role))
    response = client.post(reverse("agreement-recompute", args=[project.slug]))
    assert response.status_code == 403
    assert not AgreementSnapshot.objects.exists()


def test_recompute_needs_post(client, project, lead):
    client.force_login(lead)
    response = client.get(reverse("agreement-recompute", args=[project.slug]))
    assert response.status_code == 405
    assert not AgreementSnapshot.objects.exists()


def test_gold_question_alert_is_visible(client, project, lead):
    project.gold_alert_threshold = 0.9
    project.save()
    hate = Category.objects.get(project=project, name="Hate")
    sloppy = UserFactory(username="sloppy")
    for k in range(6):
        item = ItemFactory(project=project, is_gold_question=True, open_slots=0)
        gold_label(item, [hate], source="known")
        annotate(item, sloppy, [hate] if k < 3 else [], none=k >= 3)
    agreement_snapshot_compute(project_id=project.pk)

    response, body = dashboard(client, lead, project)

    row = response.context["agreement"].annotators[0]
    assert row.username == "sloppy" and row.alert and row.gold_questions == "50.0%"
    assert "Below threshold" in body and "1 annotator below the gold-question" in body
    assert 'id="table-gold-questions"' in body and "50.0% ⚠" in body
    assert "whole label" in row.alert_text and "Hate" in row.alert_text


def test_backlog_counts_by_reason_and_oldest(client, project, lead):
    first, second, third = items(project, 3)
    open_case(first, "disagreement", when=timezone.now() - timedelta(days=3))
    open_case(second, "disagreement")
    open_case(third, "unsure")
    closed = open_case(ItemFactory(project=project), "label_error")
    closed.status = "resolved"
    closed.save()

    response, body = dashboard(client, lead, project)

    backlog = response.context["stats"].backlog
    assert backlog.open == 3
    assert [(r.reason, r.count) for r in backlog.reasons] == [("disagreement", 2), ("unsure", 1)]
    assert backlog.oldest < timezone.now() - timedelta(days=2)
    assert "3 open cases" in body and 'id="table-backlog"' in body
    if response.context["adjudication_url"]:
        assert f'href="{response.context["adjudication_url"]}"' in body


def test_hostile_names_in_agreement_parts_are_escaped(client, db):
    project = Project.objects.create(name="p", slug="hostile-agreement")
    CategoryFactory(project=project, name=HOSTILE, hotkey="1")
    lead_user = member(project, Role.LEAD)
    evil, other = UserFactory(username=HOSTILE), UserFactory()
    label_all(project, [evil, other], [[[HOSTILE], [HOSTILE]], [None, [HOSTILE]]])
    agreement_snapshot_compute(project_id=project.pk)

    _, body = dashboard(client, lead_user, project)

    assert HOSTILE not in body
    assert ESCAPED in body  # tables, selector, annotator names
    assert "\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E" in body  # chart JSON


def test_dashboard_reads_the_snapshot_and_computes_nothing(
    client, project, lead, labeled, django_assert_num_queries
):
    """With the progress figures cached, a page view is: session, user, project access, the
    newest done snapshot, the newest row after it. No annotation, gold or lease table is read,
    and the count does not grow with the data."""
    client.force_login(lead)
    url = reverse("dashboard", args=[project.slug])
    client.get(url)  # fills the 30 s progress cache
    with django_assert_num_queries(5) as small:
        client.get(url)
    touched = " ".join(q["sql"] for q in small.captured_queries)
    for table in ("annotation_annotation", "annotation_goldlabel", "annotation_assignment"):
        assert table not in touched

    more = [UserFactory() for _ in range(4)]
    label_all(project, more, [[["Hate"], ["Hate"], None, ["Violence"]]] * 15)
    agreement_snapshot_compute(project_id=project.pk)
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(url)


# --- progress figures: served from the cache, refreshed in the background ----------------------


def _age(project, minutes):
    """Make the cached progress bundle `minutes` old."""
    from annotation import stats

    cached = cache.get(stats.dashboard_cache_key(project))
    older = dataclasses.replace(cached, as_of=cached.as_of - timedelta(minutes=minutes))
    cache.set(stats.dashboard_cache_key(project), older, 3600)


@pytest.fixture
def with_broker():
    """Tasks are queued, not run in-process (as with a real broker); nothing is sent here."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = previous


def test_stale_progress_figures_are_refreshed_in_the_background(project, with_broker):
    from annotation import stats
    from annotation.tasks import dashboard_stats_refresh_task

    assert stats.dashboard_stats(project=project).states.total == 0  # first view computes
    items(project, 2)
    _age(project, 5)
    with mock.patch.object(dashboard_stats_refresh_task, "delay") as send:
        shown = stats.dashboard_stats(project=project)
        again = stats.dashboard_stats(project=project)
    assert shown.states.total == 0 and again.states.total == 0  # the older figures meanwhile
    send.assert_called_once_with(project.pk)  # one refresh per window, not one per view
    dashboard_stats_refresh_task(project.pk)  # what the worker runs
    assert stats.dashboard_stats(project=project).states.total == 2


def test_fresh_progress_figures_send_nothing(project, with_broker):
    from annotation import stats
    from annotation.tasks import dashboard_stats_refresh_task

    stats.dashboard_stats(project=project)
    with mock.patch.object(dashboard_stats_refresh_task, "delay") as send:
        stats.dashboard_stats(project=project)
    send.assert_not_called()


def test_broker_outage_still_shows_the_older_figures(project, with_broker):
    from annotation import stats
    from annotation.tasks import dashboard_stats_refresh_task

    stats.dashboard_stats(project=project)
    _age(project, 5)
    with mock.patch.object(dashboard_stats_refresh_task, "delay", side_effect=OSError("down")):
        assert stats.dashboard_stats(project=project).states.total == 0


def test_without_a_broker_stale_figures_are_recomputed_in_the_request(project):
    from annotation import stats

    stats.dashboard_stats(project=project)
    items(project, 3)
    _age(project, 5)
    assert stats.dashboard_stats(project=project).states.total == 3

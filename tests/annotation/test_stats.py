"""Dashboard figures and the items list page, on constructed data."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from annotation import stats
from annotation.models import Category, ImportJob, Item
from annotation.selectors import queue_remaining
from annotation.stats import (
    annotations_per_annotator_per_day,
    dashboard_stats,
    item_page,
    item_state_counts,
    label_distribution,
)
from tests.factories import ItemFactory, UserFactory, annotate, items, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_states(project):
    """overlap 2: one unlabeled, one in progress, one complete; two annotators on two days."""
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    unlabeled, partial, done = items(project, 3)
    now = timezone.now()
    yesterday = now - timedelta(days=1)
    adult, violence = (
        Category.objects.get(project=project, name=n) for n in ("Adult Content", "Violence")
    )
    annotate(partial, alice, [adult, violence], when=yesterday)
    annotate(done, alice, [adult], when=now)
    annotate(done, bob, none=True, unsure=True, when=now)
    return {
        "alice": alice,
        "bob": bob,
        "items": (unlabeled, partial, done),
        "today": timezone.localdate(),
        "yesterday": timezone.localdate() - timedelta(days=1),
    }


def test_item_state_counts(project, three_states):
    states = item_state_counts(project=project)
    assert (states.total, states.unlabeled, states.in_progress, states.complete) == (3, 1, 1, 1)
    assert states.annotations == 3


def test_item_state_counts_on_empty_project(project):
    states = item_state_counts(project=project)
    assert (states.total, states.unlabeled, states.in_progress, states.complete) == (0, 0, 0, 0)
    assert states.annotations == 0


def test_annotations_per_annotator_per_day(project, three_states):
    daily = annotations_per_annotator_per_day(project=project)
    assert len(daily.days) == 30 and daily.days[-1] == three_states["today"]
    by_name = dict(daily.series)
    assert by_name["alice"][-1] == 1 and by_name["alice"][-2] == 1
    assert by_name["bob"][-1] == 1 and by_name["bob"][-2] == 0
    assert sum(by_name["alice"]) == 2 and sum(by_name["bob"]) == 1
    assert daily.series[0][0] == "alice"  # busiest first
    assert daily.active_on(three_states["today"]) == 2
    assert daily.active_on(three_states["yesterday"]) == 1
    assert daily.rows()[0] == (three_states["today"], [1, 1], 2)
    assert daily.totals[-2:] == [1, 2]


def test_annotations_older_than_the_window_are_left_out(project):
    user = UserFactory(username="old")
    (item,) = items(project, 1)
    annotate(item, user, [project.categories.first()], when=timezone.now() - timedelta(days=31))
    daily = annotations_per_annotator_per_day(project=project)
    assert daily.series == [] and daily.rows() == []


def test_label_distribution_counts_categories_none_and_unsure(project, three_states):
    Category.objects.filter(project=project, name="Hate").update(active=False)
    labels = {label.name: label for label in label_distribution(project=project)}
    assert labels["Adult Content"].count == 2
    assert labels["Violence"].count == 1
    assert labels["Self-Harm"].count == 0
    assert labels["None of these"].count == 1 and labels["None of these"].kind == "none"
    assert labels["Unsure"].count == 1 and labels["Unsure"].kind == "unsure"
    assert labels["Hate"].active is False


def test_other_projects_do_not_leak_into_figures(project, three_states):
    from tests.factories import CategoryFactory, ProjectFactory

    other = ProjectFactory()
    cat = CategoryFactory(project=other)
    (foreign,) = items(other, 1)
    annotate(foreign, three_states["alice"], [cat])
    states = item_state_counts(project=project)
    assert states.total == 3 and states.annotations == 3
    assert sum(dict(annotations_per_annotator_per_day(project=project).series)["alice"]) == 2


def test_dashboard_stats_bundle_and_cache(project, three_states):
    ImportJob.objects.create(
        project=project,
        original_name="a.csv",
        file_sha256="x",
        format="csv",
        status="done",
        rows_imported=3,
    )
    first = dashboard_stats(project=project)
    assert first.active_today == 2
    assert first.chart_data["states"]["values"] == [1, 1, 1]
    assert first.chart_data["labels"]["labels"][-2:] == ["None of these", "Unsure"]
    assert [j.original_name for j in first.imports] == ["a.csv"]

    ItemFactory(project=project)  # a new item is not seen until the cache expires
    assert dashboard_stats(project=project).states.total == 3
    cache.delete(stats.dashboard_cache_key(project))
    assert dashboard_stats(project=project).states.total == 4


# --- items page -----------------------------------------------------------------------------


def test_item_page_filters_by_state(project, three_states):
    unlabeled, partial, done = three_states["items"]

    def ids(state):
        return [i.pk for i in item_page(project=project, state=state).items]

    assert ids("all") == [unlabeled.pk, partial.pk, done.pk]
    assert ids("unlabeled") == [unlabeled.pk]
    assert ids("in_progress") == [partial.pk]
    assert ids("complete") == [done.pk]


def test_item_states_follow_adaptive_overlap_and_consolidation(project, three_states):
    """An item asked for a third annotation (adaptive overlap) is in progress again, not
    complete; consolidation states filter by the item's label state."""
    unlabeled, partial, done = three_states["items"]
    Item.objects.filter(pk=done.pk).update(extra_overlap=1)
    Item.objects.filter(pk=partial.pk).update(label_state=Item.LabelState.ADJUDICATION)
    Item.objects.filter(pk=unlabeled.pk).update(label_state=Item.LabelState.GOLD)

    def ids(state):
        return [i.pk for i in item_page(project=project, state=state).items]

    assert ids("in_progress") == [partial.pk, done.pk]
    assert ids("complete") == []
    assert ids("adjudication") == [partial.pk]
    assert ids("gold") == [unlabeled.pk]
    counts = item_state_counts(project=project)
    assert (counts.in_progress, counts.complete, counts.adjudication, counts.gold) == (2, 0, 1, 1)


def test_left_in_queue_counts_items_not_yet_consolidated_and_never_gold_questions(project):
    waiting, decided, gold_question = items(project, 3)
    Item.objects.filter(pk=decided.pk).update(label_state=Item.LabelState.GOLD)
    Item.objects.filter(pk=gold_question.pk).update(
        is_gold_question=True, label_state=Item.LabelState.GOLD
    )

    assert queue_remaining(project=project) == 1


def test_item_page_keyset_paging(project):
    created = items(project, 5)
    first = item_page(project=project, limit=2)
    assert [i.pk for i in first.items] == [c.pk for c in created[:2]]
    assert first.next_after == created[1].pk
    second = item_page(project=project, limit=2, after=first.next_after)
    assert [i.pk for i in second.items] == [c.pk for c in created[2:4]]
    last = item_page(project=project, limit=2, after=second.next_after)
    assert [i.pk for i in last.items] == [created[4].pk] and last.next_after is None


def test_item_page_prefix_and_import_filter_and_snippets(project):
    job = ImportJob.objects.create(
        project=project, original_name="b.csv", file_sha256="y", format="csv"
    )
    ItemFactory(
        project=project, external_id="web-1", text="x" * 500, title="T" * 300, import_job=job
    )
    ItemFactory(project=project, external_id="sms-1")
    page = item_page(project=project, external_id_prefix="web-")
    assert [i.external_id for i in page.items] == ["web-1"]
    assert len(page.items[0].text_snippet) == 121 and len(page.items[0].title_snippet) == 120
    assert [i.external_id for i in item_page(project=project, import_job_id=job.pk).items] == [
        "web-1"
    ]


def test_membership_list_is_sorted_by_username(project):
    member(project, username="zed")
    member(project, username="amy")
    assert [m.user.username for m in stats.membership_list(project=project)] == ["amy", "zed"]

"""model_run_execute: a run end to end with the real learning core on small data; duplicate
delivery; failures; provenance and inclusion probabilities of every pick."""

import numpy as np
import pytest
from django.db.models import Max, Min

from annotation.models import Item
from annotation.services.imports.validate import priority_for
from annotation.services.queue import item_claim_next
from learning.models import ModelRun, PickedItem
from learning.services.config import learning_config_update
from learning.services.execute import model_run_execute
from learning.services.runs import model_run_request
from tests.factories import annotate, member

pytestmark = pytest.mark.django_db


def _request(project, **kwargs):
    run, created = model_run_request(project=project, trigger="manual", **kwargs)
    assert created
    return run


def _queue_snapshot(project):
    return list(
        Item.objects.filter(project=project)
        .order_by("pk")
        .values_list("pk", "priority", "selection_reason", "selection_run_id",
                     "inclusion_probability")
    )  # fmt: skip


def test_a_run_trains_measures_and_puts_its_picks_at_the_head_of_the_queue(data):
    # Given a project with 60 gold labels and 200 unlabeled items
    project = data.project

    # When a run is requested and executed
    run = model_run_execute(run_id=_request(project).pk)

    # Then it is done, with the data snapshot, per-category CV metrics and an artifact
    assert run.status == ModelRun.Status.DONE, run.error
    assert run.mode == ModelRun.Mode.MODEL
    assert run.gold_count == 60 and run.pool_size == 200
    assert [c["name"] for c in run.categories] == [
        "Adult Content", "Violence", "Self-Harm", "Hate", "Social Media"
    ]  # fmt: skip
    assert len(run.metrics["per_category"]) == 5
    assert 0 <= run.metrics["macro_f1"] <= 1 and run.metrics["macro_f1"] > 0.5
    assert sum(run.metrics["gold_positives"]) > 0
    assert run.artifact.name and run.artifact_size > 0
    assert {"reading", "training", "scoring", "selecting", "saving picks", "storing the model",
            "cross-validating", "total", "picks saved at"} <= set(run.timings)  # fmt: skip
    assert run.started_at <= run.picks_saved_at <= run.finished_at
    assert run.timings["picks saved at"] <= run.timings["total"]
    assert run.phase == "done" and run.progress == 1.0 and run.error == ""

    # And every pick is recorded, queued and at the head of the queue in rank order
    picks = list(PickedItem.objects.filter(run=run).order_by("rank"))
    assert len(picks) == run.picked_count == run.metrics["queued"] > 0
    assert len(picks) <= 100  # the default batch size
    items = Item.objects.in_bulk([p.item_id for p in picks])
    for pick in picks:
        item = items[pick.item_id]
        assert item.selection_run_id == run.pk
        assert item.selection_reason == pick.reason
        assert item.inclusion_probability == pytest.approx(pick.inclusion_probability)
        assert item.priority == pytest.approx(1 + (len(picks) - pick.rank) / len(picks))
        assert 0 < pick.inclusion_probability <= 1
    top = Item.objects.filter(project=project, open_slots__gt=0).order_by("-priority", "pk")
    assert list(top.values_list("pk", flat=True)[: len(picks)]) == [p.item_id for p in picks]

    # And the queue serves them: the first claim gets rank 0
    claim = item_claim_next(project=project, annotator=member(project))
    assert claim.item.pk == picks[0].item_id


def test_inclusion_probabilities_over_the_pool_add_up_to_the_batch(data):
    learning_config_update(project=data.project, batch_size=40)

    run = model_run_execute(run_id=_request(data.project).pk)

    design = run.metrics["design"]
    batch, pool = 40, 200
    audit = design["audit_size"]
    # Σπ over the pool = b_a + b_m (1 − b_a / N): the batch size, less the items both
    # independent draws can pick (documented in learning/ml/strategies.py).
    assert design["pool"] == pool
    assert design["pi_sum"] == pytest.approx(audit + (batch - audit) * (1 - audit / pool))
    assert abs(design["pi_sum"] - batch) <= audit * (batch - audit) / pool + 1e-9
    assert design["pi_min"] > 0  # every pool item could have been picked
    picks = PickedItem.objects.filter(run=run)
    # The batch is a real draw of about that size: never more than asked.
    assert batch - 3 <= picks.count() <= batch
    # Audit picks are a simple random sample: each has π ≥ the audit draw's b_a / N.
    for pi in picks.filter(reason="audit").values_list("inclusion_probability", flat=True):
        assert pi >= design["pi_audit"] - 1e-12


def test_provenance_is_stored_for_every_picked_item(data):
    run = model_run_execute(run_id=_request(data.project).pk)

    picks = PickedItem.objects.filter(run=run)
    reasons = set(picks.values_list("reason", flat=True))
    assert reasons <= {"boundary", "rare", "audit"}  # a multi-label project's default mix
    assert "audit" in reasons
    assert not picks.filter(inclusion_probability__isnull=True).exists()
    picked_items = Item.objects.filter(pk__in=picks.values("item_id"))
    assert not picked_items.filter(selection_run_id__isnull=True).exists()
    assert not picked_items.filter(inclusion_probability__isnull=True).exists()
    # Rare-hunt picks name the category they were hunted for.
    rare = picks.filter(reason="rare")
    assert rare.exists() and not rare.filter(category__isnull=True).exists()
    # Items not picked keep their import provenance.
    rest = Item.objects.filter(project=data.project, label_state="pending").exclude(
        pk__in=picks.values("item_id")
    )
    assert set(rest.values_list("selection_reason", flat=True)) == {"random"}
    assert not rest.filter(selection_run_id__isnull=False).exists()


def test_a_task_delivered_twice_does_one_run(data):
    run = _request(data.project)

    first = model_run_execute(run_id=run.pk)
    snapshot = _queue_snapshot(data.project)
    second = model_run_execute(run_id=run.pk)

    assert first.status == second.status == ModelRun.Status.DONE
    assert second.finished_at == first.finished_at
    assert PickedItem.objects.filter(run=run).count() == first.picked_count
    assert _queue_snapshot(data.project) == snapshot


def test_a_running_run_is_not_started_again(data):
    run = _request(data.project)
    ModelRun.objects.filter(pk=run.pk).update(status=ModelRun.Status.RUNNING)

    again = model_run_execute(run_id=run.pk)

    assert again.status == ModelRun.Status.RUNNING
    assert not PickedItem.objects.exists()


def test_a_failing_run_is_marked_failed_and_the_queue_keeps_serving(data, monkeypatch):
    # Given a finished run whose picks are in the queue
    good = model_run_execute(run_id=_request(data.project).pk)
    snapshot = _queue_snapshot(data.project)
    head = Item.objects.filter(project=data.project, open_slots__gt=0).order_by("-priority", "pk")
    expected_first = head.first().pk

    # When the next run's training raises
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory while fitting")

    monkeypatch.setattr("learning.ml.model.fit_with_features", broken)
    failed = model_run_execute(run_id=_request(data.project).pk)

    # Then it is failed with its error, and nothing in the queue moved
    assert failed.status == ModelRun.Status.FAILED
    assert "RuntimeError: out of memory while fitting" in failed.error
    assert failed.finished_at is not None and failed.phase == "failed"
    assert "training" in failed.timings
    assert not failed.artifact and failed.picks_saved_at is None
    assert not PickedItem.objects.filter(run=failed).exists()
    assert _queue_snapshot(data.project) == snapshot
    assert Item.objects.filter(selection_run_id=good.pk).count() == good.picked_count
    # And the queue still serves the last good run's picks first
    claim = item_claim_next(project=data.project, annotator=member(data.project))
    assert claim.item.pk == expected_first
    # And the project is not blocked: the next request makes a new run
    assert _request(data.project).number == 3


def test_a_failure_while_saving_writes_nothing(data, monkeypatch):
    snapshot = _queue_snapshot(data.project)

    def broken(**kwargs):
        raise RuntimeError("lost the database connection")

    monkeypatch.setattr("learning.services.run_results.picks_write", broken)
    run = model_run_execute(run_id=_request(data.project).pk)

    assert run.status == ModelRun.Status.FAILED and "lost the database" in run.error
    assert _queue_snapshot(data.project) == snapshot
    assert not PickedItem.objects.exists()


def test_a_new_run_releases_the_earlier_picks_nobody_started(data):
    # Given run 1's picks in the queue, two of which annotators started
    first = model_run_execute(run_id=_request(data.project).pk)
    picks = list(PickedItem.objects.filter(run=first).order_by("rank"))
    started = [picks[0].item, picks[1].item]
    for item in started:
        annotate(item, member(data.project))

    # When run 2 picks its batch
    second = model_run_execute(run_id=_request(data.project).pk)

    # Then run 1's unstarted picks not picked again went back to their import position
    assert second.status == ModelRun.Status.DONE, second.error
    repicked = set(PickedItem.objects.filter(run=second).values_list("item_id", flat=True))
    released = [p for p in picks if p.item not in started and p.item_id not in repicked]
    assert released
    assert second.metrics["released"] == len(released)
    for pick in released:
        item = Item.objects.get(pk=pick.item_id)
        assert item.selection_run_id is None and item.selection_reason == "random"
        assert item.inclusion_probability is None
        assert item.priority == pytest.approx(priority_for(data.project.pk, item.external_id))
        pick.refresh_from_db()
        assert pick.released_at is not None
    # Started picks keep run 1's provenance and place; they are not in run 2's pool
    for item in started:
        item.refresh_from_db()
        assert item.selection_run_id == first.pk and item.priority > 1
        assert item.pk not in repicked
    # Items run 2 picked again now carry run 2's provenance
    for item_id in repicked:
        assert Item.objects.get(pk=item_id).selection_run_id == second.pk
    assert second.pool_size == 200 - 2


def test_an_older_runs_late_save_never_overrides_a_newer_run(data, monkeypatch):
    """Run 1 hangs, the timeout fails it, run 2 finishes; then run 1's worker wakes up and
    tries to save: its results are discarded."""
    from learning.services import execute
    from learning.services.runs import model_run_expire_stale, stale_after

    project = data.project
    old = _request(project)
    real_score = execute._score_and_select
    state = {}

    def hang_then_continue(run, *args, **kwargs):
        if run.pk == old.pk and "newer" not in state:
            # While run 1 computes: it is declared dead, and run 2 runs to the end.
            ModelRun.objects.filter(pk=old.pk).update(started_at=run.started_at - stale_after() * 2)
            assert model_run_expire_stale(project=project) == 1
            state["newer"] = model_run_execute(run_id=_request(project).pk)
        return real_score(run, *args, **kwargs)

    monkeypatch.setattr(execute, "_score_and_select", hang_then_continue)
    late = model_run_execute(run_id=old.pk)

    newer = state["newer"]
    assert newer.status == ModelRun.Status.DONE
    assert late.status == ModelRun.Status.FAILED and "Timed out" in late.error
    assert not PickedItem.objects.filter(run=late).exists()
    assert not late.artifact
    assert Item.objects.filter(selection_run_id=newer.pk).count() == newer.picked_count
    assert not Item.objects.filter(selection_run_id=old.pk).exists()


def test_the_queue_write_never_moves_an_item_a_newer_run_placed(data):
    """The SQL guard itself (selection_run_id IS NULL OR < this run), under the lock."""
    from django.db import transaction

    from learning.services.picks import RankedPick, picks_write

    run = model_run_execute(run_id=_request(data.project).pk)
    newer_id = run.pk + 1000  # as if a newer run had placed these three
    unpicked = Item.objects.filter(project=data.project, label_state="pending")
    unpicked = list(unpicked.filter(selection_run_id__isnull=True).order_by("pk")[:4])
    placed, fresh = unpicked[:3], unpicked[3]
    Item.objects.filter(pk__in=[i.pk for i in placed]).update(
        selection_run_id=newer_id, priority=1.5
    )

    with transaction.atomic():
        queued, released = picks_write(
            run=run,
            picks=[RankedPick(i.pk, r, "uncertainty", 0.5, 0.1) for r, i in enumerate(unpicked)],
            earlier_item_ids=[i.pk for i in placed],
        )

    assert queued == {fresh.pk} and released == []
    for item in placed:
        item.refresh_from_db()
        assert item.selection_run_id == newer_id and item.priority == 1.5
    fresh.refresh_from_db()
    assert fresh.selection_run_id == run.pk and fresh.selection_reason == "uncertainty"


def test_with_few_gold_labels_a_run_is_a_cold_start_from_keyword_seeds(project):
    from tests.learning.conftest import build

    data = build(project, gold=5, pool=120)
    self_harm = data.categories["Self-Harm"]
    learning_config_update(
        project=project, batch_size=20, min_gold_labels=20, seeds={self_harm.pk: ["overdose"]}
    )

    run = model_run_execute(run_id=_request(project).pk)

    assert run.status == ModelRun.Status.DONE, run.error
    assert run.mode == ModelRun.Mode.COLD_START and not run.artifact
    assert "Cold start" in run.metrics["note"]
    picks = PickedItem.objects.filter(run=run)
    seeded = picks.filter(reason="seed")
    matching = Item.objects.filter(
        project=project, text__contains="overdose", label_state="pending"
    )
    assert seeded.exists()
    assert set(seeded.values_list("item_id", flat=True)) <= set(
        matching.values_list("pk", flat=True)
    )
    assert set(seeded.values_list("category_id", flat=True)) == {self_harm.pk}
    assert picks.filter(reason="audit").exists()
    assert Item.objects.filter(selection_run_id=run.pk).count() == picks.count()


def test_the_pool_leaves_out_gold_questions_started_items_and_manual_placements(data):
    gold_question, started, manual = data.pool[:3]
    Item.objects.filter(pk=gold_question.pk).update(is_gold_question=True, open_slots=0)
    annotate(started, member(data.project))
    Item.objects.filter(pk=manual.pk).update(selection_reason="manual", priority=5.0)

    run = model_run_execute(run_id=_request(data.project).pk)

    assert run.pool_size == 197
    picked = set(PickedItem.objects.filter(run=run).values_list("item_id", flat=True))
    assert not picked & {gold_question.pk, started.pk, manual.pk}
    manual.refresh_from_db()
    assert manual.priority == 5.0 and manual.selection_reason == "manual"


def test_a_project_without_a_pool_finishes_with_no_picks(project):
    from tests.learning.conftest import build

    build(project, gold=30, pool=0)

    run = model_run_execute(run_id=_request(project).pk)

    assert run.status == ModelRun.Status.DONE, run.error
    assert run.pool_size == 0 and run.picked_count == 0
    assert run.metrics["per_category"]


def test_single_label_projects_train_a_multinomial_model(project):
    from annotation.models import Category
    from tests.factories import ItemFactory, gold_label

    project.multi_label = False
    project.save()
    categories = list(Category.objects.filter(project=project).order_by("order"))[:2]
    rng = np.random.default_rng(0)
    for i in range(40):
        which = i % 3  # two categories and "none of these"
        words = ["fight blood gun", "followers retweet likes", "garden coffee bread"][which]
        item = ItemFactory(project=project, text=f"{words} {rng.integers(1000)}")
        gold_label(item, [categories[which]] if which < 2 else [], none=which == 2)
    for _ in range(50):
        ItemFactory(project=project, text=f"market fight retweet {rng.integers(1000)}")

    run = model_run_execute(run_id=_request(project).pk)

    assert run.status == ModelRun.Status.DONE, run.error
    assert run.parameters["multi_label"] is False and run.picked_count > 0


def test_pick_priorities_stay_above_every_import_priority(data):
    run = model_run_execute(run_id=_request(data.project).pk)

    picked = Item.objects.filter(selection_run_id=run.pk).aggregate(lo=Min("priority"))["lo"]
    rest = Item.objects.filter(project=data.project, selection_run_id__isnull=True)
    assert picked > rest.aggregate(hi=Max("priority"))["hi"]

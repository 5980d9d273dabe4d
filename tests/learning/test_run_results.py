"""After a model run saves its picks (learning/services/run_results.py): the queue serves them
while the run cross-validates and stores its model; a second delivery, a failure or the
timeout after that point never takes them back."""

import pytest

from annotation.models import Item
from annotation.services.queue import item_claim_next
from learning.ml.evaluation import FoldsInFlight
from learning.models import ModelRun, PickedItem
from learning.services.execute import model_run_execute
from learning.services.runs import model_run_expire_stale, model_run_request, stale_after
from tests.factories import member

pytestmark = pytest.mark.django_db

REAL_WAIT = FoldsInFlight.wait


@pytest.fixture(params=[1, 2], ids=["1 thread", "2 threads"], autouse=True)
def threads(request, settings):
    """Every test twice: folds fitted after the picks are saved (1 thread) and folds started
    beside the scoring, waited for after the picks are saved (2)."""
    settings.GOLDSET = {**settings.GOLDSET, "LEARNING_THREADS": request.param}
    return request.param


def _request(project) -> ModelRun:
    run, created = model_run_request(project=project, trigger="manual")
    assert created
    return run


def _queue(project) -> list[tuple]:
    return list(
        Item.objects.filter(project=project)
        .order_by("pk")
        .values_list("pk", "priority", "selection_reason", "selection_run_id", "open_slots")
    )


def _during_cross_validation(monkeypatch, before):
    """Run `before(run)` when the run starts waiting for its cross-validation, then wait."""

    def spy(self, on_fold=None):
        before(ModelRun.objects.get(status=ModelRun.Status.RUNNING))
        return REAL_WAIT(self, on_fold)

    monkeypatch.setattr(FoldsInFlight, "wait", spy)


def test_the_queue_serves_the_new_picks_while_the_run_cross_validates(data, monkeypatch):
    seen = {}

    def look(run):
        seen["run"] = (run.status, run.phase, run.picks_saved_at, dict(run.metrics))
        seen["placed"] = Item.objects.filter(selection_run_id=run.pk).count()
        seen["rank 0"] = PickedItem.objects.get(run=run, rank=0).item_id
        claim = item_claim_next(project=data.project, annotator=member(data.project))
        seen["claimed"] = claim.item.pk

    _during_cross_validation(monkeypatch, look)

    run = model_run_execute(run_id=_request(data.project).pk)

    # While it cross-validated, the run was still running, its picks already in the queue and
    # served first, and its metrics not there yet
    status, phase, picks_saved_at, metrics = seen["run"]
    assert status == "running" and phase == "cross-validating" and picks_saved_at is not None
    assert seen["placed"] == run.picked_count > 0
    assert seen["claimed"] == seen["rank 0"]
    assert "macro_f1" not in metrics and metrics["queued"] == run.picked_count
    # Then it finished with the metrics added to what the picks' save recorded
    assert run.status == ModelRun.Status.DONE and run.error == ""
    assert run.metrics["folds"] == 5 and run.metrics["macro_f1"] > 0.5
    assert run.metrics["queued"] == run.picked_count and "design" in run.metrics
    assert run.picks_saved_at == picks_saved_at <= run.finished_at


def test_cross_validation_reports_its_progress_fold_by_fold(data, monkeypatch):
    progress = []

    def spy(self, on_fold=None):
        def fold(done, total):
            on_fold(done, total)
            progress.append(ModelRun.objects.values_list("phase", "progress").get())

        return REAL_WAIT(self, fold)

    monkeypatch.setattr(FoldsInFlight, "wait", spy)

    model_run_execute(run_id=_request(data.project).pk)

    assert progress == [("cross-validating", pytest.approx(k / 5)) for k in range(1, 6)]


def test_a_second_delivery_while_cross_validating_does_nothing(data, monkeypatch):
    seen = {}

    def deliver_again(run):
        before = _queue(data.project)
        seen["again"] = model_run_execute(run_id=run.pk).status
        seen["queue unchanged"] = _queue(data.project) == before
        seen["picks"] = PickedItem.objects.filter(run=run).count()

    _during_cross_validation(monkeypatch, deliver_again)

    run = model_run_execute(run_id=_request(data.project).pk)

    assert seen == {"again": "running", "queue unchanged": True, "picks": run.picked_count}
    assert run.status == ModelRun.Status.DONE and "macro_f1" in run.metrics
    assert PickedItem.objects.filter(run=run).count() == run.picked_count


def test_a_failing_cross_validation_keeps_the_saved_picks(data, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory in fold 3")

    # A fold fails in its thread; the run learns of it when it waits for the folds.
    monkeypatch.setattr(FoldsInFlight, "_fold", broken)

    run = model_run_execute(run_id=_request(data.project).pk)

    # The run is done (its picks are the queue's), says what failed, and has no metrics
    assert run.status == ModelRun.Status.DONE and run.phase == "done" and run.finished_at
    assert "Failed after its picks were saved" in run.error
    assert "RuntimeError: out of memory in fold 3" in run.error
    assert "macro_f1" not in run.metrics and "per_category" not in run.metrics
    # The picks stay in the queue, served first; the model is stored all the same
    assert Item.objects.filter(selection_run_id=run.pk).count() == run.picked_count > 0
    assert PickedItem.objects.filter(run=run).count() == run.picked_count
    claim = item_claim_next(project=data.project, annotator=member(data.project))
    assert claim.item.pk == PickedItem.objects.get(run=run, rank=0).item_id
    assert run.artifact and run.artifact_size > 0
    # And the project is not blocked
    assert _request(data.project).number == 2


def test_a_failure_storing_the_model_keeps_the_picks_and_the_metrics(data, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr("learning.services.run_results._store_artifact", broken)

    run = model_run_execute(run_id=_request(data.project).pk)

    assert run.status == ModelRun.Status.DONE
    assert "after its picks were saved" in run.error and "OSError: No space left" in run.error
    assert not run.artifact and run.artifact_size == 0
    assert run.metrics["folds"] == 5 and "macro_f1" in run.metrics
    assert Item.objects.filter(selection_run_id=run.pk).count() == run.picked_count > 0


def test_a_failure_while_saving_the_metrics_keeps_the_saved_picks(data, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("lost the database connection")

    monkeypatch.setattr("learning.services.run_results._save_results", broken)

    run = model_run_execute(run_id=_request(data.project).pk)

    assert run.status == ModelRun.Status.DONE and "lost the database connection" in run.error
    assert Item.objects.filter(selection_run_id=run.pk).count() == run.picked_count > 0
    assert not run.artifact and "macro_f1" not in run.metrics


def test_the_timeout_ends_a_run_that_died_after_saving_its_picks_as_done(data, monkeypatch):
    seen = {}

    def die(run):
        # The worker is declared dead while the run cross-validates.
        ModelRun.objects.filter(pk=run.pk).update(started_at=run.started_at - stale_after() * 2)
        seen["ended"] = model_run_expire_stale(project=data.project)
        seen["run"] = ModelRun.objects.values_list("status", "error").get(pk=run.pk)

    _during_cross_validation(monkeypatch, die)

    run = model_run_execute(run_id=_request(data.project).pk)

    # The timeout ended it as done: its picks stay in the queue
    assert seen["ended"] == 1
    status, error = seen["run"]
    assert status == "done" and "Timed out after its picks were saved" in error
    assert Item.objects.filter(selection_run_id=run.pk).count() == run.picked_count > 0
    # The worker that came back saved nothing more
    assert run.status == ModelRun.Status.DONE and run.error == error
    assert "macro_f1" not in run.metrics and not run.artifact


def test_the_timeout_still_fails_a_run_that_died_before_saving_its_picks(data):
    run = _request(data.project)
    ModelRun.objects.filter(pk=run.pk).update(
        status=ModelRun.Status.RUNNING, started_at=run.created_at - stale_after() * 2
    )

    assert model_run_expire_stale(project=data.project) == 1

    run.refresh_from_db()
    assert run.status == ModelRun.Status.FAILED and "keeps serving" in run.error
    assert not Item.objects.filter(selection_run_id=run.pk).exists()


def test_with_two_threads_the_folds_start_before_the_picks_are_saved(data, monkeypatch, threads):
    started = []
    real_init = FoldsInFlight.__init__

    def spy(self, *args, **kwargs):
        started.append(PickedItem.objects.exists())
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(FoldsInFlight, "__init__", spy)

    run = model_run_execute(run_id=_request(data.project).pk)

    # One start: beside the scoring (no pick saved yet) or after the picks were saved.
    assert started == [threads == 1]
    assert run.status == ModelRun.Status.DONE and run.metrics["folds"] == 5


def test_a_run_failing_before_its_picks_drops_the_folds_in_flight(data, monkeypatch, threads):
    cancelled = []
    real_cancel = FoldsInFlight.cancel

    def spy(self):
        cancelled.append(self)
        real_cancel(self)

    def broken(*args, **kwargs):
        raise RuntimeError("the pool query failed")

    monkeypatch.setattr(FoldsInFlight, "cancel", spy)
    monkeypatch.setattr("learning.services.execute._score_and_select", broken)

    run = model_run_execute(run_id=_request(data.project).pk)

    assert run.status == ModelRun.Status.FAILED and "the pool query failed" in run.error
    assert len(cancelled) == (1 if threads == 2 else 0)
    assert not PickedItem.objects.filter(run=run).exists()

"""A model run orchestrated end to end through a real Celery worker on Redis and PostgreSQL:
the request commits, the task goes through the broker, the worker claims, trains, scores and
saves; a second delivery of the same task does nothing."""

import time

import pytest

from annotation.models import Item
from learning.models import ModelRun, PickedItem
from learning.services.runs import model_run_request
from learning.tasks import model_run_task
from tests.learning.conftest import build

WAIT_SECONDS = 120


@pytest.fixture
def shared_media(settings, monkeypatch):
    """The worker process stores the model artifact under the same media folder as the test."""
    monkeypatch.setenv("GOLDSET_MEDIA_ROOT", str(settings.MEDIA_ROOT))


def _wait_until_finished(run: ModelRun) -> ModelRun:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in (ModelRun.Status.DONE, ModelRun.Status.FAILED):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run.number} still {run.status} ({run.phase})")


@pytest.mark.real_services
@pytest.mark.timeout(300)
def test_a_run_through_a_real_worker(shared_media, celery_worker, project):
    build(project, gold=60, pool=200)

    # The request commits (transactional test), so its task goes to Redis and the worker.
    run, created = model_run_request(project=project, trigger="manual")
    assert created
    run = _wait_until_finished(run)

    assert run.status == ModelRun.Status.DONE, run.error
    assert run.mode == ModelRun.Mode.MODEL and run.gold_count == 60 and run.pool_size == 200
    assert len(run.metrics["per_category"]) == 5 and run.artifact_size > 0
    picks = PickedItem.objects.filter(run=run)
    assert picks.count() == run.picked_count > 0
    assert Item.objects.filter(selection_run_id=run.pk).count() == run.picked_count
    finished_at = run.finished_at

    # A second delivery of the same task: the worker (one process, tasks in order) handles it
    # before the next run's task, and does nothing.
    model_run_task.delay(run.pk)
    second, created = model_run_request(project=project, trigger="manual")
    assert created
    second = _wait_until_finished(second)

    assert second.status == ModelRun.Status.DONE, second.error
    run.refresh_from_db()
    assert run.finished_at == finished_at and run.status == ModelRun.Status.DONE
    assert PickedItem.objects.filter(run=run).count() == run.picked_count
    assert ModelRun.objects.filter(project=project).count() == 2
    assert Item.objects.filter(selection_run_id=second.pk).count() == second.picked_count

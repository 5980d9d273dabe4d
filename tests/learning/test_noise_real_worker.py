"""A label-noise check through a real Celery worker on Redis and PostgreSQL: the request
commits, the task goes through the broker, the worker claims the check, computes with no
transaction open and raises issues with their adjudication cases; a second delivery of the
same task does nothing."""

import time

import pytest

from annotation.models import AdjudicationCase
from learning.models import LabelIssue, NoiseRun
from learning.services.noise import noise_run_request
from learning.tasks import noise_run_task
from tests.factories import noisy_gold

WAIT_SECONDS = 120


@pytest.fixture
def small_folds(settings):
    """Three folds, as the in-process tests use for a dozen items per class (the request copies
    the setting into the run, which is what the worker reads)."""
    settings.GOLDSET = {**settings.GOLDSET, "LEARNING_NOISE_FOLDS": 3}


def _wait_until_ended(run: NoiseRun) -> NoiseRun:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in NoiseRun.ENDED:
            return run
        time.sleep(0.2)
    raise AssertionError(f"check {run.number} still {run.status} ({run.phase})")


@pytest.mark.real_services
@pytest.mark.timeout(300)
def test_a_check_through_a_real_worker(small_folds, celery_worker, project):
    data = noisy_gold(project, per_class=12, flips=4)

    # The request commits (transactional test), so its task goes to Redis and the worker.
    run, created = noise_run_request(project=project, trigger="manual")
    assert created
    run = _wait_until_ended(run)

    assert run.status == NoiseRun.Status.DONE, run.error
    assert run.parameters["folds"] == 3 and run.gold_count == 72
    issues = LabelIssue.objects.filter(run=run)
    assert {i.item_id for i in issues} == {item.pk for item in data["flipped"]}
    cases = AdjudicationCase.objects.filter(reason="label_error", status="open")
    assert set(cases.values_list("pk", flat=True)) == set(issues.values_list("case_id", flat=True))
    finished_at = run.finished_at

    # A second delivery of the same task: the worker (one process, tasks in order) handles it
    # before the next check's task, and does nothing.
    noise_run_task.delay(run.pk)
    second, created = noise_run_request(project=project, trigger="manual")
    assert created
    second = _wait_until_ended(second)

    assert second.status == NoiseRun.Status.DONE, second.error
    assert second.figures["outcomes"] == {"already_open": 4}
    run.refresh_from_db()
    assert run.finished_at == finished_at
    assert LabelIssue.objects.count() == 4 and cases.count() == 4

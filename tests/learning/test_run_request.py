"""model_run_request and the stale-run timeout: one run in flight per project, the task sent
on commit, the settings copied into the run."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.errors import InvalidInput
from annotation.models import Category
from learning.models import ModelRun
from learning.services.config import learning_config_update
from learning.services.runs import model_run_expire_stale, model_run_request, stale_after

pytestmark = pytest.mark.django_db


def test_a_request_snapshots_the_settings_and_sends_the_task_on_commit(
    project, lead, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("learning.tasks.model_run_task.delay", sent.append)
    self_harm = Category.objects.get(project=project, name="Self-Harm")
    learning_config_update(
        project=project, batch_size=30, seed=5, hashing=True, seeds={self_harm.pk: ["cutting"]}
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run, created = model_run_request(project=project, trigger="manual", user=lead)

    assert created and len(callbacks) == 1 and sent == [run.pk]
    assert run.status == ModelRun.Status.QUEUED and run.number == 1
    assert run.requested_by == lead and run.trigger == "manual"
    assert [c["name"] for c in run.categories] == [
        "Adult Content", "Violence", "Self-Harm", "Hate", "Social Media"
    ]  # fmt: skip
    assert run.parameters["batch_size"] == 30
    assert run.parameters["mix"] == {
        "uncertainty": 0.0, "margin": 0.0, "entropy": 0.0, "multilabel": 0.0, "boundary": 0.3,
        "rare": 0.5, "audit": 0.2,
    }  # fmt: skip
    assert run.parameters["seeds"] == {"2": ["cutting"]}  # column of Self-Harm
    assert run.features["hashing"] is True
    assert run.seed == 5 + 1


def test_a_second_request_gets_the_run_in_flight(project, lead):
    first, created = model_run_request(project=project, trigger="manual", user=lead)
    second, created_again = model_run_request(project=project, trigger="labels")

    assert created and not created_again
    assert second.pk == first.pk
    assert ModelRun.objects.count() == 1


def test_the_schema_refuses_two_runs_in_flight(project):
    ModelRun.objects.create(project=project, number=1, trigger="manual")

    with pytest.raises(IntegrityError), transaction.atomic():
        ModelRun.objects.create(project=project, number=2, trigger="manual", status="running")


def test_numbers_count_up_after_finished_runs(project):
    first, _ = model_run_request(project=project, trigger="manual")
    ModelRun.objects.filter(pk=first.pk).update(status=ModelRun.Status.DONE)

    second, created = model_run_request(project=project, trigger="manual")

    assert created and second.number == 2


def test_a_project_without_active_categories_cannot_train(project):
    Category.objects.filter(project=project).update(active=False)

    with pytest.raises(InvalidInput, match="no active category"):
        model_run_request(project=project, trigger="manual")
    assert not ModelRun.objects.exists()


def test_an_unknown_trigger_is_refused(project):
    with pytest.raises(InvalidInput, match="Unknown trigger"):
        model_run_request(project=project, trigger="whenever")
    assert not ModelRun.objects.exists()


def test_a_dead_run_is_failed_and_no_longer_blocks_the_project(project):
    # Given a run whose worker died long ago
    dead, _ = model_run_request(project=project, trigger="manual")
    long_ago = timezone.now() - stale_after() - timedelta(minutes=1)
    ModelRun.objects.filter(pk=dead.pk).update(status="running", started_at=long_ago)

    # When a lead asks again
    run, created = model_run_request(project=project, trigger="manual")

    # Then the dead run is failed with a clear error and a new run is queued
    dead.refresh_from_db()
    assert dead.status == ModelRun.Status.FAILED
    assert "Timed out" in dead.error and "did not finish" in dead.error
    assert created and run.number == 2


def test_only_runs_past_the_timeout_are_failed(project, settings):
    settings.GOLDSET = {**settings.GOLDSET, "LEARNING_RUN_STALE_AFTER_SECONDS": 600}
    queued, _ = model_run_request(project=project, trigger="manual")
    now = timezone.now()

    assert model_run_expire_stale(now=now + timedelta(seconds=590)) == 0
    queued.refresh_from_db()
    assert queued.status == ModelRun.Status.QUEUED

    assert model_run_expire_stale(now=now + timedelta(seconds=610)) == 1
    queued.refresh_from_db()
    assert queued.status == ModelRun.Status.FAILED and "no worker started it" in queued.error


def test_a_finished_run_is_never_failed_by_the_timeout(project):
    run, _ = model_run_request(project=project, trigger="manual")
    ModelRun.objects.filter(pk=run.pk).update(status="done")

    assert model_run_expire_stale(now=timezone.now() + stale_after() * 10) == 0
    run.refresh_from_db()
    assert run.status == ModelRun.Status.DONE

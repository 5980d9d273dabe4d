"""noise_run_request: one check in flight per project, the task sent on commit, the settings
copied into the run, stale runs failed; the request after each successful model run."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.errors import InvalidInput
from learning.models import ModelRun, NoiseRun
from learning.services.execute import model_run_execute
from learning.services.noise import noise_run_expire_stale, noise_run_request
from learning.services.runs import model_run_request
from tests.learning.conftest import build

pytestmark = pytest.mark.django_db


def test_a_request_creates_a_run_with_the_settings_and_sends_its_task_on_commit(
    project, lead, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("learning.tasks.noise_run_task.delay", sent.append)

    with django_capture_on_commit_callbacks(execute=True):
        run, created = noise_run_request(project=project, trigger="manual", user=lead)

    assert created and sent == [run.pk]
    assert run.number == 1 and run.status == NoiseRun.Status.QUEUED
    assert run.requested_by == lead and run.trigger == "manual" and run.model_run is None
    assert [c["name"] for c in run.categories][:2] == ["Adult Content", "Violence"]
    assert run.parameters == {"multi_label": True, "folds": 5, "text_max_chars": 5000}
    assert run.features["url_tokens"] is True and run.seed == 1


def test_a_second_request_gets_the_run_in_flight(project, monkeypatch):
    monkeypatch.setattr("learning.tasks.noise_run_task.delay", lambda run_id: None)
    first, created = noise_run_request(project=project, trigger="manual")

    again, created_again = noise_run_request(project=project, trigger="model_run")

    assert created and not created_again and again.pk == first.pk
    assert NoiseRun.objects.filter(project=project).count() == 1


def test_a_finished_run_lets_the_next_one_start_with_the_next_number(project):
    first, _ = noise_run_request(project=project, trigger="manual")
    NoiseRun.objects.filter(pk=first.pk).update(status="done")

    second, created = noise_run_request(project=project, trigger="manual")

    assert created and second.number == 2 and second.seed == 2


def test_a_stale_run_is_failed_so_it_cannot_block_the_project(project, settings):
    old, _ = noise_run_request(project=project, trigger="manual")
    NoiseRun.objects.filter(pk=old.pk).update(
        status="running", started_at=timezone.now() - timedelta(hours=2)
    )

    run, created = noise_run_request(project=project, trigger="manual")

    assert created and run.number == 2
    old.refresh_from_db()
    assert old.status == "failed" and old.error.startswith("Timed out: its worker did not")
    assert noise_run_expire_stale() == 0


def test_bad_requests_are_refused(project):
    with pytest.raises(InvalidInput, match="Unknown trigger"):
        noise_run_request(project=project, trigger="whenever")
    project.categories.update(active=False)
    with pytest.raises(InvalidInput, match="no active category"):
        noise_run_request(project=project, trigger="manual")
    assert not NoiseRun.objects.exists()


def test_a_successful_model_run_requests_a_check(project, settings):
    settings.GOLDSET = {**settings.GOLDSET, "LEARNING_NOISE_FOLDS": 3}
    build(project, gold=40, pool=20)
    model_run, _ = model_run_request(project=project, trigger="manual")

    model_run = model_run_execute(run_id=model_run.pk)

    assert model_run.status == ModelRun.Status.DONE and model_run.mode == "model"
    check = NoiseRun.objects.get(project=project)
    assert check.trigger == NoiseRun.Trigger.MODEL_RUN and check.model_run == model_run
    assert check.status == NoiseRun.Status.QUEUED  # its task goes out when the request commits


def test_a_cold_start_or_the_setting_off_requests_no_check(project, settings):
    build(project, gold=3, pool=20)  # below min_gold_labels: a cold start
    cold, _ = model_run_request(project=project, trigger="manual")
    assert model_run_execute(run_id=cold.pk).mode == "cold_start"
    assert not NoiseRun.objects.exists()

    settings.GOLDSET = {**settings.GOLDSET, "LEARNING_NOISE_AFTER_MODEL_RUN": False}
    build(project, gold=40, pool=0, seed=3)
    trained, _ = model_run_request(project=project, trigger="manual")
    assert model_run_execute(run_id=trained.pk).mode == "model"
    assert not NoiseRun.objects.exists()


def test_a_failing_check_request_does_not_fail_the_model_run(project, monkeypatch):
    build(project, gold=40, pool=20)

    def boom(**kwargs):
        raise RuntimeError("broker down")

    monkeypatch.setattr("learning.services.noise.noise_run_request", boom)
    run, _ = model_run_request(project=project, trigger="manual")

    assert model_run_execute(run_id=run.pk).status == ModelRun.Status.DONE

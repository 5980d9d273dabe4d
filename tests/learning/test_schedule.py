"""model_run_schedule (beat, every minute): every N new gold labels, every T minutes with new
gold, never while a run is in flight or when automatic retraining is off."""

from datetime import timedelta

import pytest
from django.utils import timezone

from learning.models import ModelRun
from learning.services.config import learning_config_update
from learning.services.runs import model_run_schedule, stale_after
from learning.tasks import model_run_schedule_task
from tests.factories import ItemFactory, ProjectFactory, gold_label, items

pytestmark = pytest.mark.django_db


def _gold(project, n, when=None):
    for item in items(project, n):
        gold_label(item, when=when)


def _finished_run(project, when):
    run = ModelRun.objects.create(
        project=project, number=1, trigger="manual", status=ModelRun.Status.DONE
    )
    ModelRun.objects.filter(pk=run.pk).update(created_at=when)
    return run


def test_enough_new_gold_labels_trigger_a_run(project):
    learning_config_update(project=project, retrain_every_labels=5, retrain_every_minutes=0)
    _finished_run(project, timezone.now() - timedelta(minutes=1))
    _gold(project, 4)

    assert model_run_schedule() == []

    _gold(project, 1)
    [run_id] = model_run_schedule()

    run = ModelRun.objects.get(pk=run_id)
    assert run.trigger == ModelRun.Trigger.LABELS and run.number == 2


def test_gold_labels_from_before_the_last_run_do_not_count(project):
    learning_config_update(project=project, retrain_every_labels=5, retrain_every_minutes=0)
    now = timezone.now()
    _gold(project, 10, when=now - timedelta(minutes=5))
    _finished_run(project, now - timedelta(minutes=1))

    assert model_run_schedule(now=now) == []


def test_time_triggers_only_with_new_gold(project):
    learning_config_update(project=project, retrain_every_labels=100, retrain_every_minutes=30)
    now = timezone.now()
    _finished_run(project, now - timedelta(minutes=31))

    assert model_run_schedule(now=now) == []  # no new data: nothing to learn

    _gold(project, 1)
    assert model_run_schedule(now=now - timedelta(minutes=2)) == []  # 29 minutes: not yet
    [run_id] = model_run_schedule(now=now)
    assert ModelRun.objects.get(pk=run_id).trigger == ModelRun.Trigger.SCHEDULE


def test_a_project_that_never_ran_trains_once_it_has_gold(project):
    # No settings saved: the defaults (automatic, every 50 labels or 60 minutes) apply.
    assert model_run_schedule() == []

    _gold(project, 1)

    [run_id] = model_run_schedule()
    assert ModelRun.objects.get(pk=run_id).project == project


def test_no_run_while_one_is_in_flight_or_when_automatic_retraining_is_off(project):
    learning_config_update(project=project, retrain_every_labels=1)
    _gold(project, 3)
    ModelRun.objects.create(project=project, number=1, trigger="manual")

    assert model_run_schedule() == []

    ModelRun.objects.filter(project=project).update(status="done")
    learning_config_update(project=project, enabled=False)
    assert model_run_schedule() == []


def test_the_schedule_fails_dead_runs_then_retrains(project):
    learning_config_update(project=project, retrain_every_labels=1)
    dead = ModelRun.objects.create(project=project, number=1, trigger="manual")
    ModelRun.objects.filter(pk=dead.pk).update(
        created_at=timezone.now() - stale_after() - timedelta(minutes=1)
    )
    _gold(project, 2)

    [run_id] = model_run_schedule()

    dead.refresh_from_db()
    assert dead.status == ModelRun.Status.FAILED
    assert ModelRun.objects.get(pk=run_id).number == 2


def test_one_bad_project_does_not_stop_the_others(project):
    other = ProjectFactory()  # no categories: cannot train
    gold_label(ItemFactory(project=other))
    _gold(project, 1)

    [run_id] = model_run_schedule()

    assert ModelRun.objects.get(pk=run_id).project == project
    assert not ModelRun.objects.filter(project=other).exists()


def test_the_beat_task_calls_the_schedule(project):
    _gold(project, 1)

    assert len(model_run_schedule_task()) == 1


def test_the_check_costs_a_fixed_number_of_queries(project, django_assert_num_queries):
    learning_config_update(project=project, retrain_every_labels=1000)
    for _ in range(3):
        p = ProjectFactory()
        _gold(p, 1)
        ModelRun.objects.create(project=p, number=1, trigger="manual", status="done")

    # expire stale (2 updates) + candidates (1) + one bounded count per project (4)
    with django_assert_num_queries(7):
        assert model_run_schedule() == []

"""Concurrency on PostgreSQL with real threads: simultaneous "retrain now" requests make one
run; a run saving its picks while annotators claim and submit neither deadlocks nor breaks the
queue's counters."""

import threading
import uuid

import pytest
from django.db import connection

from annotation.models import Item, Role
from annotation.services.annotations import annotation_submit
from annotation.services.queue import item_claim_next
from learning.models import ModelRun, PickedItem
from learning.services.execute import model_run_execute
from learning.services.runs import model_run_request
from tests.factories import member
from tests.learning.conftest import build

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]

BARRIER_TIMEOUT = 30


def _in_threads(targets) -> list[str]:
    barrier = threading.Barrier(len(targets))
    errors: list[str] = []

    def wrap(fn):
        def run():
            try:
                barrier.wait(timeout=BARRIER_TIMEOUT)
                fn()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(repr(exc))
            finally:
                connection.close()

        return run

    threads = [threading.Thread(target=wrap(fn), daemon=True) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


def test_simultaneous_requests_make_one_run(project, monkeypatch):
    monkeypatch.setattr("learning.tasks.model_run_task.delay", lambda run_id: None)
    results = []

    def request():
        results.append(model_run_request(project=project, trigger="manual"))

    errors = _in_threads([request] * 8)

    assert errors == []
    assert ModelRun.objects.filter(project=project).count() == 1
    assert sum(created for _, created in results) == 1
    assert {run.pk for run, _ in results} == {ModelRun.objects.get().pk}


def test_a_run_saves_while_annotators_label(project, monkeypatch):
    monkeypatch.setattr("learning.tasks.model_run_task.delay", lambda run_id: None)
    data = build(project, gold=60, pool=200)
    annotators = [member(project, Role.ANNOTATOR) for _ in range(6)]
    hate = data.categories["Hate"].pk
    run, _ = model_run_request(project=project, trigger="manual")
    outcome = {}

    def execute():
        outcome["run"] = model_run_execute(run_id=run.pk)

    def label(user):
        def go():
            for _ in range(15):
                claim = item_claim_next(project=project, annotator=user)
                if claim is None:
                    return
                annotation_submit(
                    project=project,
                    annotator=user,
                    item_id=claim.item.pk,
                    category_ids=[hate],
                    idempotency_key=uuid.uuid4().hex,
                )

        return go

    errors = _in_threads([execute, *[label(u) for u in annotators]])

    assert errors == []
    done = outcome["run"]
    assert done.status == ModelRun.Status.DONE, done.error
    # Picks written to the queue carry this run; picks skipped were started meanwhile.
    for pick in PickedItem.objects.filter(run=done).select_related("item"):
        if pick.queued:
            assert pick.item.selection_run_id == done.pk
        else:
            assert pick.item.annotation_count > 0 or pick.item.label_state != "pending"
    # The queue's counter still matches the rows for every item.
    for item in Item.objects.filter(project=project, label_state="pending"):
        active = item.assignments.filter(state="active").count()
        expected = max(0, project.overlap - item.annotations.count() - active)
        assert item.open_slots == expected, item.pk

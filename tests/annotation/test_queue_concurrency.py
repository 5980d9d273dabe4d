"""The queue under real parallel load on PostgreSQL: many annotators, one connection each.

These tests start real threads (each with its own database connection) that call the queue
services at the same time, so `SELECT … FOR UPDATE SKIP LOCKED`, the row locks and the unique
constraints are exercised for real. Thread interleavings differ from run to run; the assertions
are invariants that must hold for every interleaving, so the tests are deterministic in what
they check. Skipped on SQLite (see tests/conftest.py).
"""

import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from annotation.models import Annotation, Assignment, Item, LabelEvent, Role
from annotation.services.annotations import annotation_submit
from annotation.services.queue import (
    assignment_expire_stale,
    assignment_skip,
    item_claim_next,
)
from tests.factories import CategoryFactory, ProjectFactory, UserFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]

N_ANNOTATORS = 20
N_ITEMS = 300
HTTP_ITEMS = 120  # each HTTP round trip costs more than a service call
OVERLAP = 2
BARRIER_TIMEOUT = 30

# One statement, so PostgreSQL evaluates it on one snapshot: items where annotations plus active
# leases exceed the overlap, and items whose open_slots counter disagrees with the rows.
MONITOR_SQL = """
SELECT
  count(*) FILTER (WHERE n_ann + n_active > %(k)s),
  count(*) FILTER (WHERE open_slots <> GREATEST(0, %(k)s - n_ann - n_active)),
  count(*) FILTER (WHERE annotation_count <> n_ann)
FROM (
  SELECT i.id, i.open_slots, i.annotation_count,
    (SELECT count(*) FROM annotation_annotation a WHERE a.item_id = i.id) AS n_ann,
    (SELECT count(*) FROM annotation_assignment s
      WHERE s.item_id = i.id AND s.state = 'active') AS n_active
  FROM annotation_item i WHERE i.project_id = %(project)s
) AS per_item
"""


@dataclass
class Log:
    """What the simulated clients saw: thread-safe appends only."""

    submitted: list = field(default_factory=list)  # (item_id, annotator_id, key, annotation_id)
    replays: list = field(default_factory=list)  # (first annotation id, replayed annotation id)
    skipped: list = field(default_factory=list)  # (item_id, annotator_id)
    abandoned: list = field(default_factory=list)  # (item_id, annotator_id)
    errors: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, value) -> None:
        with self.lock:
            getattr(self, name).append(value)


def _setup(n_items: int = N_ITEMS, n_annotators: int = N_ANNOTATORS):
    project = ProjectFactory(overlap=OVERLAP, lease_minutes=10)
    categories = [
        CategoryFactory(project=project, name=name, hotkey=str(i + 1), order=i)
        for i, name in enumerate(["Adult Content", "Violence", "Self-Harm", "Hate"])
    ]
    Item.objects.bulk_create(
        [
            Item(
                project=project,
                external_id=f"c-{n}",
                text=f"Concurrent text {n}",
                content_hash=f"{n:064d}",
                priority=random.Random(n).random(),
                open_slots=OVERLAP,
            )
            for n in range(n_items)
        ]
    )
    users = [UserFactory(username=f"par{n}") for n in range(n_annotators)]
    for user in users:
        project.memberships.create(user=user, role=Role.ANNOTATOR)
    return project, [c.pk for c in categories], users


def _run_threads(targets: list, barrier: threading.Barrier, log: Log) -> None:
    def wrap(fn):
        def run():
            try:
                barrier.wait(timeout=BARRIER_TIMEOUT)
                fn()
            except BaseException as exc:  # noqa: BLE001 - reported by the test, not swallowed
                log.add("errors", repr(exc))
            finally:
                connection.close()

        return run

    threads = [threading.Thread(target=wrap(fn), daemon=True) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=100)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"


def _something_left_for(project, user) -> bool:
    """Is there an item this annotator has not labeled, skipped or held that may still need
    them (a released or expired lease does not count: the claim may offer the item again)?

    SKIP LOCKED means a claim can come back empty while the only items left are locked for a
    moment by other annotators' transactions; the simulated client then polls again, as the
    annotate page does.
    """
    return (
        Item.objects.filter(project=project, annotation_count__lt=project.overlap)
        .exclude(
            pk__in=Assignment.objects.filter(
                annotator=user, state__in=["active", "submitted", "skipped"]
            ).values("item_id")
        )
        .exists()
    )


def _key() -> str:
    return uuid.uuid4().hex


def _db_annotations(project) -> set:
    return set(
        Annotation.objects.filter(item__project=project).values_list(
            "item_id", "annotator_id", "idempotency_key", "id"
        )
    )


def _assert_final_state(project, log: Log) -> None:
    assert log.errors == []
    stored = _db_annotations(project)
    # Every submit the client saw succeed is stored, and nothing else is.
    assert set(log.submitted) == stored
    assert len(log.submitted) == len(stored)
    pairs = Counter((item_id, user_id) for item_id, user_id, _, _ in stored)
    assert max(pairs.values()) == 1, "an annotator labeled the same item twice"
    assert Assignment.objects.filter(project=project, state="active").count() == 0
    assert LabelEvent.objects.filter(project=project, action="submit").count() == len(stored)
    with connection.cursor() as cursor:
        cursor.execute(MONITOR_SQL, {"k": project.overlap, "project": project.pk})
        assert cursor.fetchone() == (0, 0, 0)


def test_twenty_parallel_annotators_label_everything_exactly_k_times():
    # Given an overlap-2 project of 300 items and 20 annotators starting at the same instant
    project, category_ids, users = _setup()
    log = Log()
    barrier = threading.Barrier(len(users))

    def annotator_loop(user, rng):
        while True:
            claim = item_claim_next(project=project, annotator=user)
            if claim is None:
                if not _something_left_for(project, user):
                    return
                time.sleep(0.005)
                continue
            key = _key()
            result = annotation_submit(
                project=project,
                annotator=user,
                item_id=claim.item.pk,
                category_ids=[rng.choice(category_ids)],
                idempotency_key=key,
            )
            assert result.created
            log.add("submitted", (claim.item.pk, user.pk, key, result.annotation.pk))

    # When they all claim and submit until the queue is empty for everyone
    _run_threads(
        [lambda u=u, n=n: annotator_loop(u, random.Random(n)) for n, u in enumerate(users)],
        barrier,
        log,
    )

    # Then every item has exactly k annotations from k different annotators, nothing is lost
    _assert_final_state(project, log)
    counts = Counter(
        Item.objects.filter(project=project).values_list("annotation_count", flat=True)
    )
    assert counts == {OVERLAP: N_ITEMS}
    assert set(Item.objects.filter(project=project).values_list("open_slots", flat=True)) == {0}
    assert len(log.submitted) == N_ITEMS * OVERLAP
    # and the work was really spread over the annotators (no one was starved by the locks)
    per_user = Counter(user_id for _, user_id, _, _ in log.submitted)
    assert len(per_user) == N_ANNOTATORS


def _submit_twice_concurrently(**kwargs):
    """Two copies of the same request at the same instant (a client retry racing itself)."""
    results: list = []
    errors: list = []
    gate = threading.Barrier(2)

    def send():
        try:
            gate.wait(timeout=BARRIER_TIMEOUT)
            results.append(annotation_submit(**kwargs))
        except BaseException as exc:  # noqa: BLE001
            errors.append(repr(exc))
        finally:
            connection.close()

    twins = [threading.Thread(target=send, daemon=True) for _ in range(2)]
    for t in twins:
        t.start()
    for t in twins:
        t.join(timeout=60)
    assert errors == []
    return results


def test_chaos_skips_abandoned_leases_and_retried_submits_keep_the_invariants():
    # Given the same project, where annotators skip, abandon leases and retry their submits,
    # while a sweeper expires stale leases and a monitor samples the invariants
    project, category_ids, users = _setup()
    log = Log()
    running = threading.Event()
    running.set()
    samples: list = []

    def annotator_loop(user, rng):
        while True:
            claim = item_claim_next(project=project, annotator=user)
            if claim is None:
                if not _something_left_for(project, user):
                    return
                time.sleep(0.005)
                continue
            item_id = claim.item.pk
            roll = rng.random()
            if roll < 0.08:
                assignment_skip(
                    project=project, annotator=user, item_id=item_id, reason="Not in English"
                )
                log.add("skipped", (item_id, user.pk))
                continue
            if roll < 0.14:
                # The tab is closed: the lease is left to expire and the sweeper reopens it.
                Assignment.objects.filter(pk=claim.assignment.pk, state="active").update(
                    expires_at=timezone.now() - timedelta(seconds=1)
                )
                log.add("abandoned", (item_id, user.pk))
                continue
            key = _key()
            kwargs = dict(
                project=project,
                annotator=user,
                item_id=item_id,
                category_ids=rng.sample(category_ids, rng.randint(1, 2)),
                idempotency_key=key,
            )
            if roll < 0.30:
                results = _submit_twice_concurrently(**kwargs)
                assert sorted(r.created for r in results) == [False, True]
                first, second = (r.annotation.pk for r in results)
                log.add("replays", (first, second))
            else:
                results = [annotation_submit(**kwargs)]
                assert results[0].created
                if roll < 0.45:
                    replay = annotation_submit(**kwargs)  # the response was lost: retry
                    assert not replay.created
                    log.add("replays", (results[0].annotation.pk, replay.annotation.pk))
            log.add("submitted", (item_id, user.pk, key, results[0].annotation.pk))

    def sweeper():
        while running.is_set():
            assignment_expire_stale(project=project)
            time.sleep(0.01)

    def monitor():
        with connection.cursor() as cursor:
            while running.is_set():
                cursor.execute(MONITOR_SQL, {"k": project.overlap, "project": project.pk})
                samples.append(cursor.fetchone())
                time.sleep(0.005)

    workers = [
        lambda u=u, n=n: annotator_loop(u, random.Random(1000 + n)) for n, u in enumerate(users)
    ]
    helpers_done = threading.Event()

    def stop_when_workers_finish(targets):
        # The sweeper and monitor run until every annotator thread has returned.
        def run_all():
            inner = Log()
            _run_threads(targets, threading.Barrier(len(targets)), inner)
            for e in inner.errors:
                log.add("errors", e)
            running.clear()
            helpers_done.set()

        return run_all

    # When everyone works at once until nothing is left for anyone
    _run_threads([stop_when_workers_finish(workers), sweeper, monitor], threading.Barrier(3), log)
    assert helpers_done.is_set()
    assignment_expire_stale(project=project)  # a last sweep for leases abandoned at the very end

    # Then no sample ever saw more than k annotations + active leases on an item, or a wrong
    # open_slots or annotation_count counter
    assert len(samples) > 10
    assert all(s == (0, 0, 0) for s in samples), [s for s in samples if s != (0, 0, 0)][:5]
    # and retries never duplicated: every replay returned the first annotation
    assert log.replays and all(first == again for first, again in log.replays)
    assert log.skipped and log.abandoned
    _assert_final_state(project, log)
    # and every item that enough annotators did not skip or abandon reached exactly k
    declined = Counter(item_id for item_id, _ in log.skipped + log.abandoned)
    for item_id, count in Item.objects.filter(project=project).values_list(
        "pk", "annotation_count"
    ):
        if N_ANNOTATORS - declined[item_id] >= OVERLAP:
            assert count == OVERLAP, item_id


def test_claim_never_hands_back_a_lease_that_a_parallel_sweep_just_expired():
    """Regression: the claim read the annotator's stale lease, a sweep on another connection
    expired it and reopened the slot, then the claim renewed it by primary key anyway and handed
    back an item the annotator no longer held (their later submit made k+1 annotations)."""
    project, _, (owner, other) = _setup(n_items=2, n_annotators=2)
    first = item_claim_next(project=project, annotator=owner)
    Assignment.objects.filter(pk=first.assignment.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    swept: list = []

    def sweep_in_between(execute, sql, params, many, context):
        # Just before the claim renews the lease it read, another connection sweeps.
        if not swept and sql.startswith('UPDATE "annotation_assignment" SET "expires_at"'):
            t = threading.Thread(
                target=lambda: (swept.append(assignment_expire_stale()), connection.close())
            )
            t.start()
            t.join(timeout=30)
        return execute(sql, params, many, context)

    # (The claim sweeps by itself only when it finds nothing, so only the parallel sweep runs.)
    with connection.execute_wrapper(sweep_in_between):
        claim = item_claim_next(project=project, annotator=owner)

    assert swept == [1]
    # a new lease, never the expired one renewed (the item itself may come back: an expired
    # lease does not keep it from the same annotator)
    assert claim is not None and claim.created and claim.assignment.pk != first.assignment.pk
    assert Assignment.objects.get(pk=claim.assignment.pk).state == Assignment.State.ACTIVE
    assert Assignment.objects.get(pk=first.assignment.pk).state == Assignment.State.EXPIRED
    with connection.cursor() as cursor:
        cursor.execute(MONITOR_SQL, {"k": project.overlap, "project": project.pk})
        assert cursor.fetchone() == (0, 0, 0)


def _api(base: str, token: str, path: str, payload: dict) -> tuple[int, dict | None]:
    request = urllib.request.Request(  # noqa: S310 - the live test server's http:// URL
        base + path,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - test server
            body = response.read()
            return response.status, json.loads(body) if body else None
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_twenty_annotators_over_the_rest_api(live_server):
    # Given the same project, and 20 annotators with API tokens talking HTTP to a live server
    from rest_framework.authtoken.models import Token

    project, category_ids, users = _setup(n_items=HTTP_ITEMS)
    tokens = {u.pk: Token.objects.create(user=u).key for u in users}
    log = Log()
    base = f"{live_server.url}/api/projects/{project.slug}"

    def annotator_loop(user, rng):
        token = tokens[user.pk]
        while True:
            status, body = _api(base, token, "/next/", {})
            if status == 204:
                if not _something_left_for(project, user):
                    return
                time.sleep(0.005)
                continue
            assert status == 200, body
            item_id = body["item"]["id"]
            assert set(body["item"]) >= {"id", "text"} and "annotations" not in body["item"]
            key = _key()
            payload = {"categories": [rng.choice(category_ids)], "idempotency_key": key}
            status, stored = _api(base, token, f"/items/{item_id}/submit/", payload)
            assert status == 201, stored
            if rng.random() < 0.1:  # a retried request: same key, same annotation, 200
                again_status, again = _api(base, token, f"/items/{item_id}/submit/", payload)
                assert (again_status, again["id"]) == (200, stored["id"])
            log.add("submitted", (item_id, user.pk, key, stored["id"]))

    # When they all work at once until the queue is empty for everyone
    _run_threads(
        [lambda u=u, n=n: annotator_loop(u, random.Random(n)) for n, u in enumerate(users)],
        threading.Barrier(len(users)),
        log,
    )

    # Then the database holds exactly what the clients were told, k per item
    _assert_final_state(project, log)
    counts = Counter(
        Item.objects.filter(project=project).values_list("annotation_count", flat=True)
    )
    assert counts == {OVERLAP: HTTP_ITEMS}

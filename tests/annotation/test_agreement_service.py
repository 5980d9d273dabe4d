"""Agreement snapshots: figures against hand-built data, gold and gold-question quality, edge
cases without NaN, the debounced request, duplicate task delivery, the sweep, failures."""

import json
import threading
import time
from datetime import timedelta
from unittest import mock

import numpy as np
import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from annotation.agreement.metrics import category_agreement, set_agreement
from annotation.models import AgreementSnapshot, Annotation, Assignment, Item, LabelEvent, Role
from annotation.services.agreement import (
    agreement_note_change,
    agreement_snapshot_compute,
    agreement_snapshot_request,
    agreement_snapshot_run,
    agreement_sweep,
)
from annotation.services.agreement import snapshots as snapshots_module
from tests.factories import (
    CategoryFactory,
    ItemFactory,
    ProjectFactory,
    UserFactory,
    annotate,
    gold_label,
    items,
    member,
)

pytestmark = pytest.mark.django_db
NAN = float("nan")
FAST = override_settings(
    GOLDSET={
        "AGREEMENT_BOOTSTRAP": 200,
        "AGREEMENT_DEBOUNCE_SECONDS": 60,
        "AGREEMENT_GOLD_ALERT_MIN_ANSWERS": 5,
        "AGREEMENT_KEEP_SNAPSHOTS": 20,
    }
)


@pytest.fixture(autouse=True)
def _fast_bootstrap():
    with FAST:
        yield


@pytest.fixture(autouse=True)
def _forget_local_notes():
    """Project ids repeat between tests; the per-process note throttle must not carry over."""
    snapshots_module._noted.clear()
    yield
    snapshots_module._noted.clear()


def cats(project):
    return {c.name: c for c in project.categories.all()}


def by_key(data, key):
    return next(c for c in data["categories"] if c["key"] == key)


def by_name(data, name):
    return next(c for c in data["categories"] if c["name"] == name)


def annotator(data, username):
    return next(a for a in data["annotators"] if a["username"] == username)


def assert_json_safe(data):
    json.dumps(data, allow_nan=False)  # raises on NaN / inf


@pytest.fixture
def world(project):
    """Multi-label, three annotators:
    i1: alice {Adult}, bob {Adult}
    i2: alice {Violence}, bob {Adult}
    i3: alice none, bob none
    i4: alice {Adult, Violence}, bob {Adult}, carol {Adult}
    i5: alice {Hate} (alone)
    """
    c = cats(project)
    adult, violence, hate = c["Adult Content"], c["Violence"], c["Hate"]
    alice, bob, carol = (UserFactory(username=n) for n in ("alice", "bob", "carol"))
    i1, i2, i3, i4, i5 = items(project, 5)
    annotate(i1, alice, [adult])
    annotate(i1, bob, [adult])
    annotate(i2, alice, [violence])
    annotate(i2, bob, [adult])
    annotate(i3, alice, none=True)
    annotate(i3, bob, none=True)
    annotate(i4, alice, [adult, violence])
    annotate(i4, bob, [adult])
    annotate(i4, carol, [adult])
    annotate(i5, alice, [hate])
    return {"users": (alice, bob, carol), "items": (i1, i2, i3, i4, i5), "cats": c}


def test_snapshot_figures_match_hand_built_data(project, world):
    snapshot = agreement_snapshot_compute(project_id=project.pk)

    assert snapshot.status == "done" and snapshot.error == ""
    assert snapshot.annotation_count == 10
    data = snapshot.data
    assert_json_safe(data)
    assert data["counts"]["items"] == 5 and data["counts"]["annotators"] == 3
    # Binary decomposition of Adult Content (rows i1..i5, columns alice, bob, carol).
    R = np.array([[1, 1, NAN], [0, 1, NAN], [0, 0, NAN], [1, 1, 1], [0, NAN, NAN]], dtype=float)
    want = category_agreement(R, n_boot=200, seed=0)
    adult = by_name(data, "Adult Content")
    assert adult["n_items"] == 5 and adult["n_pairable_items"] == 4 and adult["n_positive"] == 6
    for name in ("percent", "alpha", "cohen", "fleiss", "ac1", "positive", "negative"):
        got, exp = adult["metrics"][name], getattr(want, name)
        assert (got["value"], got["low"], got["high"]) == (exp.value, exp.low, exp.high), name
    # Pooled confusion: i1 (a,b) yes/yes; i2 one; i3 no/no; i4 three pairs yes/yes.
    pooled = data["confusion"][adult["key"]]["pooled"]
    assert pooled == {"both_yes": 4, "one_yes": 1, "both_no": 1, "pairs": 6, "percent": 5 / 6}
    alice, bob, carol = world["users"]
    assert data["pairs"][0] == {"a": alice.pk, "b": bob.pk, "shared": 4}
    ab = data["confusion"][adult["key"]]["pairs"][0]
    assert (ab["n11"], ab["n10"], ab["n01"], ab["n00"]) == (2, 0, 1, 1)
    # None of these is a class of its own; set-level alpha over the category sets.
    assert by_key(data, "none")["n_positive"] == 2
    ids = world["cats"]
    a, v = ids["Adult Content"], ids["Violence"]
    sets = [[{a}, {a}], [{v}, {a}], [set(), set()], [{a, v}, {a}, {a}]]
    for distance in ("jaccard", "masi"):
        exp = set_agreement(
            [[frozenset(x.pk for x in s) for s in item] for item in sets],
            distance=distance, n_boot=200, seed=0,
        )  # fmt: skip
        assert data["set_level"][distance]["value"] == pytest.approx(exp.value)


def test_annotator_table_peers_speed_and_skips(project, world):
    alice, bob, carol = world["users"]
    i1, i2, *_ = world["items"]
    Annotation.objects.filter(annotator=alice).update(time_spent_ms=4000)
    Annotation.objects.filter(annotator=bob, item__in=[i1, i2]).update(time_spent_ms=1000)
    Assignment.objects.create(
        project=project, item=ItemFactory(project=project), annotator=carol,
        state="skipped", skip_reason="not sure", expires_at=timezone.now(),
    )  # fmt: skip

    data = agreement_snapshot_compute(project_id=project.pk).data

    a, b, c = (annotator(data, n) for n in ("alice", "bob", "carol"))
    assert [r["username"] for r in data["annotators"]] == ["alice", "bob", "carol"]
    assert (a["annotations"], b["annotations"], c["annotations"]) == (5, 4, 1)
    assert a["median_time_ms"] == 4000 and b["median_time_ms"] == 1000
    assert c["median_time_ms"] is None  # nothing measured
    assert (a["skip_rate"], c["skip_rate"], c["skips"]) == (0.0, 0.5, 1)
    # Same whole label as a peer on shared items: alice 2 of 5, bob 3 of 5, carol 1 of 2.
    assert (a["peers"]["exact"], a["peers"]["pairs"]) == (pytest.approx(2 / 5), 5)
    assert b["peers"]["exact"] == pytest.approx(3 / 5)
    assert c["peers"]["exact"] == pytest.approx(1 / 2)
    # alice vs peers on Adult Content: i1 yes/yes(b), i2 no/yes(b), i3 no/no(b),
    # i4 yes/yes(b), yes/yes(c).
    adult_key = by_name(data, "Adult Content")["key"]
    t = a["peers"]["per_class"][adult_key]
    assert (t["n11"], t["n10"], t["n01"], t["n00"]) == (3, 0, 1, 1)


def test_agreement_with_gold_leaves_out_gold_decided_alone(project, world, lead):
    alice, bob, _ = world["users"]
    i1, i2, _, _, i5 = world["items"]
    c = world["cats"]
    gold_label(i1, [c["Adult Content"]], source="consensus")
    adjudicated = gold_label(i2, [c["Violence"]], source="adjudication")
    adjudicated.decided_by = lead
    adjudicated.save()
    gold_label(i5, [c["Hate"]], source="consensus")  # alice alone: left out
    # The lead labeled i2 as well, then decided it: that comparison is left out too.
    annotate(i2, lead, [c["Violence"]])

    data = agreement_snapshot_compute(project_id=project.pk).data

    a, b = annotator(data, "alice"), annotator(data, "bob")
    me = annotator(data, lead.username)
    assert (a["gold"]["n"], a["gold"]["exact"], a["gold"]["adjudicated"]) == (2, 1.0, 1)
    assert (b["gold"]["n"], b["gold"]["exact"]) == (2, 0.5)
    assert me["gold"]["n"] == 0 and me["gold"]["exact"] is None
    violence = by_name(data, "Violence")["key"]
    t = b["gold"]["per_class"][violence]  # bob said no twice; gold yes on i2
    assert (t["n11"], t["n10"], t["n01"], t["n00"]) == (0, 0, 1, 1)


@pytest.fixture
def gold_questions(project):
    """Six gold questions with known answers; dave answers all (4 right), erin three (all
    wrong), frank one unsure without a label."""
    c = cats(project)
    adult, hate = c["Adult Content"], c["Hate"]
    answers = [[adult], [hate], [], [adult], [hate], []]
    questions = []
    for known in answers:
        item = ItemFactory(project=project, is_gold_question=True, open_slots=0)
        gold_label(item, known, none=not known, source="known")
        questions.append((item, known))
    dave, erin, frank = (UserFactory(username=n) for n in ("dave", "erin", "frank"))
    for k, (item, known) in enumerate(questions):
        if k < 4:
            annotate(item, dave, known, none=not known)
        else:  # wrong: Adult for a Hate question, Hate for a none question
            annotate(item, dave, [adult])
        if k < 3:
            annotate(item, erin, [hate] if known != [hate] else [adult])
    annotate(questions[0][0], frank, unsure=True)
    return {"c": c}


def test_gold_question_accuracy_and_alert(project, gold_questions):
    project.gold_alert_threshold = 0.8
    project.save()

    data = agreement_snapshot_compute(project_id=project.pk).data

    dave, erin, frank = (annotator(data, n)["gold_questions"] for n in ("dave", "erin", "frank"))
    assert (dave["n"], dave["correct"], dave["accuracy"]) == (6, 4, pytest.approx(4 / 6))
    assert dave["enough"] and dave["alert"] and dave["alert_exact"]
    # Per category: Adult wrong twice (said yes on q4 and q5) -> 4/6, below 0.8: alert;
    # Hate wrong once (missed q4) -> 5/6, above 0.8.
    adult = by_name(data, "Adult Content")["key"]
    hate = by_name(data, "Hate")["key"]
    assert dave["per_class"][adult]["accuracy"] == pytest.approx(4 / 6)
    assert dave["per_class"][hate]["accuracy"] == pytest.approx(5 / 6)
    assert dave["per_class"][hate]["gold_positives"] == 2 and dave["per_class"][hate]["found"] == 1
    assert dave["per_class"][adult]["alert"] and not dave["per_class"][hate]["alert"]
    assert dave["alert_classes"] == [adult]
    # erin: every answer wrong, but 3 answers are too few to alert.
    assert (erin["n"], erin["accuracy"], erin["enough"], erin["alert"]) == (3, 0.0, False, False)
    # frank: unsure without a label is unanswered, not wrong.
    assert (frank["n"], frank["unanswered"], frank["accuracy"]) == (0, 1, None)
    # Gold questions never enter peer agreement.
    assert data["counts"]["peer_annotations"] == 0 and data["pairs_total"] == 0
    assert data["counts"]["gold_question_annotations"] == 10


def test_alert_threshold_follows_the_project(project, gold_questions):
    project.gold_alert_threshold = 0.6
    project.save()
    data = agreement_snapshot_compute(project_id=project.pk).data
    assert not annotator(data, "dave")["gold_questions"]["alert"]  # 0.67 >= 0.6


# --- edge cases -------------------------------------------------------------------------------


def _all_estimates(data):
    for c in data["categories"]:
        yield from c["metrics"].values()
    for key in ("jaccard", "masi"):
        if key in data["set_level"]:
            yield data["set_level"][key]


def test_no_annotations_gives_not_enough_data(project):
    snapshot = agreement_snapshot_compute(project_id=project.pk)
    data = snapshot.data
    assert snapshot.status == "done" and snapshot.annotation_count == 0
    assert_json_safe(data)
    assert len(data["categories"]) == 6 and data["annotators"] == []
    for est in _all_estimates(data):
        assert est["value"] is None and est["reason"], est


def test_single_annotator_gives_not_enough_data(project):
    c = cats(project)
    alice = UserFactory()
    for k, item in enumerate(items(project, 4)):
        annotate(item, alice, [c["Hate"]] if k % 2 else [], none=not k % 2)
    data = agreement_snapshot_compute(project_id=project.pk).data
    assert_json_safe(data)
    for est in _all_estimates(data):
        assert est["value"] is None and est["reason"]
    row = data["annotators"][0]
    assert row["peers"]["exact"] is None and row["peers"]["mean_kappa"] is None


def test_category_nobody_chose_and_all_agree(project):
    c = cats(project)
    alice, bob = UserFactory(), UserFactory()
    for k, item in enumerate(items(project, 6)):
        label = [c["Hate"]] if k % 2 else []
        for user in (alice, bob):
            annotate(item, user, label, none=not label)
    data = agreement_snapshot_compute(project_id=project.pk).data
    assert_json_safe(data)
    hate = by_name(data, "Hate")["metrics"]
    assert hate["alpha"]["value"] == 1.0 and hate["percent"]["value"] == 1.0
    assert hate["ac1"]["value"] == 1.0
    self_harm = by_name(data, "Self-Harm")
    assert self_harm["n_positive"] == 0 and self_harm["prevalence"] == 0.0
    assert self_harm["metrics"]["alpha"]["value"] is None
    assert self_harm["metrics"]["alpha"]["reason"]
    assert self_harm["metrics"]["positive"]["value"] is None


def test_unsure_without_label_is_missing_data(project):
    c = cats(project)
    alice, bob = UserFactory(), UserFactory()
    (item,) = items(project, 1)
    annotate(item, alice, [c["Hate"]])
    annotate(item, bob, unsure=True)
    data = agreement_snapshot_compute(project_id=project.pk).data
    assert data["counts"]["undecided"] == 1 and data["counts"]["peer_annotations"] == 1
    assert by_name(data, "Hate")["n_pairable_items"] == 0


def test_single_label_set_level_is_nominal_alpha(db):
    import krippendorff

    project = ProjectFactory(multi_label=False)
    a, b, c = (CategoryFactory(project=project, name=n) for n in ("A", "B", "C"))
    users = [UserFactory() for _ in range(3)]
    labels = [  # per item, per annotator: a category, None (none of these) or "-" (missing)
        [a, a, a], [b, b, c], [None, None, "-"], [c, c, c], [a, b, "-"], [None, a, a], [b, b, b],
    ]  # fmt: skip
    codes = {a: 0, b: 1, c: 2, None: 3}
    for row in labels:
        item = ItemFactory(project=project)
        for user, label in zip(users, row, strict=True):
            if label != "-":
                annotate(item, user, [label] if label else [], none=label is None)

    data = agreement_snapshot_compute(project_id=project.pk).data

    assert set(data["set_level"]) == {"n_items", "jaccard"}
    reliability = [
        [NAN if x == "-" else codes[x] for x in col] for col in zip(*labels, strict=True)
    ]
    want = krippendorff.alpha(reliability_data=reliability, level_of_measurement="nominal")
    assert data["set_level"]["jaccard"]["value"] == pytest.approx(want, abs=1e-9)
    assert by_key(data, "none")["n_positive"] == 3


# --- requests, claims, runs -------------------------------------------------------------------


def test_two_requests_make_one_pending_snapshot(project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = agreement_snapshot_request(project_id=project.pk)
        second = agreement_snapshot_request(project_id=project.pk)
    assert first.pk == second.pk and first.status == "pending"
    assert AgreementSnapshot.objects.filter(project=project).count() == 1
    assert len(callbacks) == 1  # one task sent


def test_request_sends_the_task_with_the_debounce_countdown(
    project, django_capture_on_commit_callbacks
):
    from annotation.tasks import agreement_snapshot_task

    with mock.patch.object(agreement_snapshot_task, "apply_async") as send:
        with django_capture_on_commit_callbacks(execute=True):
            snapshot = agreement_snapshot_request(project_id=project.pk)
        with django_capture_on_commit_callbacks(execute=True):
            agreement_snapshot_request(project_id=project.pk, now=True)
    assert send.call_args_list == [
        mock.call((snapshot.pk,), countdown=60),
        mock.call((snapshot.pk,), countdown=0),  # "now" re-sends the pending one at once
    ]


def test_request_for_unknown_project_is_not_found(db):
    from annotation.errors import NotFound

    with pytest.raises(NotFound):
        agreement_snapshot_request(project_id=999_999)
    assert not AgreementSnapshot.objects.exists()


def test_eager_request_computes_once_committed(project, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        snapshot = agreement_snapshot_request(project_id=project.pk)
    snapshot.refresh_from_db()
    assert snapshot.status == "done" and snapshot.annotation_count == 10
    assert snapshot.data["last_event_id"] == 0  # no audit events in this hand-built data


def test_duplicate_delivery_computes_once(project, world):
    snapshot = AgreementSnapshot.objects.create(project=project)
    with mock.patch.object(
        snapshots_module, "inputs_load", wraps=snapshots_module.inputs_load
    ) as load:
        agreement_snapshot_run(snapshot_id=snapshot.pk)
        again = agreement_snapshot_run(snapshot_id=snapshot.pk)
    assert load.call_count == 1
    assert again.status == "done" and again.pk == snapshot.pk


def test_a_running_snapshot_is_left_alone_unless_stale(project, world):
    snapshot = AgreementSnapshot.objects.create(
        project=project, status="running", started_at=timezone.now()
    )
    assert agreement_snapshot_run(snapshot_id=snapshot.pk).status == "running"
    AgreementSnapshot.objects.filter(pk=snapshot.pk).update(
        started_at=timezone.now() - timedelta(hours=2)
    )
    assert agreement_snapshot_run(snapshot_id=snapshot.pk).status == "done"


def test_run_of_a_pruned_snapshot_does_nothing(db):
    assert agreement_snapshot_run(snapshot_id=123_456) is None


def test_failure_is_recorded_not_raised(project, world):
    with mock.patch(
        "annotation.services.agreement.figures.snapshot_figures",
        side_effect=RuntimeError("boom"),
    ):
        snapshot = agreement_snapshot_compute(project_id=project.pk)
    assert snapshot.status == "failed" and "RuntimeError: boom" in snapshot.error
    assert snapshot.data == {} and snapshot.finished_at is not None
    # The previous good figures, if any, stay the newest done snapshot.
    good = agreement_snapshot_compute(project_id=project.pk)
    assert good.status == "done"


def test_old_snapshots_are_pruned(project):
    with override_settings(GOLDSET={"AGREEMENT_KEEP_SNAPSHOTS": 2, "AGREEMENT_BOOTSTRAP": 10}):
        made = [agreement_snapshot_compute(project_id=project.pk).pk for _ in range(4)]
    kept = list(
        AgreementSnapshot.objects.filter(project=project)
        .order_by("id")
        .values_list("id", flat=True)
    )
    assert kept == made[-2:]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_of_one_snapshot_compute_once(project):
    """Two workers receive the same task at once: the row lock lets one of them claim it."""
    c = cats(project)
    users = [UserFactory() for _ in range(2)]
    for item in items(project, 20):
        for user in users:
            annotate(item, user, [c["Hate"]])
    snapshot = AgreementSnapshot.objects.create(project=project)
    real_load = snapshots_module.inputs_load
    calls = []

    def slow_load(**kwargs):
        calls.append(1)
        time.sleep(0.3)  # widen the window in which a second claim would slip through
        return real_load(**kwargs)

    barrier = threading.Barrier(2)

    def worker():
        try:
            barrier.wait()
            agreement_snapshot_run(snapshot_id=snapshot.pk)
        finally:
            connection.close()

    with mock.patch.object(snapshots_module, "inputs_load", side_effect=slow_load):
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(calls) == 1
    snapshot.refresh_from_db()
    assert snapshot.status == "done"


# --- change notes and the sweep ---------------------------------------------------------------


def test_note_change_requests_once_per_debounce_window(project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        agreement_note_change(project_id=project.pk)
        agreement_note_change(project_id=project.pk)
    assert len(callbacks) == 1
    with mock.patch.object(snapshots_module, "_send"):
        callbacks[0]()
    assert AgreementSnapshot.objects.filter(project=project, status="pending").count() == 1


def test_note_change_touches_the_cache_once_per_local_window(project, monkeypatch):
    from django.core.cache import cache

    calls = []
    real_add = cache.add
    monkeypatch.setattr(cache, "add", lambda *a, **k: calls.append(a) or real_add(*a, **k))
    for _ in range(100):
        agreement_note_change(project_id=project.pk)
    assert len(calls) == 1
    snapshots_module._noted[project.pk] -= snapshots_module.LOCAL_NOTE_SECONDS  # time passes
    agreement_note_change(project_id=project.pk)
    assert len(calls) == 2


def test_note_change_never_breaks_the_caller(project, django_capture_on_commit_callbacks):
    boom = mock.patch.object(
        snapshots_module, "agreement_snapshot_request", side_effect=RuntimeError("db down")
    )
    with django_capture_on_commit_callbacks(execute=True), boom:
        agreement_note_change(project_id=project.pk)  # logged, not raised


def _event(project, user):
    item = ItemFactory(project=project)
    return LabelEvent.objects.create(project=project, item=item, actor=user, action="submit")


def test_sweep_requests_projects_changed_since_their_snapshot(project, lead):
    quiet = ProjectFactory()
    with mock.patch.object(snapshots_module, "_send"):
        assert agreement_sweep() == []  # nothing happened anywhere
        _event(project, lead)
        assert agreement_sweep() == [project.pk]
        assert agreement_sweep() == []  # no new events since the previous sweep
        pending = AgreementSnapshot.objects.get(project=project, status="pending")
        agreement_snapshot_run(snapshot_id=pending.pk)
        _event(project, lead)
        assert agreement_sweep() == [project.pk]
    assert not AgreementSnapshot.objects.filter(project=quiet).exists()


def test_sweep_skips_a_project_whose_snapshot_already_covers_the_events(project, lead):
    _event(project, lead)
    agreement_snapshot_compute(project_id=project.pk)  # covers the event
    from django.core.cache import cache

    cache.delete(snapshots_module.WATERMARK_KEY)  # e.g. a flushed cache: full rescan
    with mock.patch.object(snapshots_module, "_send"):
        assert agreement_sweep() == []


def test_sweep_revives_dead_and_lost_snapshots(project):
    long_ago = timezone.now() - timedelta(hours=3)
    dead = AgreementSnapshot.objects.create(project=project, status="running", started_at=long_ago)
    other = ProjectFactory()
    lost = AgreementSnapshot.objects.create(project=other)
    AgreementSnapshot.objects.filter(pk=lost.pk).update(created_at=long_ago)

    with mock.patch.object(snapshots_module, "_send") as send:
        agreement_sweep()

    dead.refresh_from_db()
    assert dead.status == "failed" and "worker lost" in dead.error
    assert AgreementSnapshot.objects.filter(project=project, status="pending").count() == 1
    assert mock.call(lost.pk, 0) in send.call_args_list


def test_gold_question_items_left_out_of_peer_figures_even_with_two_annotators(project):
    c = cats(project)
    item = ItemFactory(project=project, is_gold_question=True)
    gold_label(item, [c["Hate"]], source="known")
    for user in (UserFactory(), UserFactory()):
        annotate(item, user, [c["Hate"]])
    data = agreement_snapshot_compute(project_id=project.pk).data
    assert by_name(data, "Hate")["n_items"] == 0
    assert Item.objects.get(pk=item.pk).is_gold_question


@pytest.mark.real_services
@pytest.mark.django_db(transaction=True)
def test_snapshot_computed_by_the_real_worker(celery_worker):
    project = ProjectFactory(overlap=2)
    hate = CategoryFactory(project=project, name="Hate", hotkey="1")
    users = [member(project, Role.ANNOTATOR) for _ in range(2)]
    for k, item in enumerate(items(project, 6)):
        for user in users:
            annotate(item, user, [hate] if k % 2 else [], none=not k % 2)

    snapshot = agreement_snapshot_request(project_id=project.pk, now=True)

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        snapshot.refresh_from_db()
        if snapshot.status in ("done", "failed"):
            break
        time.sleep(0.5)
    assert snapshot.status == "done", snapshot.error
    assert snapshot.annotation_count == 12
    assert by_name(snapshot.data, "Hate")["metrics"]["alpha"]["value"] == 1.0

"""Agreement snapshots: requested after changes, computed in the background, read by pages.

Life of a snapshot: `agreement_snapshot_request` creates a *pending* row (only if the project
has none pending: requests in the meantime join it) and sends `agreement_snapshot_task` when
the transaction commits, after a countdown of GOLDSET["AGREEMENT_DEBOUNCE_SECONDS"], so a burst
of submits is computed once. The task claims the row under a lock (pending → running; a copy
of the task delivered twice finds it running and does nothing), computes with no transaction
open, and stores the figures in one short transaction (done, or failed with the error).

Triggers:
- `agreement_note_change` for hot paths (submit, undo) and gold decisions: a dict lookup, and
  at most every few seconds per process one cache `add`; only the first change of a project in
  each debounce window goes on to request a snapshot, after the caller's commit.
- `agreement_sweep` (Celery beat, every GOLDSET["AGREEMENT_SWEEP_SECONDS"]): projects with label
  events (the append-only audit log: submits, undos, gold decisions) newer than their latest
  snapshot; also re-sends pending snapshots whose task was lost and fails runs that died.
- a lead's "recompute now" (page and API): a request without countdown.

Without a broker (the embedded default, Celery eager) the task runs in the calling process as
soon as the transaction commits: small projects get fresh figures at once. Hot paths only call
`agreement_note_change`, which costs a dict lookup almost always.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ...errors import NotFound
from ...models import AgreementSnapshot, LabelEvent, Project
from .arrays import Params
from .load import inputs_load

logger = logging.getLogger(__name__)

Status = AgreementSnapshot.Status
WATERMARK_KEY = "agreement:sweep:last-event-id"
# A run older than this is dead (the task's hard time limit is shorter, see tasks.py).
STALE_RUNNING_AFTER = timedelta(minutes=45)


def _setting(name: str, default):
    return settings.GOLDSET.get(name, default)


def debounce_seconds() -> int:
    return int(_setting("AGREEMENT_DEBOUNCE_SECONDS", 60))


def params_for(project: Project) -> Params:
    return Params(
        n_boot=int(_setting("AGREEMENT_BOOTSTRAP", 1000)),
        gold_alert_threshold=float(project.gold_alert_threshold),
        gold_alert_min_answers=int(_setting("AGREEMENT_GOLD_ALERT_MIN_ANSWERS", 5)),
    )


def _send(snapshot_id: int, countdown: int) -> None:
    """Queue the computation; a broker error is logged, not raised (the caller's work is
    already committed, and the sweep re-sends pending snapshots whose task never ran)."""
    from ...tasks import agreement_snapshot_task

    try:
        agreement_snapshot_task.apply_async((snapshot_id,), countdown=countdown)
    except Exception:
        logger.exception("could not queue agreement snapshot %s", snapshot_id)


def agreement_snapshot_request(*, project_id: int, now: bool = False) -> AgreementSnapshot:
    """The project's pending snapshot, created if there is none, with its task sent on commit
    after the debounce countdown (`now`: at once, also for a snapshot already pending).

    Locks the project row (FOR NO KEY UPDATE: it does not wait for the queue's inserts that
    reference the project) so that two concurrent requests create one pending snapshot.
    """
    countdown = 0 if now else debounce_seconds()
    with transaction.atomic():
        locked = (
            Project.objects.select_for_update(no_key=True)
            .filter(pk=project_id)
            .values_list("id", flat=True)
        )
        if not list(locked):
            raise NotFound("No such project.")
        snapshot = (
            AgreementSnapshot.objects.filter(project_id=project_id, status=Status.PENDING)
            .order_by("-id")
            .first()
        )
        created = snapshot is None
        if created:
            snapshot = AgreementSnapshot.objects.create(project_id=project_id)
        if created or now:
            snapshot_id = snapshot.pk
            transaction.on_commit(lambda: _send(snapshot_id, countdown))
    return snapshot


def changed_key(project_id: int) -> str:
    return f"agreement:changed:{project_id}"


# Per process: when this process last passed a project's change on to the shared cache.
# A Redis round trip costs about 0.5 ms on these machines, too much for every submit; a dict
# lookup costs nothing. A change within LOCAL_NOTE_SECONDS of the previous one in the same
# process is not passed on: the snapshot already requested will usually include it, and if it
# ends a burst just after that snapshot read its data, the next change or the sweep covers it.
LOCAL_NOTE_SECONDS = 5.0
_noted: dict[int, float] = {}


def agreement_note_change(*, project_id: int) -> None:
    """Call after a label change (inside or outside the caller's transaction). Costs a dict
    lookup, and at most every LOCAL_NOTE_SECONDS per process a cache `add`; the first change of
    the project in each debounce window requests a snapshot once the caller's transaction
    commits. Never raises for a failed request: it is logged, and the sweep catches the change
    later."""
    now = time.monotonic()
    if now - _noted.get(project_id, -LOCAL_NOTE_SECONDS) < LOCAL_NOTE_SECONDS:
        return
    _noted[project_id] = now
    if not cache.add(changed_key(project_id), 1, timeout=debounce_seconds()):
        return

    def request() -> None:
        try:
            agreement_snapshot_request(project_id=project_id)
        except Exception:
            logger.exception("agreement snapshot request for project %s failed", project_id)

    transaction.on_commit(request)


def _claim(snapshot_id: int) -> AgreementSnapshot | None:
    """pending → running under the row lock; None when another run has it (or had it)."""
    now = timezone.now()
    with transaction.atomic():
        snapshot = AgreementSnapshot.objects.select_for_update().filter(pk=snapshot_id).first()
        if snapshot is None:
            return None  # pruned meanwhile
        stale = (
            snapshot.status == Status.RUNNING
            and snapshot.started_at is not None
            and snapshot.started_at < now - STALE_RUNNING_AFTER
        )
        if snapshot.status != Status.PENDING and not stale:
            return None
        snapshot.status = Status.RUNNING
        snapshot.started_at = now
        snapshot.save(update_fields=["status", "started_at"])
    return snapshot


def _last_event_id() -> int:
    return LabelEvent.objects.aggregate(m=Max("id"))["m"] or 0


def _compute(snapshot: AgreementSnapshot) -> AgreementSnapshot:
    """Compute a claimed snapshot (no transaction open) and store the outcome. Never raises:
    a failure is recorded on the row."""
    # Imported here: web processes only request snapshots and need neither scipy nor the
    # statistics; workers pay the import once.
    from .figures import snapshot_figures

    started = time.perf_counter()
    try:
        project = Project.objects.get(pk=snapshot.project_id)
        # Taken before reading: events after it are changes this snapshot may not include.
        last_event_id = _last_event_id()
        inputs = inputs_load(project=project)
        loaded = time.perf_counter()
        data = snapshot_figures(inputs, params_for(project))
        data["last_event_id"] = last_event_id
        data["timings"]["load_s"] = round(loaded - started, 3)
        data["timings"]["total_s"] = round(time.perf_counter() - started, 3)
        json.dumps(data, allow_nan=False)  # refuses NaN/inf before they reach the database
    except Exception as exc:
        logger.exception("agreement snapshot %s failed", snapshot.pk)
        return _finish(snapshot, status=Status.FAILED, error=f"{type(exc).__name__}: {exc}")
    return _finish(
        snapshot, status=Status.DONE, data=data, annotation_count=len(inputs.annotations)
    )


def _finish(
    snapshot: AgreementSnapshot,
    *,
    status: str,
    data: dict | None = None,
    annotation_count: int = 0,
    error: str = "",
) -> AgreementSnapshot:
    snapshot.status = status
    snapshot.data = data or {}
    snapshot.annotation_count = annotation_count
    snapshot.error = error[:2000]
    snapshot.finished_at = timezone.now()
    keep = int(_setting("AGREEMENT_KEEP_SNAPSHOTS", 20))
    with transaction.atomic():
        snapshot.save(update_fields=["status", "data", "annotation_count", "error", "finished_at"])
        old = list(
            AgreementSnapshot.objects.filter(
                project_id=snapshot.project_id, status__in=[Status.DONE, Status.FAILED]
            )
            .order_by("-id")
            .values_list("id", flat=True)[keep:]
        )
        if old:
            AgreementSnapshot.objects.filter(pk__in=old).delete()
    return snapshot


def agreement_snapshot_run(*, snapshot_id: int) -> AgreementSnapshot | None:
    """The task's service: claim the pending snapshot and compute it. A snapshot already
    claimed (a duplicate delivery) or gone is left alone; returns the row as it stands."""
    snapshot = _claim(snapshot_id)
    if snapshot is None:
        return AgreementSnapshot.objects.filter(pk=snapshot_id).first()
    return _compute(snapshot)


def agreement_snapshot_compute(*, project_id: int) -> AgreementSnapshot:
    """Compute a snapshot of the project now, in this process (benchmarks, management, tests)."""
    if not Project.objects.filter(pk=project_id).exists():
        raise NotFound("No such project.")
    snapshot = AgreementSnapshot.objects.create(
        project_id=project_id, status=Status.RUNNING, started_at=timezone.now()
    )
    return _compute(snapshot)


def _changed_projects() -> dict[int, int]:
    """Projects with label events since the previous sweep: {project id: newest event id}."""
    high = _last_event_id()
    low = cache.get(WATERMARK_KEY)
    if low is None or low > high:
        low = 0  # first sweep, or the cache was flushed: one full scan of the audit log
    changed = dict(
        LabelEvent.objects.filter(id__gt=low, id__lte=high)
        .values("project_id")
        .annotate(m=Max("id"))
        .order_by()
        .values_list("project_id", "m")
    )
    cache.set(WATERMARK_KEY, high, None)
    return changed


def _needs_snapshot(project_id: int, newest_event: int) -> bool:
    latest = (
        AgreementSnapshot.objects.filter(project_id=project_id)
        .order_by("-id")
        .values_list("status", "data__last_event_id")
        .first()
    )
    if latest is None:
        return True
    status, covered = latest
    if status == Status.PENDING:
        return False
    if status == Status.DONE and covered is not None:
        return int(covered) < newest_event
    return True


def _revive_stalled(now: datetime) -> None:
    """Fail runs that died, re-send pending snapshots whose task never arrived."""
    grace = timedelta(seconds=debounce_seconds() * 2 + 120)
    dead = AgreementSnapshot.objects.filter(
        status=Status.RUNNING, started_at__lt=now - STALE_RUNNING_AFTER
    )
    for snapshot_id, project_id in dead.values_list("id", "project_id"):
        AgreementSnapshot.objects.filter(pk=snapshot_id, status=Status.RUNNING).update(
            status=Status.FAILED,
            error="The computation stopped without finishing (worker lost).",
            finished_at=now,
        )
        agreement_snapshot_request(project_id=project_id, now=True)
    stalled = AgreementSnapshot.objects.filter(status=Status.PENDING, created_at__lt=now - grace)
    for snapshot_id in stalled.values_list("id", flat=True)[:100]:
        _send(snapshot_id, 0)


def agreement_sweep(*, now: datetime | None = None) -> list[int]:
    """Beat's safety net: request snapshots for projects changed since their latest one.
    Returns the ids of the projects it requested."""
    now = now or timezone.now()
    requested = []
    for project_id, newest_event in sorted(_changed_projects().items()):
        if not _needs_snapshot(project_id, newest_event):
            continue
        try:
            agreement_snapshot_request(project_id=project_id)
        except NotFound:
            continue  # deleted project (the audit log keeps its events)
        requested.append(project_id)
    _revive_stalled(now)
    return requested

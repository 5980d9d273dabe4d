"""What a model run does with its results (`execute.py` computes them): the transaction that
puts the picks into the queue, then — the run still running, the queue already serving the new
batch — storing the model and cross-validating, and the transaction that marks the run done
with its metrics; and how a run ends when something fails before or after its picks are saved.
"""

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from .. import selectors
from ..models import ModelRun, PickedItem
from .clock import RunClock
from .oof import oof_keep
from .picks import RankedPick, picks_write

logger = logging.getLogger(__name__)

ERROR_MAX_CHARS = 2000


@dataclass
class Outcome:
    """What the compute step hands to the save and finish steps."""

    mode: str
    gold_count: int
    pool_size: int
    picks: list[RankedPick]
    metrics: dict
    # Model runs: the fitted model and the gold rows' features and labels, for storing the
    # model and cross-validating once the picks are saved.
    model: Any = None
    X: Any = None
    Y: np.ndarray | None = None
    # The gold label row of each row of X and Y (the label-noise check reuses the run's
    # out-of-fold probabilities for exactly these rows, `oof.py`).
    gold_ids: np.ndarray | None = None
    # The cross-validation folds already fitting (evaluation.FoldsInFlight), or None: they
    # are fitted in `finish`.
    folds: Any = None

    def drop_folds(self) -> None:
        """The run ends without its metrics: folds in flight are not waited for."""
        if self.folds is not None:
            self.folds.cancel()
            self.folds = None


def _store_artifact(run: ModelRun, data: bytes) -> str:
    """Write the model to media storage (outside any transaction); returns its name."""
    field_ = ModelRun._meta.get_field("artifact")
    return default_storage.save(
        field_.generate_filename(run, f"run-{run.number}.model"), ContentFile(data)
    )


def _discard_artifact(name: str) -> None:
    if name:
        default_storage.delete(name)


def save_picks(run: ModelRun, outcome: Outcome, clock: RunClock) -> ModelRun:
    """The transaction that puts the picks into the queue. A run that is no longer running
    (the timeout failed it meanwhile, and a newer run may have replaced its batch) saves
    nothing. A model run stays running (it cross-validates next); a cold start is done."""
    earlier = selectors.earlier_pick_item_ids(run=run)
    now = timezone.now()
    save_started = time.monotonic()
    clock.report("saving picks", 0.0)
    with transaction.atomic():
        locked = ModelRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != ModelRun.Status.RUNNING:
            logger.warning("model run %s is %s: results discarded", run.pk, locked.status)
            return locked
        queued, released = picks_write(run=locked, picks=outcome.picks, earlier_item_ids=earlier)
        if released:
            PickedItem.objects.filter(
                run__project_id=run.project_id,
                run_id__lt=run.pk,
                item_id__in=released,
                released_at__isnull=True,
            ).update(released_at=now)
        PickedItem.objects.bulk_create(
            [
                PickedItem(
                    run=locked,
                    item_id=p.item_id,
                    rank=p.rank,
                    reason=p.reason,
                    inclusion_probability=p.inclusion_probability,
                    score=p.score,
                    category_id=p.category_id,
                    queued=p.item_id in queued,
                )
                for p in outcome.picks
            ],
            batch_size=1000,
        )
        clock.timings["saving picks"] = round(time.monotonic() - save_started, 3)
        clock.timings["picks saved at"] = round(time.monotonic() - clock.started, 3)
        locked.mode = outcome.mode
        locked.gold_count = outcome.gold_count
        locked.pool_size = outcome.pool_size
        locked.picked_count = len(outcome.picks)
        locked.metrics = {**outcome.metrics, "queued": len(queued), "released": len(released)}
        locked.picks_saved_at = now
        locked.timings = clock.total()
        locked.error = ""
        if outcome.mode == ModelRun.Mode.COLD_START:  # nothing follows
            _mark_done(locked, now)
        else:
            locked.phase = "storing the model"
            locked.progress = 0.0
        locked.save()
    logger.info(
        "model run %s saved %s picks (%s queued, %s released)",
        run.pk, len(outcome.picks), len(queued), len(released),
    )  # fmt: skip
    return locked


def _mark_done(run: ModelRun, now) -> None:
    run.status = ModelRun.Status.DONE
    run.phase = "done"
    run.progress = 1.0
    run.finished_at = now


def finish(run: ModelRun, outcome: Outcome, clock: RunClock) -> ModelRun:
    """After the picks are saved: store the model (while folds in flight go on fitting), finish
    the cross-validation, and mark the run done. Nothing here touches the queue, and a failure
    cannot take the picks back: the run ends done with the error recorded and without what
    failed (a failed store still keeps the metrics, a failed cross-validation the model)."""
    artifact_name, size = "", 0
    errors: list[str] = []
    cv: dict = {}
    try:
        with clock.phase("storing the model"):
            data = outcome.model.to_bytes()
            artifact_name, size = _store_artifact(run, data), len(data)
    except Exception as exc:  # noqa: BLE001 - recorded on the run; the picks stay
        logger.exception("model run %s: storing the model failed", run.pk)
        errors.append(f"{type(exc).__name__}: {exc}")
    try:
        cv = _cross_validate(run, outcome, clock)
    except Exception as exc:  # noqa: BLE001 - recorded on the run; the picks stay
        logger.exception("model run %s: cross-validation failed after saving its picks", run.pk)
        errors.append(f"{type(exc).__name__}: {exc}")
    error = ""
    if errors:
        error = "Failed after its picks were saved (they stay in the queue): " + "; ".join(errors)
    error = error[:ERROR_MAX_CHARS]
    try:
        return _save_results(run, cv, artifact_name, size, error, clock)
    except Exception as exc:  # noqa: BLE001 - e.g. the database went away
        logger.exception("model run %s: could not save its metrics", run.pk)
        _discard_artifact(artifact_name)
        message = f"Failed after its picks were saved (they stay in the queue): {exc}"
        ModelRun.objects.filter(pk=run.pk, status=ModelRun.Status.RUNNING).update(
            status=ModelRun.Status.DONE,
            phase="done",
            progress=1.0,
            error=message[:ERROR_MAX_CHARS],
            timings=clock.total(),
            finished_at=timezone.now(),
        )
        return ModelRun.objects.get(pk=run.pk)


def _cross_validate(run: ModelRun, outcome: Outcome, clock: RunClock) -> dict:
    """Per-category metrics of the model, 5-fold, on the feature matrix the model was fitted
    on: the folds already fitting are waited for, or started now; progress fold by fold. Too
    few labels give a note instead. The phase's time is what the run waits here, after its
    picks are saved (folds started beside the scoring are partly done by then)."""
    from ..ml.evaluation import FoldsInFlight, NotEnoughData, fold_scores

    def progress(done: int, total: int) -> None:
        clock.report("cross-validating", done / total)

    multi_label = run.parameters["multi_label"]
    X, Y = outcome.X, outcome.Y
    if X is None or Y is None:
        raise ValueError("A model run's outcome lacks its training matrix.")
    with clock.phase("cross-validating"):
        folds, outcome.folds = outcome.folds, None
        if folds is None:
            try:
                folds = FoldsInFlight(
                    X, Y, multi_label=multi_label, seed=run.seed,
                    threads=settings.GOLDSET["LEARNING_THREADS"],
                )  # fmt: skip
            except NotEnoughData as exc:
                return {"note": f"Not cross-validated: {exc}"}
        proba, used = folds.wait(progress)
    if settings.GOLDSET["LEARNING_NOISE_AFTER_MODEL_RUN"] and outcome.gold_ids is not None:
        oof_keep(run, gold_ids=outcome.gold_ids, proba=proba, folds=used)
    return fold_scores(proba, Y, multi_label=multi_label, folds=used).as_dict()


def _save_results(
    run: ModelRun, cv: dict, artifact_name: str, size: int, error: str, clock: RunClock
) -> ModelRun:
    """The second short transaction: metrics and artifact, and the run is done. A run the
    timeout ended meanwhile keeps what the timeout wrote (its picks stay in the queue)."""
    with transaction.atomic():
        locked = ModelRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != ModelRun.Status.RUNNING:
            logger.warning("model run %s is %s: metrics discarded", run.pk, locked.status)
            transaction.on_commit(lambda: _discard_artifact(artifact_name))
            return locked
        locked.metrics = {**locked.metrics, **cv}
        locked.artifact = artifact_name
        locked.artifact_size = size
        locked.error = error
        locked.timings = clock.total()
        _mark_done(locked, timezone.now())
        locked.save()
    return locked


def fail(run: ModelRun, exc: BaseException, clock: RunClock) -> ModelRun:
    message = f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS]
    # Only a running run is failed: a run the timeout already failed keeps that message.
    ModelRun.objects.filter(pk=run.pk, status=ModelRun.Status.RUNNING).update(
        status=ModelRun.Status.FAILED,
        error=message,
        phase="failed",
        timings=clock.total(),
        finished_at=timezone.now(),
    )
    return ModelRun.objects.get(pk=run.pk)

"""Running one model run, end to end (the task calls `model_run_execute`):

1. claim: one short transaction locks the run row; only a queued run starts, so a task
   delivered twice (acks_late after a worker restart, a retried send) does the work once;
2. read: current gold labels as arrays through selectors (no transaction);
3. compute, with no transaction open: cross-validate, fit, score the unlabeled pool in id
   chunks, select a batch (`learning.ml`); with too few gold labels, a cold start (keyword
   seeds plus random) instead of a model;
4. store the model artifact in media storage;
5. save: one short transaction writes the picks into the queue (`picks.picks_write`), records
   them, and marks the run done.

Any error ends the run as failed with its message; nothing was written to the queue, which
keeps serving the last finished run's picks. Progress (phase, fraction) is written in its own
tiny statement at each step so pages can poll it.
"""

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from annotation.errors import NotFound
from annotation.models import Item

from .. import selectors
from ..models import ModelRun, PickedItem
from .picks import RankedPick, picks_write

logger = logging.getLogger(__name__)

ERROR_MAX_CHARS = 2000
PICK_REASONS = frozenset(Item.SelectionReason.values)


@dataclass
class Outcome:
    """What the compute step hands to the save step."""

    mode: str
    gold_count: int
    pool_size: int
    picks: list[RankedPick]
    metrics: dict
    artifact: bytes | None = None


class _Clock:
    """Per-phase timings, and progress written to the run row as the run goes."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.timings: dict[str, float] = {}
        self.started = time.monotonic()

    def report(self, phase: str, fraction: float) -> None:
        # Autocommit: its own tiny transaction, visible to the polling page at once.
        ModelRun.objects.filter(pk=self.run_id, status=ModelRun.Status.RUNNING).update(
            phase=phase, progress=min(1.0, max(0.0, float(fraction)))
        )

    @contextmanager
    def phase(self, name: str):
        self.report(name, 0.0)
        start = time.monotonic()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.monotonic() - start, 3)

    def total(self) -> dict[str, float]:
        return {**self.timings, "total": round(time.monotonic() - self.started, 3)}


def model_run_execute(*, run_id: int) -> ModelRun:
    """Run a queued run; a run that is not queued (already claimed, finished, failed) is
    returned untouched. Precondition: no transaction open (the computation must not hold one;
    the task calls this directly). Never raises for a failure of the run itself: the run
    records it."""
    run = _claim(run_id)
    if run is None:
        return ModelRun.objects.get(pk=run_id)
    clock = _Clock(run.pk)
    artifact_name = ""
    try:
        outcome = _compute(run, clock)
        artifact_name = _store_artifact(run, outcome.artifact)
        saved = _save(run, outcome, artifact_name, clock)
    except Exception as exc:  # noqa: BLE001 - whatever stops a run is recorded on the run
        logger.exception("model run %s failed", run.pk)
        _discard_artifact(artifact_name)
        return _fail(run, exc, clock)
    # A trained model means the gold labels are worth checking again (label-noise review);
    # the check is its own run, requested on commit, and never fails this one.
    from .noise import noise_run_after_model_run

    noise_run_after_model_run(model_run=saved)
    return saved


def _claim(run_id: int) -> ModelRun | None:
    with transaction.atomic():
        run = ModelRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            raise NotFound(f"No model run #{run_id}.")
        if run.status != ModelRun.Status.QUEUED:
            return None
        run.status = ModelRun.Status.RUNNING
        run.started_at = timezone.now()
        run.phase = "starting"
        run.progress = 0.0
        run.save(update_fields=["status", "started_at", "phase", "progress"])
    return run


def _compute(run: ModelRun, clock: _Clock) -> Outcome:
    params = run.parameters
    category_ids = [c["id"] for c in run.categories]
    with clock.phase("reading"):
        data = selectors.training_data(project_id=run.project_id, category_ids=category_ids)
    gold_count, positives = data.gold_count, data.positives()
    metrics: dict = {"gold_positives": positives.tolist()}
    if gold_count < max(1, params["min_gold_labels"]):
        del data
        metrics["note"] = (
            f"Cold start: {gold_count} gold label(s), fewer than the "
            f"{params['min_gold_labels']} needed to train a model."
        )
        picks, pool_size = _cold_start(run, clock, metrics)
        return Outcome(ModelRun.Mode.COLD_START, gold_count, pool_size, picks, metrics)
    model = _train(run, clock, data, metrics)
    del data  # the training texts are done with; scoring a big pool needs the memory
    artifact = model.to_bytes()
    picks, pool_size = _score_and_select(run, clock, model, positives, metrics)
    return Outcome(ModelRun.Mode.MODEL, gold_count, pool_size, picks, metrics, artifact)


def _train(run: ModelRun, clock: _Clock, data: selectors.TrainingData, metrics: dict):
    """Cross-validate (metrics for the pages; skipped with a note when there are too few
    labels for folds) and fit the model on every gold label."""
    from ..ml.features import FeatureConfig
    from ..ml.model import NotEnoughData, cross_validate, fit_model

    features = FeatureConfig.from_dict(run.features)
    multi_label = run.parameters["multi_label"]
    with clock.phase("cross-validating"):
        try:
            cv = cross_validate(
                data.texts, data.urls, data.Y, multi_label=multi_label, features=features,
                seed=run.seed,
            )  # fmt: skip
        except NotEnoughData as exc:
            metrics["note"] = f"Not cross-validated: {exc}"
        else:
            metrics.update(cv.as_dict())
    with clock.phase("training"):
        return fit_model(
            data.texts, data.urls, data.Y, multi_label=multi_label, features=features,
            seed=run.seed,
        )  # fmt: skip


def _read_pool(run: ModelRun, clock: _Clock, phase: str, each) -> np.ndarray:
    """Walk the pool in chunks, calling `each(chunk)`; returns the pool's item ids (n,)."""
    chunk_size = settings.GOLDSET["LEARNING_POOL_CHUNK"]
    ids = []
    for chunk in selectors.pool_chunks(project_id=run.project_id, chunk_size=chunk_size):
        each(chunk)
        ids.append(chunk.ids)
        clock.report(phase, chunk.fraction)
    return np.concatenate(ids) if ids else np.empty(0, dtype=np.int64)


def _design_summary(design) -> dict:
    """What the batch design promised over the whole pool: Σπ is the expected batch size
    (short of the batch size only by the items both draws pick, b_a·b_m/N on average)."""
    pi = design.pi
    return {
        "pool": int(len(pi)),
        "pi_sum": float(pi.sum()),
        "pi_min": float(pi.min()) if len(pi) else None,
        "expected_size": float(design.expected_size),
        "audit_size": int(design.audit_size),
        "pi_audit": float(design.pi_audit),
    }


def _score_and_select(run: ModelRun, clock: _Clock, model, positives: np.ndarray, metrics: dict):
    from ..ml.strategies import StrategyMix, select_batch, selection_design

    parts: list[np.ndarray] = []
    with clock.phase("scoring"):
        pool_ids = _read_pool(
            run, clock, "scoring", lambda c: parts.append(model.predict_proba(c.texts, c.urls))
        )
    if not len(pool_ids):
        return [], 0
    proba = np.vstack(parts)
    parts.clear()  # the stacked copy is all that is needed now
    design_args = {
        "multi_label": run.parameters["multi_label"],
        "gold_positive_counts": positives,
        "mix": StrategyMix(**run.parameters["mix"]),
        "batch_size": min(run.parameters["batch_size"], len(pool_ids)),
    }
    with clock.phase("selecting"):
        metrics["design"] = _design_summary(selection_design(proba, **design_args))
        picks = select_batch(proba, **design_args, seed=run.seed)
    return _ranked(run, pool_ids, picks), len(pool_ids)


def _cold_start(run: ModelRun, clock: _Clock, metrics: dict):
    from ..ml.strategies import cold_start_batch, cold_start_design

    texts: list[str] = []
    urls: list[str] = []

    def keep(chunk) -> None:
        texts.extend(chunk.texts)
        urls.extend(chunk.urls)

    with clock.phase("reading the pool"):
        pool_ids = _read_pool(run, clock, "reading the pool", keep)
    if not len(pool_ids):
        return [], 0
    design_args = {
        "seeds": {int(c): words for c, words in run.parameters["seeds"].items()},
        "batch_size": min(run.parameters["batch_size"], len(pool_ids)),
        "audit_share": run.parameters["mix"]["audit"],
    }
    with clock.phase("selecting"):
        metrics["design"] = _design_summary(cold_start_design(texts, urls, **design_args))
        picks = cold_start_batch(texts, urls, **design_args, seed=run.seed)
    return _ranked(run, pool_ids, picks), len(pool_ids)


def _ranked(run: ModelRun, pool_ids: np.ndarray, picks) -> list[RankedPick]:
    """The picks as item ids in serving order: a seeded random permutation (see picks.py for
    why not score order). Refuses a batch the schema would refuse, with a clear message."""
    seen: set[int] = set()
    for pick in picks:
        if not 0 <= pick.index < len(pool_ids) or pick.index in seen:
            raise ValueError(f"The selection returned a bad or repeated row index {pick.index}.")
        if pick.reason not in PICK_REASONS:
            raise ValueError(f"The selection returned an unknown reason '{pick.reason}'.")
        if not 0 < pick.inclusion_probability <= 1:
            raise ValueError(
                f"The selection returned inclusion probability {pick.inclusion_probability}."
            )
        seen.add(pick.index)
    category_ids = [c["id"] for c in run.categories]
    order = np.random.default_rng(run.seed).permutation(len(picks))
    ranked = []
    for rank, i in enumerate(order):
        pick = picks[i]
        category = getattr(pick, "category", None)
        ranked.append(
            RankedPick(
                item_id=int(pool_ids[pick.index]),
                rank=rank,
                reason=pick.reason,
                inclusion_probability=float(pick.inclusion_probability),
                score=float(pick.score) if np.isfinite(pick.score) else 0.0,
                category_id=category_ids[category] if category is not None else None,
            )
        )
    return ranked


def _store_artifact(run: ModelRun, data: bytes | None) -> str:
    """Write the model to media storage (outside any transaction); returns its name."""
    if data is None:
        return ""
    field_ = ModelRun._meta.get_field("artifact")
    return default_storage.save(
        field_.generate_filename(run, f"run-{run.number}.model"), ContentFile(data)
    )


def _discard_artifact(name: str) -> None:
    if name:
        default_storage.delete(name)


def _save(run: ModelRun, outcome: Outcome, artifact_name: str, clock: _Clock) -> ModelRun:
    """The one short write transaction. A run that is no longer running (the timeout failed
    it meanwhile, and a newer run may have replaced its batch) saves nothing."""
    earlier = selectors.earlier_pick_item_ids(run=run)
    now = timezone.now()
    save_started = time.monotonic()
    clock.report("saving", 0.0)
    with transaction.atomic():
        locked = ModelRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != ModelRun.Status.RUNNING:
            logger.warning("model run %s is %s: results discarded", run.pk, locked.status)
            transaction.on_commit(lambda: _discard_artifact(artifact_name))
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
        clock.timings["saving"] = round(time.monotonic() - save_started, 3)
        locked.status = ModelRun.Status.DONE
        locked.mode = outcome.mode
        locked.gold_count = outcome.gold_count
        locked.pool_size = outcome.pool_size
        locked.picked_count = len(outcome.picks)
        locked.metrics = {**outcome.metrics, "queued": len(queued), "released": len(released)}
        locked.artifact = artifact_name
        locked.artifact_size = len(outcome.artifact or b"")
        locked.timings = clock.total()
        locked.phase = "done"
        locked.progress = 1.0
        locked.finished_at = now
        locked.error = ""
        locked.save()
    logger.info(
        "model run %s done: %s picks (%s queued, %s released)",
        run.pk, len(outcome.picks), len(queued), len(released),
    )  # fmt: skip
    return locked


def _fail(run: ModelRun, exc: BaseException, clock: _Clock) -> ModelRun:
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

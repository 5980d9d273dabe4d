"""Running one model run, end to end (the task calls `model_run_execute`):

1. claim: one short transaction locks the run row; only a queued run starts, so a task
   delivered twice (acks_late after a worker restart, a retried send) does the work once;
2. read: current gold labels as arrays through selectors (no transaction);
3. compute, with no transaction open: featurize the gold texts and fit, score the unlabeled
   pool in id chunks, select a batch (`learning.ml`); with too few gold labels, a cold start
   (keyword seeds plus random) instead of a model. With LEARNING_THREADS > 1, the fit spreads
   its categories over the threads, and the cross-validation folds (the per-category metrics
   of the pages, nothing the queue needs) start fitting on the gold feature matrix as soon as
   the model is fitted, on the core the scoring leaves free;
4. save the picks: one short transaction writes them into the queue (`picks.picks_write`) and
   records them. From here on annotators get the new batch; a cold start is done;
5. finish, the run still running: the model artifact is stored in media storage while the
   folds go on, the cross-validation completes (on every thread now, or only now with
   LEARNING_THREADS = 1), and the run is marked done with its metrics in a second short
   transaction.

Any error up to step 4 ends the run as failed with its message (folds in flight are dropped);
nothing was written to the queue, which keeps serving the last finished run's picks. An error
in step 5 cannot take the saved picks back: the run ends done, without what failed (metrics,
artifact), and records the error. Progress (phase, fraction) is written in its own tiny
statement at each step so pages can poll it.
"""

import logging

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotation.errors import NotFound
from annotation.models import Item

from .. import selectors
from ..models import ModelRun
from .clock import RunClock
from .picks import RankedPick
from .run_results import Outcome, fail, finish, save_picks

logger = logging.getLogger(__name__)

PICK_REASONS = frozenset(Item.SelectionReason.values)


def model_run_execute(*, run_id: int) -> ModelRun:
    """Run a queued run; a run that is not queued (already claimed, finished, failed) is
    returned untouched. Precondition: no transaction open (the computation must not hold one;
    the task calls this directly). Never raises for a failure of the run itself: the run
    records it."""
    run = _claim(run_id)
    if run is None:
        return ModelRun.objects.get(pk=run_id)
    clock = RunClock(ModelRun, run.pk)
    outcome = None
    try:
        outcome = _compute(run, clock)
        saved = save_picks(run, outcome, clock)
    except Exception as exc:  # noqa: BLE001 - whatever stops a run is recorded on the run
        logger.exception("model run %s failed", run.pk)
        if outcome is not None:
            outcome.drop_folds()
        return fail(run, exc, clock)
    if saved.status == ModelRun.Status.RUNNING:
        saved = finish(saved, outcome, clock)
    else:
        outcome.drop_folds()
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


def _compute(run: ModelRun, clock: RunClock) -> Outcome:
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
    model, X = _train(run, clock, data)
    Y, gold_ids = data.Y, data.gold_ids
    del data  # the training texts are done with; scoring a big pool needs the memory
    folds = _start_folds(run, X, Y)
    try:
        picks, pool_size = _score_and_select(run, clock, model, positives, metrics)
    except BaseException:
        if folds is not None:
            folds.cancel()
        raise
    return Outcome(
        ModelRun.Mode.MODEL, gold_count, pool_size, picks, metrics, model=model, X=X, Y=Y,
        gold_ids=gold_ids, folds=folds,
    )  # fmt: skip


def _start_folds(run: ModelRun, X, Y: np.ndarray):
    """The cross-validation folds, fitting from now on beside the scoring (FoldsInFlight), or
    None: with one thread they are fitted after the picks are saved, and too few gold labels
    get a note then (`run_results.finish`)."""
    from ..ml.evaluation import FoldsInFlight, NotEnoughData

    threads = settings.GOLDSET["LEARNING_THREADS"]
    if threads < 2:
        return None
    try:
        return FoldsInFlight(
            X, Y, multi_label=run.parameters["multi_label"], seed=run.seed, threads=threads,
            caller_busy=True,
        )  # fmt: skip
    except NotEnoughData:
        return None


def _train(run: ModelRun, clock: RunClock, data: selectors.TrainingData):
    """Featurize the gold texts and fit the model on every gold label; returns the model and
    the (n, F) feature matrix, which cross-validation reuses after the picks are saved."""
    from ..ml.features import FeatureConfig
    from ..ml.model import fit_with_features

    with clock.phase("training"):
        return fit_with_features(
            data.texts, data.urls, data.Y, multi_label=run.parameters["multi_label"],
            features=FeatureConfig.from_dict(run.features), seed=run.seed,
            threads=settings.GOLDSET["LEARNING_THREADS"],
        )  # fmt: skip


def _read_pool(run: ModelRun, clock: RunClock, phase: str, each) -> np.ndarray:
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


def _score_and_select(run: ModelRun, clock: RunClock, model, positives: np.ndarray, metrics: dict):
    from ..ml.strategies import StrategyMix, draw, selection_design

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
        # The design once, then the draw from it: exactly `select_batch`, without building
        # the design a second time for its summary.
        design = selection_design(proba, **design_args)
        del proba
        metrics["design"] = _design_summary(design)
        picks = draw(design, run.seed)
    return _ranked(run, pool_ids, picks), len(pool_ids)


def _cold_start(run: ModelRun, clock: RunClock, metrics: dict):
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

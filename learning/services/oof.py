"""A model run's out-of-fold probabilities, handed to the label-noise check it asks for.

The check after a model run (`noise.noise_run_after_model_run`) needs K-fold out-of-fold
probabilities of the same gold labels with the same model — exactly what the run's
cross-validation just computed. So the run keeps them in media storage (`oof_keep`, one small
.npz per project: the gold label ids it read and the (n, C) probabilities), and the check takes
them (`oof_take`) instead of fitting K folds again, when they are of the same data:

- the same gold label rows, in the same order (a changed label is a new gold row, so any
  label changed, added or removed since the run read them means no reuse);
- the same categories, features, single/multi-label mode, and number of folds.

Anything else (another model, a label changed meanwhile, a file gone) and the check computes
its own, as before. The file is deleted once taken, and a newer run's file replaces an older
one, so at most one per project is kept. Their folds differ from the check's own (the run's
seed, not the check's): a different but equally valid split.
"""

import io
import logging

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from ..models import ModelRun

logger = logging.getLogger(__name__)


def oof_name(project_id: int) -> str:
    return f"learning/oof/project-{project_id}.npz"


def oof_keep(run: ModelRun, *, gold_ids: np.ndarray, proba: np.ndarray, folds: int) -> None:
    """Store the run's out-of-fold probabilities (n, C) for the gold label rows `gold_ids` (n,),
    replacing the project's earlier ones. Never raises: the check can compute its own."""
    buffer = io.BytesIO()
    np.savez(
        buffer,
        run_id=np.int64(run.pk),
        gold_ids=np.asarray(gold_ids, dtype=np.int64),
        proba=np.asarray(proba, dtype=np.float64),
        folds=np.int64(folds),
    )
    name = oof_name(run.project_id)
    try:
        default_storage.delete(name)
        default_storage.save(name, ContentFile(buffer.getvalue()))
    except Exception:  # noqa: BLE001 - a cache: losing it costs the check its own folds
        logger.exception("model run %s: could not keep its out-of-fold probabilities", run.pk)


def oof_take(
    *,
    model_run: ModelRun | None,
    gold_ids: np.ndarray,
    category_ids: list[int],
    features: dict,
    multi_label: bool,
    folds: int,
) -> np.ndarray | None:
    """The (n, C) out-of-fold probabilities `model_run` kept, if they are of exactly this data
    and set-up (module docstring), else None. Deletes the project's file either way."""
    if model_run is None:
        return None
    from ..ml.features import FeatureConfig

    name = oof_name(model_run.project_id)
    try:
        if not default_storage.exists(name):
            return None
        with default_storage.open(name, "rb") as handle:
            kept = np.load(io.BytesIO(handle.read()), allow_pickle=False)
            run_id, kept_ids = int(kept["run_id"]), kept["gold_ids"]
            proba, kept_folds = kept["proba"], int(kept["folds"])
        default_storage.delete(name)
    except Exception:  # noqa: BLE001 - unreadable: the check computes its own
        logger.exception("could not read the out-of-fold probabilities of %s", name)
        return None
    same = (
        run_id == model_run.pk
        and kept_folds == folds
        and [c["id"] for c in model_run.categories] == list(category_ids)
        and bool(model_run.parameters.get("multi_label")) == multi_label
        and FeatureConfig.from_dict(model_run.features) == FeatureConfig.from_dict(features)
        and np.array_equal(kept_ids, np.asarray(gold_ids, dtype=np.int64))
        and proba.shape == (len(kept_ids), len(category_ids))
    )
    return proba if same else None

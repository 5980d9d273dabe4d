"""modAL's query strategies applied to our fitted model: the only module that imports modAL.

modAL's query functions take a scikit-learn classifier and a pool `X`, and call
`predict_proba(X)` (and `predict(X)` for some multi-label strategies). `PoolEstimator` is that
classifier: our FittedModel's probabilities over the pool, computed once, where `X` is a column
of pool row indices. (modAL 0.4.2's `ActiveLearner.teach/fit` break on scikit-learn ≥ 1.8, so
we use the query functions only and fit our own model.)

Each function returns a (n_pool,) score where higher means "label this first"; the batch design
in `strategies` turns scores into inclusion probabilities.

Multi-label pools are scored per category as binary problems [1 − p, p] and aggregated: the
item's most uncertain category for uncertainty and margin, the summed entropy of its categories
(the entropy of independent labels) for entropy. Single-label pools use the full distribution
over the C categories plus "none of these" (1 − row sum).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from modAL import multilabel as modal_multilabel
from modAL import uncertainty as modal_uncertainty
from sklearn.base import BaseEstimator, ClassifierMixin

# name -> (modAL function, True if modAL picks the highest values, False if the lowest)
MULTILABEL_STRATEGIES: dict[str, tuple[Callable[..., tuple[np.ndarray, np.ndarray]], bool]] = {
    "avg_score": (modal_multilabel.avg_score, True),
    "max_score": (modal_multilabel.max_score, True),
    "avg_confidence": (modal_multilabel.avg_confidence, True),
    "min_confidence": (modal_multilabel.min_confidence, False),
    "mean_max_loss": (modal_multilabel.mean_max_loss, True),
    "max_loss": (modal_multilabel.max_loss, True),
}


class PoolEstimator(ClassifierMixin, BaseEstimator):
    """A fitted classifier over a scored pool: `X` is an (m, 1) array of pool row indices.

    proba: (n_pool, K) probabilities. `predict` thresholds at 0.5 per column (multi-label) or
    takes the most probable column (single-label).
    """

    def __init__(self, proba: np.ndarray, multi_label: bool):
        self.proba = proba
        self.multi_label = multi_label
        self.classes_ = np.arange(proba.shape[1])

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> PoolEstimator:
        return self  # already fitted: the probabilities come from our FittedModel

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.proba[np.asarray(X, dtype=np.int64).ravel()]

    def predict(self, X: np.ndarray) -> np.ndarray:
        proba = self.predict_proba(X)
        if self.multi_label:
            return (proba >= 0.5).astype(np.int64)
        return proba.argmax(axis=1)


def pool_rows(n: int) -> np.ndarray:
    """The modAL `X` for a pool of n items: their row indices as an (n, 1) column."""
    return np.arange(n, dtype=np.int64).reshape(-1, 1)


def _with_none(proba: np.ndarray) -> np.ndarray:
    none = np.clip(1.0 - proba.sum(axis=1, keepdims=True), 0.0, 1.0)
    return np.hstack([proba, none])


def _binary(proba: np.ndarray) -> np.ndarray:
    """(n·C, 2) rows [1 − p, p], one per item and category."""
    p = proba.reshape(-1, 1)
    return np.hstack([1.0 - p, p])


def _apply(measure: Callable[..., np.ndarray], proba: np.ndarray) -> np.ndarray:
    estimator = PoolEstimator(proba, multi_label=False)
    return np.asarray(measure(estimator, pool_rows(len(proba))), dtype=np.float64)


# Items scored per call: the multi-label binary view and modAL's temporaries are several
# (rows·C, 2) arrays, so a 1M-item pool goes through in slices of bounded memory.
CHUNK_ITEMS = 50_000


def _per_item(
    measure: Callable[..., np.ndarray],
    proba: np.ndarray,
    multi_label: bool,
    aggregate: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """modAL `measure` per item: on the distribution with "none" (single-label), or on each
    category's binary [1 − p, p] reduced over categories by `aggregate` (multi-label)."""
    out = np.empty(len(proba), dtype=np.float64)
    for start in range(0, len(proba), CHUNK_ITEMS):
        part = proba[start : start + CHUNK_ITEMS]
        if multi_label:
            per = _apply(measure, _binary(part)).reshape(part.shape)
            out[start : start + len(part)] = aggregate(per)
        else:
            out[start : start + len(part)] = _apply(measure, _with_none(part))
    return out


def uncertainty_scores(proba: np.ndarray, *, multi_label: bool) -> np.ndarray:
    """1 − P(most likely label) (modAL classifier_uncertainty). proba: (n, C) -> (n,)."""
    return _per_item(
        modal_uncertainty.classifier_uncertainty, proba, multi_label, lambda u: u.max(axis=1)
    )


def margin_scores(proba: np.ndarray, *, multi_label: bool) -> np.ndarray:
    """1 − (P(first) − P(second)) (modAL classifier_margin). proba: (n, C) -> (n,)."""
    margin = _per_item(
        modal_uncertainty.classifier_margin, proba, multi_label, lambda m: m.min(axis=1)
    )
    return 1.0 - margin


def entropy_scores(proba: np.ndarray, *, multi_label: bool) -> np.ndarray:
    """Prediction entropy in nats (modAL classifier_entropy). proba: (n, C) -> (n,)."""
    return _per_item(
        modal_uncertainty.classifier_entropy, proba, multi_label, lambda h: h.sum(axis=1)
    )


def multilabel_scores(proba: np.ndarray, *, strategy: str) -> np.ndarray:
    """Score of modAL's multi-label strategy `strategy` (MULTILABEL_STRATEGIES). (n, C) -> (n,).

    modAL returns the indices and values of its best `n_instances`; asking for the whole pool
    yields every item's value. Strategies that pick the lowest value are negated.
    """
    if strategy not in MULTILABEL_STRATEGIES:
        raise ValueError(f"unknown multi-label strategy {strategy!r}")
    function, highest_first = MULTILABEL_STRATEGIES[strategy]
    n = len(proba)
    estimator = PoolEstimator(proba, multi_label=True)
    indices, values = function(estimator, pool_rows(n), n_instances=n, random_tie_break=False)
    scores = np.empty(n, dtype=np.float64)
    scores[np.asarray(indices, dtype=np.int64).ravel()] = np.asarray(values, dtype=np.float64)
    return scores if highest_first else -scores

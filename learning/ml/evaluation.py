"""Cross-validated per-category precision, recall and F1.

`out_of_fold_proba` also serves label-noise review: cleanlab wants exactly these out-of-fold
probabilities.

Folds are stratified on each row's rarest category (or "none"), so a category with a handful of
positives still lands in several test folds. The featurizer learns no labels, so it is fitted
once on all texts; only the classifier is refitted per fold (5× cheaper, no label leakage).
The `*_features` variants take that matrix directly: a model run featurizes its gold texts
once, for the model it fits and for its cross-validation.

`threads` > 1 fits that many folds at once in threads of this process (a daemon Celery worker
may not start processes, but threads are fine). Most of a fit runs outside the GIL (scipy's
sparse products, scikit-learn's loss), so two threads use both cores of a 2-core machine. The
result does not depend on `threads`: every fold is fitted exactly as it would be alone (folds
small enough for liblinear, whose random generator is process-wide, are fitted one by one).
`FoldsInFlight` starts the folds and lets the caller go on: a model run scores its pool while
its folds fit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from learning.ml import classifier
from learning.ml.classifier import fit_linear, indicator
from learning.ml.features import FeatureConfig, fit_transform

MIN_TEST_ROWS_PER_FOLD = 2


class NotEnoughData(ValueError):
    """Too few labeled rows to cross-validate (fewer than 4)."""


@dataclass(frozen=True)
class CVMetrics:
    """per_category[c] = {"precision", "recall", "f1", "support"} for category c.

    macro_f1 averages F1 over the categories with at least one positive (a category with no
    positive can be neither found nor missed); micro_f1 pools every category decision.
    """

    per_category: list[dict[str, float]]
    macro_f1: float
    micro_f1: float
    folds: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(proba: np.ndarray, *, multi_label: bool) -> np.ndarray:
    """Predicted (n, C) indicator from (n, C) probabilities.

    Multi-label: P >= 0.5 per category (balanced class weights centre the threshold).
    Single-label: the most probable of the C categories and "none" (= 1 - row sum).
    """
    if multi_label:
        return (proba >= 0.5).astype(np.int8)
    none = np.clip(1.0 - proba.sum(axis=1, keepdims=True), 0.0, 1.0)
    winner = np.hstack([proba, none]).argmax(axis=1)
    out = np.zeros(proba.shape, dtype=np.int8)
    rows = np.flatnonzero(winner < proba.shape[1])
    out[rows, winner[rows]] = 1
    return out


def score_predictions(Y: np.ndarray, predicted: np.ndarray, *, folds: int = 0) -> CVMetrics:
    """Per-category and averaged scores of a predicted (n, C) indicator against Y (n, C)."""
    precision, recall, f1, support = precision_recall_fscore_support(
        Y, predicted, average=None, zero_division=0
    )
    per_category = [
        {
            "precision": float(precision[j]),
            "recall": float(recall[j]),
            "f1": float(f1[j]),
            "support": int(support[j]),
        }
        for j in range(Y.shape[1])
    ]
    seen = support > 0
    macro = float(f1[seen].mean()) if seen.any() else 0.0
    micro = float(f1_score(Y, predicted, average="micro", zero_division=0))
    return CVMetrics(per_category=per_category, macro_f1=macro, micro_f1=micro, folds=folds)


def _strata(Y: np.ndarray, folds: int) -> np.ndarray:
    """(n,) stratum per row: its rarest category, or C for none; small strata pooled."""
    counts = Y.sum(axis=0)
    rarity = np.where(Y > 0, counts[np.newaxis, :], np.iinfo(np.int64).max)
    strata = np.where(Y.sum(axis=1) > 0, rarity.argmin(axis=1), Y.shape[1])
    values, sizes = np.unique(strata, return_counts=True)
    small = values[sizes < folds]
    strata[np.isin(strata, small)] = -1  # pooled stratum of the strata too small to split
    values, sizes = np.unique(strata, return_counts=True)
    if -1 in values and sizes[values == -1][0] < folds:
        strata[strata == -1] = values[sizes.argmax()]
    return strata


def out_of_fold_proba(
    texts: list[str],
    urls: list[str],
    Y: np.ndarray,
    *,
    multi_label: bool,
    features: FeatureConfig,
    seed: int,
    folds: int = 5,
    c: float = 1.0,
    threads: int = 1,
) -> tuple[np.ndarray, int]:
    """Out-of-fold P(category), (n, C), and the number of folds used.

    Uses fewer folds when there are too few rows (each test fold keeps at least 2 rows);
    raises NotEnoughData below 4 rows.
    """
    Y = indicator(Y, multi_label=multi_label)
    n = Y.shape[0]
    if len(texts) != n or len(urls) != n:
        raise ValueError("texts, urls and Y must have the same number of rows")
    _check_rows(n, folds)
    X = fit_transform(texts, urls, features)[1]
    return out_of_fold_proba_features(
        X, Y, multi_label=multi_label, seed=seed, folds=folds, c=c, threads=threads
    )


def _check_rows(n: int, folds: int) -> int:
    used = min(folds, n // MIN_TEST_ROWS_PER_FOLD)
    if used < 2:
        raise NotEnoughData(f"{n} labeled items are too few to cross-validate (need 4)")
    return used


class FoldsInFlight:
    """Cross-validation folds being fitted in threads while the caller goes on.

    Starts fitting at once; `wait` returns what `out_of_fold_proba_features` returns. With
    `caller_busy`, one of the `threads` is left to the caller (e.g. a model run scoring its pool
    while its folds fit) until `caller_free` or `wait`. Folds small enough for liblinear are
    fitted one at a time (see the module docstring). `cancel` drops the folds not started; one
    being fitted finishes in its thread and is discarded.
    """

    def __init__(
        self,
        X: sp.csr_matrix,
        Y: np.ndarray,
        *,
        multi_label: bool,
        seed: int,
        folds: int = 5,
        c: float = 1.0,
        threads: int = 1,
        caller_busy: bool = False,
    ):
        Y = indicator(Y, multi_label=multi_label)
        n = Y.shape[0]
        if X.shape[0] != n:
            raise ValueError("X and Y must have the same number of rows")
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.used = _check_rows(n, folds)
        self._X, self._Y, self._multi_label, self._seed, self._c = X, Y, multi_label, seed, c
        splitter = StratifiedKFold(n_splits=self.used, shuffle=True, random_state=seed)
        splits = list(splitter.split(np.zeros(n), _strata(Y, self.used)))
        small = min(len(train) for train, _ in splits) < classifier.LIBLINEAR_MAX_ROWS
        # liblinear (small folds) seeds one process-wide random generator, so folds fitted at
        # once would change each other's results; small folds are quick anyway.
        workers = 1 if small else min(threads, self.used)
        self._reserved = 1 if caller_busy and workers > 1 else 0
        self._slots = threading.Semaphore(workers - self._reserved)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cv-fold")
        self._futures = [self._pool.submit(self._fold, train, test) for train, test in splits]

    def _fold(self, train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with self._slots:
            X, Y = self._X, self._Y
            weights = fit_linear(
                X[train], Y[train], multi_label=self._multi_label, seed=self._seed, c=self._c
            )
            full = weights.full_proba(X[test])
        return test, (full if self._multi_label else full[:, : Y.shape[1]])

    def caller_free(self) -> None:
        """The caller no longer needs its thread: every thread fits folds from now on."""
        if self._reserved:
            self._reserved = 0
            self._slots.release()

    def wait(self, on_fold: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, int]:
        """(n, C) out-of-fold P(category) and the number of folds; `on_fold(done, total)` is
        called from the waiting thread as folds finish (those done already come first)."""
        self.caller_free()
        proba = np.zeros(self._Y.shape, dtype=np.float64)
        try:
            for done, future in enumerate(as_completed(self._futures), 1):
                test, fold_proba = future.result()
                proba[test] = fold_proba
                if on_fold is not None:
                    on_fold(done, self.used)
        finally:
            self._pool.shutdown(cancel_futures=True)
        return proba, self.used

    def cancel(self) -> None:
        self.caller_free()
        self._pool.shutdown(wait=False, cancel_futures=True)


def out_of_fold_proba_features(
    X: sp.csr_matrix,
    Y: np.ndarray,
    *,
    multi_label: bool,
    seed: int,
    folds: int = 5,
    c: float = 1.0,
    on_fold: Callable[[int, int], None] | None = None,
    threads: int = 1,
) -> tuple[np.ndarray, int]:
    """`out_of_fold_proba` on rows already featurized (X: (n, F) from the featurizer fitted on
    all n texts, as `fit_transform` returns it). `on_fold(done, total)` is called after each
    fold (progress), always from the calling thread."""
    return FoldsInFlight(
        X, Y, multi_label=multi_label, seed=seed, folds=folds, c=c, threads=threads
    ).wait(on_fold)


def cross_validate(
    texts: list[str],
    urls: list[str],
    Y: np.ndarray,
    *,
    multi_label: bool,
    features: FeatureConfig,
    seed: int,
    folds: int = 5,
    c: float = 1.0,
) -> CVMetrics:
    """Stratified K-fold scores of the model `fit_model` would build on these labels."""
    proba, used = out_of_fold_proba(
        texts, urls, Y, multi_label=multi_label, features=features, seed=seed, folds=folds, c=c
    )
    return fold_scores(proba, Y, multi_label=multi_label, folds=used)


def cross_validate_features(
    X: sp.csr_matrix,
    Y: np.ndarray,
    *,
    multi_label: bool,
    seed: int,
    folds: int = 5,
    c: float = 1.0,
    on_fold: Callable[[int, int], None] | None = None,
    threads: int = 1,
) -> CVMetrics:
    """`cross_validate` on rows already featurized (X: (n, F), e.g. the matrix
    `fit_with_features` returns): the same folds and the same scores, without featurizing the
    texts again."""
    proba, used = out_of_fold_proba_features(
        X, Y, multi_label=multi_label, seed=seed, folds=folds, c=c, on_fold=on_fold,
        threads=threads,
    )  # fmt: skip
    return fold_scores(proba, Y, multi_label=multi_label, folds=used)


def fold_scores(proba: np.ndarray, Y: np.ndarray, *, multi_label: bool, folds: int) -> CVMetrics:
    """The cross-validated scores of out-of-fold probabilities (n, C) against Y (n, C)."""
    predicted = decide(proba, multi_label=multi_label)
    return score_predictions(indicator(Y, multi_label=multi_label), predicted, folds=folds)

"""Logistic regression on a feature matrix, kept as plain linear weights.

Multi-label projects get one-vs-rest: one binary logistic regression per category with balanced
class weights (a rare category's few positives weigh as much as its many negatives). Single-label
projects get one multinomial (softmax) regression over the C categories plus an internal
"none of these" class for all-zero rows, also with balanced class weights.

Either way the fitted model is `LinearWeights`: a sparse (K, F) coefficient matrix and (K,)
intercepts, so predicting is a sparse product plus a sigmoid or softmax. Degenerate targets
never fail: a category with no positives (or only positives) gets a constant probability of 0
(or 1) through an infinite intercept and zero coefficients; a single-label class never seen in
training gets probability 0.

Solvers, measured on GoEmotions TF-IDF (143k features, 28 categories, docs/benchmarks.md): on
the full 43k texts L-BFGS is the fastest (one category 0.37 s; liblinear 1.4 s; saga did not
converge in 25 s), but on the few thousand rows an active-learning loop trains on, L-BFGS spends
its time in vector updates over all features and liblinear's dual coordinate descent is 4–5×
faster (1,000–2,000 rows: 1.5 s vs 6–8 s for all categories, same macro-F1). So binary fits on
fewer than LIBLINEAR_MAX_ROWS rows use liblinear (dual), larger ones L-BFGS; the multinomial
single-label model is one L-BFGS fit.

`threads` > 1 fits that many one-vs-rest categories at once in threads (most of an L-BFGS fit
runs outside the GIL), when the fits use L-BFGS: liblinear seeds one process-wide random
generator, so its fits stay one at a time. The weights do not depend on `threads`.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

MAX_ITER = 300
TOL = 1e-4
LIBLINEAR_MAX_ROWS = 5_000
DENSE_COEF_MAX = 20_000_000  # K·F entries (80 MB as float32) scored with a dense copy


@dataclass(frozen=True)
class LinearWeights:
    """A fitted linear model.

    kind "ovr": K = C columns, P(category c) = sigmoid(X @ coef[c] + intercept[c]).
    kind "softmax": K = C + 1 columns (last = none of these), P = softmax(X @ coef.T + intercept).
    """

    kind: str
    coef: sp.csr_matrix  # (K, F) float32
    intercept: np.ndarray  # (K,) float64, ±inf for constant columns

    def scores(self, X: sp.csr_matrix) -> np.ndarray:
        """Linear scores (n, K); constant columns are ±inf (zero coefficients)."""
        if self.coef.shape[0] * self.coef.shape[1] <= DENSE_COEF_MAX:
            # Sparse rows times a dense (F, K) matrix: one pass over X, several times faster
            # than the sparse-sparse product when scoring a large pool.
            z = np.asarray(X @ self.coef.T.toarray(), dtype=np.float64)
        else:  # very wide (hashed) features: the dense copy would be too large
            z = np.asarray((X @ self.coef.T).todense(), dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return z + self.intercept[np.newaxis, :]

    def full_proba(self, X: sp.csr_matrix) -> np.ndarray:
        """(n, K) probabilities; for "softmax" the last column is "none of these"."""
        z = self.scores(X)
        if self.kind == "ovr":
            return expit(z)
        return softmax(z, axis=1)


def indicator(Y: np.ndarray, *, multi_label: bool) -> np.ndarray:
    """Validate a label matrix: (n, C) of 0/1, at most one 1 per row when single-label."""
    Y = np.asarray(Y)
    if Y.ndim != 2 or Y.shape[1] < 1:
        raise ValueError("Y must be a 2-d (n, C) indicator matrix with at least one category")
    if not np.isin(Y, (0, 1)).all():
        raise ValueError("Y must contain only 0 and 1")
    Y = Y.astype(np.int8)
    if not multi_label and (Y.sum(axis=1) > 1).any():
        raise ValueError("single-label Y has rows with more than one category")
    return Y


def single_label_targets(Y: np.ndarray) -> np.ndarray:
    """(n,) class index: the category of each row, or C for an all-zero ("none") row."""
    C = Y.shape[1]
    return np.where(Y.sum(axis=1) > 0, Y.argmax(axis=1), C)


def _constant_row(width: int) -> sp.csr_matrix:
    return sp.csr_matrix((1, width), dtype=np.float32)


def _binary_fit(
    X: sp.csr_matrix, y: np.ndarray, *, seed: int, c: float
) -> tuple[sp.csr_matrix, float]:
    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        return _constant_row(X.shape[1]), (np.inf if positives else -np.inf)
    model = _logistic(seed=seed, c=c, rows=X.shape[0]).fit(X, y)
    return sp.csr_matrix(model.coef_.astype(np.float32)), float(model.intercept_[0])


def _logistic(*, seed: int, c: float, rows: int | None = None) -> LogisticRegression:
    """Balanced L2 logistic regression; `rows` given: a binary fit that may use liblinear."""
    if rows is not None and rows < LIBLINEAR_MAX_ROWS:
        return LogisticRegression(
            C=c, class_weight="balanced", solver="liblinear", dual=True, max_iter=MAX_ITER,
            tol=TOL, random_state=seed,
        )  # fmt: skip
    return LogisticRegression(
        C=c, class_weight="balanced", solver="lbfgs", max_iter=MAX_ITER, tol=TOL, random_state=seed
    )


def _fit_ovr(
    X: sp.csr_matrix, Y: np.ndarray, *, seed: int, c: float, threads: int = 1
) -> LinearWeights:
    # The caller's catch_warnings (fit_linear) covers the threads: warning filters are global.
    def fit(j: int) -> tuple[sp.csr_matrix, float]:
        return _binary_fit(X, Y[:, j], seed=seed, c=c)

    if threads > 1 and X.shape[0] >= LIBLINEAR_MAX_ROWS:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            fitted = list(pool.map(fit, range(Y.shape[1])))
    else:
        fitted = [fit(j) for j in range(Y.shape[1])]
    rows = [row for row, _ in fitted]
    intercepts = [b for _, b in fitted]
    return LinearWeights("ovr", sp.vstack(rows, format="csr"), np.array(intercepts))


def _fit_softmax(X: sp.csr_matrix, Y: np.ndarray, *, seed: int, c: float) -> LinearWeights:
    K = Y.shape[1] + 1
    y = single_label_targets(Y)
    present = np.unique(y)
    coef = np.zeros((K, X.shape[1]), dtype=np.float32)
    intercept = np.full(K, -np.inf)
    if len(present) == 1:  # one class only: it is certain, the others impossible
        intercept[present[0]] = 0.0
        return LinearWeights("softmax", sp.csr_matrix(coef), intercept)
    model = _logistic(seed=seed, c=c).fit(X, y)
    if len(present) == 2:
        # scikit-learn fits two classes as one binary model (coef_ has one row, for classes_[1]);
        # splitting it in halves gives the same probabilities under a softmax.
        w, b = model.coef_[0] / 2.0, model.intercept_[0] / 2.0
        coef[present[0]], coef[present[1]] = -w, w
        intercept[present[0]], intercept[present[1]] = -b, b
    else:
        for row, cls in enumerate(model.classes_):
            coef[cls] = model.coef_[row]
            intercept[cls] = model.intercept_[row]
    return LinearWeights("softmax", sp.csr_matrix(coef), intercept)


def _prior_weights(Y: np.ndarray, *, multi_label: bool, width: int) -> LinearWeights:
    """A featureless model: every item gets the (smoothed) label frequencies of Y."""
    if multi_label:
        rate = (Y.sum(axis=0) + 0.5) / (Y.shape[0] + 1.0)
        intercept = np.log(rate / (1.0 - rate))
        kind, K = "ovr", Y.shape[1]
    else:
        counts = np.bincount(single_label_targets(Y), minlength=Y.shape[1] + 1)
        intercept = np.log((counts + 0.5) / (counts.sum() + 0.5 * len(counts)))
        kind, K = "softmax", Y.shape[1] + 1
    return LinearWeights(kind, sp.csr_matrix((K, width), dtype=np.float32), intercept)


def fit_linear(
    X: sp.csr_matrix,
    Y: np.ndarray,
    *,
    multi_label: bool,
    seed: int,
    c: float = 1.0,
    threads: int = 1,
) -> LinearWeights:
    """Fit on features X (n, F) and an indicator matrix Y (n, C). `c` is the inverse L2 strength;
    `threads`: one-vs-rest categories fitted at once (see the module docstring)."""
    Y = indicator(Y, multi_label=multi_label)
    if X.shape[0] != Y.shape[0]:
        raise ValueError("X and Y must have the same number of rows")
    # Only columns that occur in these rows can get a non-zero weight (an L2-regularised
    # logistic regression leaves an all-zero column at 0), so the solvers see just those: the
    # same model, and much less work on a few thousand rows of a large vocabulary or hash space.
    active = np.flatnonzero(X.getnnz(axis=0))
    if len(active) == 0:  # no text produced any feature (e.g. all empty): base rates only
        return _prior_weights(Y, multi_label=multi_label, width=X.shape[1])
    X_active = X[:, active]
    with warnings.catch_warnings():
        # A few hundred L-BFGS steps on tiny or separable sets may stop short of the tolerance;
        # the weights are still the usable regularised optimum for ranking items.
        warnings.simplefilter("ignore", ConvergenceWarning)
        if multi_label:
            fitted = _fit_ovr(X_active, Y, seed=seed, c=c, threads=threads)
        else:
            fitted = _fit_softmax(X_active, Y, seed=seed, c=c)
    coef = fitted.coef.tocsr()
    coef = sp.csr_matrix(
        (coef.data, active[coef.indices], coef.indptr), shape=(coef.shape[0], X.shape[1])
    )
    return LinearWeights(fitted.kind, coef, fitted.intercept)

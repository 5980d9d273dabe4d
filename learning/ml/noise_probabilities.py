"""Probabilities for the label-noise check (pure numpy; see `learning/ml/noise.py`).

`single_label_proba` completes a single-label model's (n, C) output with "none of these";
`prior_corrected` undoes the project classifier's balanced class weights so cleanlab sees
calibrated probabilities.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from learning.ml.classifier import single_label_targets


def single_label_proba(proba: np.ndarray) -> np.ndarray:
    """(n, C) P(category) of a single-label model -> (n, C + 1) rows summing to 1, last = none."""
    proba = np.clip(np.asarray(proba, dtype=np.float64), 0.0, 1.0)
    none = np.clip(1.0 - proba.sum(axis=1, keepdims=True), 0.0, 1.0)
    full = np.hstack([proba, none])
    total = full.sum(axis=1, keepdims=True)
    return np.divide(full, total, out=np.full_like(full, 1.0 / full.shape[1]), where=total > 0)


def prior_corrected(P: np.ndarray, Y: np.ndarray, *, multi_label: bool) -> np.ndarray:
    """Undo the balanced class weights of the project classifier: (n, C) -> (n, C).

    Weighting class k by n / (K n_k) multiplies its fitted odds by that weight (the intercept
    absorbs it), so rare classes get probabilities far above their frequency. cleanlab's
    confident joint wants calibrated probabilities: multiply each class back by its share of
    the gold labels (single-label, "none" included) or each category's odds by positives /
    negatives (multi-label). Constant columns (0 or 1) stay as they are.
    """
    n, C = Y.shape
    if multi_label:
        positives = Y.sum(axis=0).astype(np.float64)
        shift = np.log(np.maximum(positives, 0.5)) - np.log(np.maximum(n - positives, 0.5))
        with np.errstate(divide="ignore"):
            logit = np.log(P) - np.log1p(-P)
        return expit(logit + shift[np.newaxis, :])
    prior = np.bincount(single_label_targets(Y), minlength=C + 1) / n
    full = single_label_proba(P) * prior[np.newaxis, :]
    full /= np.maximum(full.sum(axis=1, keepdims=True), 1e-300)
    return full[:, :C]

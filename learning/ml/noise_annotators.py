"""Items with several annotators: consensus label, its quality, and each annotator's quality.

cleanlab's multi-annotator tools (`cleanlab.multiannotator.get_label_quality_multiannotator`,
CROWDLAB) weigh every annotator's labels and the model's out-of-fold prediction by how much each
can be trusted, giving a consensus label per item, a consensus quality score (low = the consensus
is doubtful: send the item to a lead) and a quality score per annotator (low = their labels
often disagree with a confident consensus).

Shapes:
- `annotator_quality(labels (n, M), pred_probs (n, K) or (n,))`: one question with K classes;
  labels[i, m] is the class annotator m gave item i (0..K-1) or NaN when m did not label i.
  A 1-d `pred_probs` is a binary question: P(class 1), e.g. one category of a multi-label
  project. For a single-label project pass the classes with "none of these" = C and
  `noise.single_label_proba(P)` as the (n, C + 1) probabilities.
- `annotator_quality_per_category(labels (n, M, C), pred_proba (n, C))`: a multi-label project,
  one binary question per category (labels 0/1/NaN).

Items nobody labeled get None in every per-item list; annotators who labeled none of the items
are left out of the annotator list. Everything returned is plain JSON (lists, floats, None).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from cleanlab.multiannotator import get_label_quality_multiannotator

from learning.ml.evaluation import NotEnoughData

__all__ = ["NotEnoughData", "annotator_quality", "annotator_quality_per_category"]


def _labels(labels_multiannotator: np.ndarray, K: int) -> np.ndarray:
    L = np.asarray(labels_multiannotator, dtype=np.float64)
    if L.ndim != 2:
        raise ValueError("labels_multiannotator must be a 2-d (n, M) array")
    given = L[~np.isnan(L)]
    if given.size and ((given != np.round(given)).any() or given.min() < 0 or given.max() >= K):
        raise ValueError(f"labels must be class indices 0..{K - 1} or NaN")
    return L


def _probabilities(pred_probs: np.ndarray, n: int) -> np.ndarray:
    P = np.asarray(pred_probs, dtype=np.float64)
    if P.ndim == 1:
        P = np.column_stack([1.0 - P, P])
    if P.ndim != 2 or P.shape[0] != n or P.shape[1] < 2:
        raise ValueError(f"pred_probs must be (n,) or (n, K) with n = {n} and K >= 2")
    if not np.isfinite(P).all() or (P < 0).any() or (P > 1).any():
        raise ValueError("pred_probs must hold probabilities in [0, 1]")
    total = P.sum(axis=1, keepdims=True)
    return np.divide(P, total, out=np.full_like(P, 1.0 / P.shape[1]), where=total > 0)


def _per_item(values: np.ndarray, rows: np.ndarray, n: int, cast: type) -> list[Any]:
    out: list[Any] = [None] * n
    for i, v in zip(rows, values, strict=True):
        out[int(i)] = cast(v)
    return out


def annotator_quality(
    labels_multiannotator: np.ndarray,
    pred_probs: np.ndarray,
    *,
    annotator_ids: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Consensus and annotator quality for one question (see the module docstring for shapes).

    Returns {"consensus_label": [int | None] (n), "consensus_quality": [float | None],
    "annotator_agreement": [float | None] (share of an item's annotators who gave the consensus),
    "num_annotations": [int], "annotators": [{"annotator", "quality",
    "agreement_with_consensus", "labeled", "worst_class"}] ordered worst quality first,
    "model_weight": float (how much CROWDLAB trusted the model against one annotator)}.

    Raises NotEnoughData with fewer than 2 annotators or no item labeled by 2 or more.
    """
    n = np.asarray(labels_multiannotator).shape[0]
    P = _probabilities(pred_probs, n)
    L = _labels(labels_multiannotator, P.shape[1])
    M = L.shape[1]
    ids = list(annotator_ids) if annotator_ids is not None else list(range(M))
    if len(ids) != M:
        raise ValueError("annotator_ids must name every column of labels_multiannotator")
    labeled = ~np.isnan(L)
    columns = np.flatnonzero(labeled.any(axis=0))
    rows = np.flatnonzero(labeled.any(axis=1))
    counts = labeled.sum(axis=1)
    if len(columns) < 2 or not (counts >= 2).any():
        raise NotEnoughData(
            "Annotator quality needs at least 2 annotators and at least one item labeled by 2 "
            f"or more of them (have {len(columns)} annotators with labels; the most labels on "
            f"one item is {int(counts.max(initial=0))})."
        )
    # cleanlab refuses items nobody labeled and annotators who labeled nothing: leave them out.
    sub = L[np.ix_(rows, columns)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "annotators do not agree on any example" and the like
        result = get_label_quality_multiannotator(sub, P[rows], verbose=False, return_weights=True)
    quality = result["label_quality"]
    stats = result["annotator_stats"]
    annotators = [
        {
            "annotator": ids[int(columns[int(position)])],
            "quality": float(row["annotator_quality"]),
            "agreement_with_consensus": float(row["agreement_with_consensus"]),
            "labeled": int(row["num_examples_labeled"]),
            "worst_class": int(row["worst_class"]),
        }
        for position, row in stats.iterrows()  # sorted by quality, worst first
    ]
    return {
        "consensus_label": _per_item(quality["consensus_label"].to_numpy(), rows, n, int),
        "consensus_quality": _per_item(
            quality["consensus_quality_score"].to_numpy(), rows, n, float
        ),
        "annotator_agreement": _per_item(quality["annotator_agreement"].to_numpy(), rows, n, float),
        "num_annotations": [int(k) for k in counts],
        "annotators": annotators,
        "model_weight": float(result["model_weight"]),
    }


def annotator_quality_per_category(
    labels: np.ndarray,
    pred_proba: np.ndarray,
    *,
    annotator_ids: Sequence[Any] | None = None,
) -> list[dict[str, Any]]:
    """Multi-label: `annotator_quality` of each category's binary question.

    labels (n, M, C): 0/1 or NaN (annotator m did not label item i); pred_proba (n, C)
    out-of-fold P(category). Returns C entries: the result dict, or {"not_enough_data": message}
    for a category cleanlab cannot judge.
    """
    L = np.asarray(labels, dtype=np.float64)
    P = np.asarray(pred_proba, dtype=np.float64)
    if L.ndim != 3 or P.ndim != 2 or L.shape[0] != P.shape[0] or L.shape[2] != P.shape[1]:
        raise ValueError("labels must be (n, M, C) and pred_proba (n, C)")
    out: list[dict[str, Any]] = []
    for j in range(L.shape[2]):
        try:
            out.append(annotator_quality(L[:, :, j], P[:, j], annotator_ids=annotator_ids))
        except NotEnoughData as exc:
            out.append({"not_enough_data": str(exc)})
    return out

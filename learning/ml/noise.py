"""Likely label errors among gold labels: cleanlab on out-of-fold predicted probabilities.

`find_label_issues(texts, urls, Y, ...)` gets out-of-fold P(category) for every gold item from
`evaluation.out_of_fold_proba` (the project's own featurizer and classifier, K-fold), or takes
`pred_proba` computed elsewhere, then asks cleanlab which given labels look wrong:

- single-label: classes are the C categories plus "none of these" (an all-zero row, class C);
  `cleanlab.filter.find_label_issues` flags items and `cleanlab.rank.get_label_quality_scores`
  scores every item (self-confidence: P(given class), low = suspicious);
- multi-label: one binary question per category; `cleanlab.multilabel_classification.filter.
  find_multilabel_issues_per_class` says which category bit of which item looks wrong (an item
  is flagged when any of its bits is: exactly what `multilabel_classification.filter.
  find_label_issues` computes, which is a `.any(axis=1)` of the same call; a single checked
  category goes through the binary `cleanlab.filter.find_label_issues`), `multilabel_
  classification.rank.get_label_quality_scores_per_class` scores every (item, category) pair
  and an item's score is the worst of its checked categories'.

Choices (measured in docs/benchmarks.md, "Label-noise detection"):

- `calibration` (of the probabilities the flags are computed from): the project classifier uses
  balanced class weights, which lift every rare class's probability far above its frequency;
  "prior" undoes that (`prior_corrected`) so cleanlab's confident joint sees calibrated
  probabilities. It roughly halves the false flags. Its cost: a missed positive of a category
  the model is unsure about (a dropped label) rarely gets P > 0.5 once calibrated, so fewer of
  those are flagged; "none" finds them at the price of many more flags.
- `quality_calibration` (of the scores that rank items): multi-label "none" by default. Under
  balanced weights both values of every category sit on the same scale, so the self-confidence
  of a positive and of a negative bit can be compared, which a worst-category item score needs
  (with "prior", dropped labels ranked worse than chance: AUROC 0.43 against 0.81 on
  GoEmotions). Single-label "prior": one class per item, nothing to compare across categories,
  and the calibrated self-confidence ranked injected errors better in every Davidson setting
  (AUROC 0.985–0.989 against 0.973–0.974 on the unanimous base at 10 %).
- `filter_by`: single-label "prune_by_noise_rate" (cleanlab's default: estimate from the
  confident joint how many items of each given class really belong to each other class, and
  flag that many, those with the largest margin for the other class); multi-label
  "confident_learning" (flag the items counted off the diagonal of the confident joint: the
  model is at least as sure of the other value as it is, on average, of that value on items
  given it). Multi-label runs one binary check per category and flags an item if any check
  does, so the stricter rule keeps the false flags of many checks from adding up.

Too few labels: a class (single-label) or a category (multi-label: its positives and its
negatives) with fewer than `folds` gold items is *left out of the check* rather than the check
lowering its fold count: K-fold can hardly learn a class from a handful of examples, so every
one of its items would look mislabeled, flooding the review with false flags on exactly the rare
categories leads care about. Such items still get a quality score and still count as training
data; they are never flagged, and the report lists the classes left out (`excluded`). When no
class is left to check (single-label: fewer than two classes with `folds` items; multi-label:
no category with `folds` positives and `folds` negatives) `NotEnoughData` says what is needed.

cleanlab runs with `n_jobs=1` (a daemon Celery worker cannot fork a multiprocessing pool) and
under a process-wide lock: with n_jobs=1 `cleanlab.filter` keeps its per-class arrays in module
globals, so two checks running at once in threads of one process would read each other's data.

Multi-annotator quality (consensus and annotator scores) lives in `learning/ml/noise_annotators`.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from cleanlab.filter import find_label_issues as _cl_find_label_issues
from cleanlab.multilabel_classification.filter import find_multilabel_issues_per_class
from cleanlab.multilabel_classification.rank import get_label_quality_scores_per_class
from cleanlab.rank import get_label_quality_scores as _cl_quality

from learning.ml.classifier import indicator, single_label_targets
from learning.ml.evaluation import NotEnoughData, out_of_fold_proba
from learning.ml.features import FeatureConfig
from learning.ml.noise_probabilities import prior_corrected, single_label_proba

__all__ = [
    "FILTER_METHODS",
    "NoiseFinding",
    "NoiseReport",
    "NotEnoughData",
    "find_label_issues",
    "prior_corrected",
    "single_label_proba",
]

# cleanlab's flagging rules that use the confident joint and honour n_jobs (the "low_*" rules of
# the multi-label module start a multiprocessing pool whatever n_jobs says).
FILTER_METHODS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning")
QUALITY_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
CALIBRATIONS = ("prior", "none")
# Chosen on the benchmark (docs/benchmarks.md): multi-label runs one binary check per category
# and an item is flagged when any of them flags it, so the stricter rule keeps the false flags
# of 28 checks from adding up (GoEmotions, 10 % noise: precision 0.50 -> 0.75, recall 0.95 ->
# 0.83); single-label loses recall with it (Davidson: 0.86 -> 0.73) for little precision.
DEFAULT_FILTER = {"single": "prune_by_noise_rate", "multi": "confident_learning"}
DEFAULT_QUALITY_CALIBRATION = {"single": "prior", "multi": "none"}  # see the module docstring

_CLEANLAB_LOCK = threading.Lock()


@dataclass(frozen=True)
class NoiseFinding:
    """One flagged gold item.

    `suspected`: categories whose given 0/1 bit looks wrong (single-label: the given and the
    suggested category; "none of these" is not a category and never listed). `suggested`: the
    label the model proposes, as positive category indices (empty = none of these).
    """

    index: int  # row into the gold arrays
    quality: float  # cleanlab label quality score in [0, 1] (low = suspicious)
    suspected: tuple[int, ...]
    suggested: tuple[int, ...]
    per_category_quality: tuple[float, ...] | None  # multi-label: (C,) per category score

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "quality": self.quality,
            "suspected": list(self.suspected),
            "suggested": list(self.suggested),
            "per_category_quality": (
                None if self.per_category_quality is None else list(self.per_category_quality)
            ),
        }


@dataclass(frozen=True)
class NoiseReport:
    """The check of n gold items.

    `quality` (n,): label quality of every item (also items that could not be checked).
    `per_category_quality` (n, C): multi-label only, quality of each category bit.
    `pred_proba` (n, C): the out-of-fold P(category) the check used.
    `excluded`: classes left out of the check for having fewer than `folds` gold items
    (single-label: category indices, C = "none of these"; multi-label: category indices).
    `folds`: K of the K-fold run, 0 when the caller gave `pred_proba`.
    `timings`: seconds per stage ("oof", "cleanlab", "total").
    """

    findings: list[NoiseFinding]  # flagged items only, ordered by quality ascending
    quality: np.ndarray
    n_items: int
    method: str
    folds: int
    timings: dict[str, float]
    pred_proba: np.ndarray
    per_category_quality: np.ndarray | None = None
    excluded: tuple[int, ...] = ()
    class_counts: tuple[int, ...] = ()  # gold items per class (single) / positives (multi)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def flagged(self) -> np.ndarray:
        """(n,) bool: True for the flagged items."""
        mask = np.zeros(self.n_items, dtype=bool)
        mask[[f.index for f in self.findings]] = True
        return mask

    def summary(self) -> dict[str, Any]:
        """JSON-ready description of the run (no per-item arrays)."""
        return {
            "n_items": self.n_items,
            "flagged": len(self.findings),
            "method": self.method,
            "folds": self.folds,
            "excluded": list(self.excluded),
            "class_counts": list(self.class_counts),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            **self.params,
        }


def _names(category_names: Sequence[str] | None, C: int, *, with_none: bool) -> list[str]:
    names = list(category_names) if category_names is not None else []
    if len(names) != C:
        names = [f"category {j}" for j in range(C)]
    return names + (["none of these"] if with_none else [])


def _eligible(
    Y: np.ndarray, *, multi_label: bool, minimum: int, names: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """(eligible class indices, gold items per class); NotEnoughData when none can be checked."""
    n, C = Y.shape
    if multi_label:
        positives = Y.sum(axis=0).astype(np.int64)
        ok = np.flatnonzero((positives >= minimum) & (n - positives >= minimum))
        if len(ok) == 0:
            shown = ", ".join(
                f"{name} {p}"
                for name, p in zip(_names(names, C, with_none=False), positives, strict=True)
            )
            raise NotEnoughData(
                f"Not enough gold labels to look for label errors: a category needs at least "
                f"{minimum} gold items with it and {minimum} without it ({n} gold items; "
                f"positives: {shown})."
            )
        return ok, positives
    counts = np.bincount(single_label_targets(Y), minlength=C + 1).astype(np.int64)
    ok = np.flatnonzero(counts >= minimum)
    if len(ok) < 2:
        shown = ", ".join(
            f"{name} {k}" for name, k in zip(_names(names, C, with_none=True), counts, strict=True)
        )
        raise NotEnoughData(
            f"Not enough gold labels to look for label errors: at least two classes need "
            f"{minimum} gold items each ({n} gold items: {shown})."
        )
    return ok, counts


def _check_proba(pred_proba: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    P = np.asarray(pred_proba, dtype=np.float64)
    if P.shape != shape:
        raise ValueError(f"pred_proba must have shape {shape}, got {P.shape}")
    if not np.isfinite(P).all() or (P < 0).any() or (P > 1).any():
        raise ValueError("pred_proba must hold probabilities in [0, 1]")
    return P


def _single_label(
    Y: np.ndarray,
    P: np.ndarray,
    Pq: np.ndarray,
    eligible: np.ndarray,
    *,
    filter_by: str,
    quality_method: str,
) -> tuple[list[NoiseFinding], np.ndarray]:
    """Flags from P, quality scores from Pq (both (n, C))."""
    C = Y.shape[1]
    full = single_label_proba(P)  # (n, C + 1)
    given = single_label_targets(Y)  # (n,) in 0..C
    quality = _cl_quality(given, single_label_proba(Pq), method=quality_method)
    rows = np.flatnonzero(np.isin(given, eligible))
    # cleanlab sees only the checked classes: rows and columns of the others are dropped and the
    # remaining probabilities renormalised, so a rare class's unreliable threshold cannot count
    # items into it.
    sub = full[np.ix_(rows, eligible)]
    sub /= np.maximum(sub.sum(axis=1, keepdims=True), 1e-12)
    remap = np.full(C + 1, -1)
    remap[eligible] = np.arange(len(eligible))
    mask = _cl_find_label_issues(remap[given[rows]], sub, filter_by=filter_by, n_jobs=1)
    findings = []
    for i in rows[mask]:
        alternatives = full[i].copy()
        alternatives[given[i]] = -1.0  # flagged: the best class other than the given one
        best = int(alternatives.argmax())
        suspected = tuple(sorted(k for k in {int(given[i]), best} if k < C))
        suggested = (best,) if best < C else ()
        findings.append(NoiseFinding(int(i), float(quality[i]), suspected, suggested, None))
    return findings, quality


def _multi_label_flags(Ye: np.ndarray, Pe: np.ndarray, *, filter_by: str) -> np.ndarray:
    """(n, E) bool: which checked category bits look wrong, one binary check per category.

    cleanlab's multi-label filter refuses a single column (it takes an (n, 1) label matrix for
    a single-label problem), so one checked category goes through its binary filter, which is
    the check the multi-label filter runs per category.
    """
    if Ye.shape[1] == 1:
        p = Pe[:, 0]
        binary = np.column_stack([1.0 - p, p])
        return _cl_find_label_issues(Ye[:, 0], binary, filter_by=filter_by, n_jobs=1)[:, None]
    labels = [list(np.flatnonzero(row)) for row in Ye]
    return find_multilabel_issues_per_class(labels, Pe, filter_by=filter_by, n_jobs=1)


def _multi_label(
    Y: np.ndarray,
    P: np.ndarray,
    Pq: np.ndarray,
    eligible: np.ndarray,
    *,
    filter_by: str,
    quality_method: str,
) -> tuple[list[NoiseFinding], np.ndarray, np.ndarray]:
    """Flags from P, quality scores from Pq (both (n, C))."""
    labels_all = [list(np.flatnonzero(row)) for row in Y]
    per_category = np.asarray(  # (n, C)
        get_label_quality_scores_per_class(labels_all, Pq, method=quality_method),
        dtype=np.float64,
    )
    # The item score is the worst of its checked categories' scores. cleanlab's default
    # aggregate (an exponential moving average over the sorted scores) ranked injected errors
    # worse on GoEmotions (AUROC 0.92 against 0.97): one wrong bit among 28 is diluted by the
    # 27 right ones.
    quality = per_category[:, eligible].min(axis=1)
    wrong = _multi_label_flags(Y[:, eligible], P[:, eligible], filter_by=filter_by)
    findings = []
    for i in np.flatnonzero(wrong.any(axis=1)):
        suspected = tuple(int(eligible[j]) for j in np.flatnonzero(wrong[i]))
        corrected = Y[i].copy()
        corrected[list(suspected)] ^= 1
        findings.append(
            NoiseFinding(
                int(i),
                float(quality[i]),
                suspected,
                tuple(int(j) for j in np.flatnonzero(corrected)),
                tuple(float(q) for q in per_category[i]),
            )
        )
    return findings, quality, per_category


def find_label_issues(
    texts: list[str],
    urls: list[str],
    Y: np.ndarray,
    *,
    multi_label: bool,
    features: FeatureConfig,
    seed: int,
    folds: int = 5,
    pred_proba: np.ndarray | None = None,
    c: float = 1.0,
    filter_by: str | None = None,
    quality_method: str = "self_confidence",
    calibration: str = "prior",
    quality_calibration: str | None = None,
    category_names: Sequence[str] | None = None,
    threads: int = 1,
) -> NoiseReport:
    """Flag gold items whose label looks wrong.

    texts, urls: n strings each ("" for no URL). Y: (n, C) 0/1 gold labels; single-label rows
    hold at most one 1 (all-zero = "none of these"). pred_proba: optional (n, C) out-of-fold
    P(category) (single-label: the C category columns, P(none) = 1 - row sum); computed with
    `folds`-fold cross-validation of the project model (`features`, `c`, `seed`) when omitted.
    `category_names` (C) only make the NotEnoughData message readable. `threads`: folds fitted
    at once (`evaluation.out_of_fold_proba_features`); the report does not depend on it.

    Deterministic for a given seed. Raises NotEnoughData (see the module docstring), ValueError
    for malformed input.
    """
    mode = "multi" if multi_label else "single"
    if filter_by is None:
        filter_by = DEFAULT_FILTER[mode]
    if quality_calibration is None:
        quality_calibration = DEFAULT_QUALITY_CALIBRATION[mode]
    if filter_by not in FILTER_METHODS:
        raise ValueError(f"filter_by must be one of {FILTER_METHODS}")
    if quality_method not in QUALITY_METHODS:
        raise ValueError(f"quality_method must be one of {QUALITY_METHODS}")
    if calibration not in CALIBRATIONS or quality_calibration not in CALIBRATIONS:
        raise ValueError(f"calibration must be one of {CALIBRATIONS}")
    if folds < 2:
        raise ValueError("folds must be at least 2")
    Y = indicator(Y, multi_label=multi_label)
    n = Y.shape[0]
    if len(texts) != n or len(urls) != n:
        raise ValueError("texts, urls and Y must have the same number of rows")
    eligible, counts = _eligible(Y, multi_label=multi_label, minimum=folds, names=category_names)

    started = time.perf_counter()
    if pred_proba is None:
        P, used = out_of_fold_proba(
            texts, urls, Y, multi_label=multi_label, features=features, seed=seed, folds=folds,
            c=c, threads=threads,
        )  # fmt: skip
    else:
        P, used = _check_proba(pred_proba, Y.shape), 0
    oof_done = time.perf_counter()
    prior = prior_corrected(P, Y, multi_label=multi_label)
    Pf = prior if calibration == "prior" else P
    Pq = prior if quality_calibration == "prior" else P

    with _CLEANLAB_LOCK, warnings.catch_warnings():
        # cleanlab warns about classes it finds few issues in, which is expected and not news.
        warnings.simplefilter("ignore", UserWarning)
        if multi_label:
            findings, quality, per_category = _multi_label(
                Y, Pf, Pq, eligible, filter_by=filter_by, quality_method=quality_method
            )
        else:
            findings, quality = _single_label(
                Y, Pf, Pq, eligible, filter_by=filter_by, quality_method=quality_method
            )
            per_category = None
    done = time.perf_counter()

    findings.sort(key=lambda f: (f.quality, f.index))
    classes = Y.shape[1] if multi_label else Y.shape[1] + 1
    return NoiseReport(
        findings=findings,
        quality=np.asarray(quality, dtype=np.float64),
        n_items=n,
        method=f"cleanlab:{filter_by}",
        folds=used,
        timings={"oof": oof_done - started, "cleanlab": done - oof_done, "total": done - started},
        pred_proba=P,
        per_category_quality=per_category,
        excluded=tuple(int(k) for k in np.setdiff1d(np.arange(classes), eligible)),
        class_counts=tuple(int(k) for k in counts),
        params={
            "multi_label": multi_label,
            "filter_by": filter_by,
            "quality_method": quality_method,
            "calibration": calibration,
            "quality_calibration": quality_calibration,
            "c": c,
            "seed": seed,
            "features": features.as_dict(),
        },
    )

"""Agreement statistics per category (binary decomposition) and for label sets.

Input ``R``: float array (n_items, n_annotators) of 0.0 / 1.0, NaN where that annotator did not
label that item; different items may have different annotators and different numbers of them.

Choices that apply to every statistic (see docs/architecture.md, "Agreement statistics"):

- Only *pairable* items (two or more ratings) count. An item with one rating says nothing about
  agreement; it is ignored everywhere except ``n_items`` and ``prevalence``.
- A statistic needs at least ``MIN_PAIRABLE_ITEMS`` (2) pairable items; below that it is None.
- A chance-corrected statistic whose expected disagreement is zero (every label the same, e.g.
  a category nobody chose) is undefined: None with a reason, never NaN. Percent agreement and
  Gwet's AC1 stay defined there (1.0 when everyone agrees).
- The plain functions return ``float | None``; ``category_agreement`` and ``set_agreement``
  return ``Estimate`` objects with a bootstrap confidence interval and the reason for any None.

Bootstrap: items are resampled with replacement (the pairable ones: the others contribute to no
statistic), ``n_boot`` replicates from ``np.random.default_rng``-style seeding, so a seed always
gives the same interval. The interval is the percentile interval of the replicates where the
statistic is defined; when fewer than half are (a category with one or two positive items),
no interval is given and the reason says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from . import _binary, _sets
from ._bootstrap import percentile_interval, replicate_values

MIN_PAIRABLE_ITEMS = 2
MIN_PAIR_OVERLAP = 2  # items two annotators must share for their Cohen's kappa to count
MIN_DEFINED_SHARE = 0.5  # of bootstrap replicates, for a confidence interval to be given

NO_ITEMS = "not enough data: no item has a label"
FEW_ITEMS = f"not enough data: fewer than {MIN_PAIRABLE_ITEMS} items with 2+ labels"


@dataclass(frozen=True)
class Estimate:
    """A statistic with its bootstrap confidence interval.

    ``value`` is None when the statistic is undefined, ``low``/``high`` are None when no
    interval was computed; ``reason`` then says why (empty otherwise). Never NaN or inf.
    """

    value: float | None
    low: float | None = None
    high: float | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        for name in ("value", "low", "high"):
            v = getattr(self, name)
            if v is not None and not np.isfinite(v):
                raise ValueError(f"Estimate.{name} must be finite or None, got {v!r}")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CategoryAgreement:
    """All binary statistics of one category. ``n_items``: items with at least one rating;
    ``n_pairable_items``: items with two or more; ``prevalence``: positive share of all ratings
    (None without ratings)."""

    n_items: int
    n_pairable_items: int
    prevalence: float | None
    percent: Estimate
    alpha: Estimate
    cohen: Estimate
    fleiss: Estimate
    ac1: Estimate
    positive: Estimate
    negative: Estimate

    def as_dict(self) -> dict:
        """JSON-ready: ints, floats, strings and None only."""
        return asdict(self)


# --- plain statistics (point values) --------------------------------------------------------


def _point(R: np.ndarray) -> tuple[_binary.BinarySummary, np.ndarray | None]:
    summary = _binary.summarize(_binary.as_reliability_matrix(R))
    if summary.n_pairable < MIN_PAIRABLE_ITEMS:
        return summary, None
    stats = _binary.item_type_stats(summary.type_m, summary.type_x)
    return summary, _binary.item_metrics((summary.type_count @ stats)[None, :])[:, 0]


def _metric(R: np.ndarray, name: str) -> float | None:
    _, values = _point(R)
    return None if values is None else _finite(values[_binary.METRICS.index(name)])


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def percent_agreement(R: np.ndarray) -> float | None:
    """Mean over pairable items of the share of annotator pairs that agree (Fleiss 1971's P_i,
    Gwet 2008's p_a). With two annotators: the share of items they agree on."""
    return _metric(R, "percent")


def krippendorff_alpha_nominal(R: np.ndarray) -> float | None:
    """Krippendorff's alpha, nominal, from the coincidence matrix of pairable items
    (Krippendorff 2011): alpha = 1 - (n - 1) o_01 / (n_0 n_1). Handles any number of
    annotators per item by design. None when every pairable rating is the same."""
    return _metric(R, "alpha")


def fleiss_kappa(R: np.ndarray) -> float | None:
    """Fleiss' kappa. Varying numbers of raters per item use the Fleiss & Cuzick (1979)
    binary form, kappa = 1 - sum_i x_i(m_i - x_i)/m_i / (N (mbar - 1) pbar qbar), over pairable
    items, which equals Fleiss (1971) exactly when every item has the same number of raters.
    None when every pairable rating is the same."""
    return _metric(R, "fleiss")


def gwet_ac1(R: np.ndarray) -> float | None:
    """Gwet's AC1 (Gwet 2008) for two categories: (p_a - p_e) / (1 - p_e), p_a as in
    ``percent_agreement``, p_e = 2 pi (1 - pi), pi = mean over pairable items of the item's
    positive share. Defined whenever there are pairable items (1 - p_e >= 1/2)."""
    return _metric(R, "ac1")


def specific_agreement(R: np.ndarray) -> tuple[float | None, float | None]:
    """(positive, negative) specific agreement for any number of raters (Uebersax, "Raw
    agreement indices"; Fleiss 1975): positive = sum x_i(x_i - 1) / sum x_i(m_i - 1), the share
    of positive ratings whose partner rating is also positive; with two raters 2a / (2a + b + c).
    Negative likewise for negatives. None when there is no positive (negative) rating."""
    _, values = _point(R)
    if values is None:
        return None, None
    pos, neg = (values[_binary.METRICS.index(k)] for k in ("positive", "negative"))
    return _finite(pos), _finite(neg)


def pairwise_tables(R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Annotator-vs-annotator 2x2 tables on shared items: ``pairs`` (P, 2) annotator indices
    a < b of every pair that labeled at least one item together, and ``tables`` (P, 4) int
    counts [n00, n01, n10, n11] (first index: a's label, second: b's label)."""
    R = _binary.as_reliability_matrix(R)
    structure = _binary.pair_structure(R)
    tables = _binary.pair_tables(structure, structure.pattern_count[None, :].astype(float))[0]
    return structure.pairs, tables.astype(np.int64)


def cohen_kappa_mean(R: np.ndarray, *, min_overlap: int = MIN_PAIR_OVERLAP) -> float | None:
    """Cohen's kappa per annotator pair on the items both labeled, averaged over pairs with
    equal weight (Light 1971). A pair counts when it shares at least ``min_overlap`` (default
    2) items and its kappa is defined (not both annotators giving one same label to all their
    shared items). None when no pair counts."""
    R = _binary.as_reliability_matrix(R)
    structure = _binary.pair_structure(R)
    counts = structure.pattern_count[None, :].astype(float)
    value = _binary.mean_pair_kappa(_binary.pair_tables(structure, counts), min_overlap)[0]
    return _finite(value)


def krippendorff_alpha_sets(
    label_sets: Sequence[Sequence[Iterable]], distance: str = "jaccard"
) -> float | None:
    """Krippendorff's alpha on label sets, with Jaccard or MASI distance (see ``_sets``).

    ``label_sets[i]`` lists the label sets the annotators of item i gave (a frozenset of
    category ids each; an empty set is the explicit "none of these"). Items with fewer than two
    sets are not pairable. None with fewer than 2 pairable items or when every set is the same.
    """
    summary = _sets.summarize_sets(label_sets)
    stats = _sets.set_type_stats(summary, distance)
    if summary.n_pairable < MIN_PAIRABLE_ITEMS:
        return None
    return _finite(_sets.set_alpha(stats, summary.type_count[None, :].astype(float))[0])


# --- estimates with bootstrap confidence intervals ------------------------------------------


def _check_bootstrap(n_boot: int, level: float) -> None:
    if n_boot < 0:
        raise ValueError(f"n_boot must be >= 0, got {n_boot}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level}")


def _estimate(value: float, replicates: np.ndarray | None, level: float, why: str) -> Estimate:
    if not np.isfinite(value):
        return Estimate(None, None, None, why)
    if replicates is None:
        return Estimate(float(value), None, None, "no confidence interval: n_boot=0")
    interval = percentile_interval(replicates, level, MIN_DEFINED_SHARE)
    if interval is None:
        undefined = float(np.isnan(replicates).mean())
        return Estimate(
            float(value),
            None,
            None,
            f"no confidence interval: the statistic is undefined in {undefined:.0%} of "
            "bootstrap resamples (too few positive or negative labels)",
        )
    return Estimate(float(value), interval[0], interval[1])


def _reasons(summary: _binary.BinarySummary) -> dict[str, str]:
    if summary.n_pairable < MIN_PAIRABLE_ITEMS:
        reason = NO_ITEMS if summary.n_items == 0 else FEW_ITEMS
        return dict.fromkeys((*_binary.METRICS, "cohen"), reason)
    stats = _binary.item_type_stats(summary.type_m, summary.type_x)
    pos = float(summary.type_count @ stats[:, _binary.X])
    ratings = float(summary.type_count @ stats[:, _binary.M])
    if pos == 0:
        flat = "no variation: every label is negative (nobody chose this category)"
    else:
        flat = "no variation: every label is positive (everyone chose this category)"
    return {
        "percent": "",
        "ac1": "",
        "alpha": flat if pos in (0, ratings) else "",
        "fleiss": flat if pos in (0, ratings) else "",
        "positive": "no positive label on an item with 2+ labels",
        "negative": "no negative label on an item with 2+ labels",
        "cohen": "",  # decided from the pair tables in _cohen_estimate
    }


def _cohen_estimate(
    R: np.ndarray, n_boot: int, seed: np.random.SeedSequence, level: float, min_overlap: int
) -> Estimate:
    pairs = _binary.pair_structure(R)
    tables = _binary.pair_tables(pairs, pairs.pattern_count[None, :].astype(float))
    value = _binary.mean_pair_kappa(tables, min_overlap)[0]
    if not np.isfinite(value):
        if not (tables.sum(axis=2) >= min_overlap).any():
            why = f"not enough data: no annotator pair labeled {min_overlap}+ items in common"
        else:
            why = (
                "no variation: within every annotator pair both gave one same label to all "
                "the items they share (kappa is undefined)"
            )
        return Estimate(None, None, None, why)
    reps = None
    if n_boot:
        reps = replicate_values(
            np.random.default_rng(seed),
            type_count=pairs.pattern_count,
            inverse=pairs.inverse,
            n_boot=n_boot,
            compute=lambda c: _binary.mean_pair_kappa(_binary.pair_tables(pairs, c), min_overlap),
        )
    return _estimate(value, reps, level, "")


def category_agreement(
    R: np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    min_pair_overlap: int = MIN_PAIR_OVERLAP,
) -> CategoryAgreement:
    """Every binary statistic of one category with ``level`` bootstrap intervals (see module
    docstring). Deterministic for a seed. Cost: one pass over R, then per replicate a product
    of type counts with a few per-type sums (no loop over items or replicates in Python)."""
    _check_bootstrap(n_boot, level)
    R = _binary.as_reliability_matrix(R)
    summary = _binary.summarize(R)
    reasons = _reasons(summary)
    prevalence = summary.n_positive / summary.n_ratings if summary.n_ratings else None
    enough = summary.n_pairable >= MIN_PAIRABLE_ITEMS
    item_seed, pair_seed = np.random.SeedSequence(seed).spawn(2)

    values = np.full(len(_binary.METRICS), np.nan)
    reps: np.ndarray | None = None
    if enough:
        stats = _binary.item_type_stats(summary.type_m, summary.type_x)
        values = _binary.item_metrics((summary.type_count @ stats)[None, :])[:, 0]
        if n_boot:
            reps = replicate_values(
                np.random.default_rng(item_seed),
                type_count=summary.type_count,
                inverse=summary.inverse,
                n_boot=n_boot,
                compute=lambda c: _binary.item_metrics(c @ stats).T,
            )
    estimates = {
        name: _estimate(values[i], None if reps is None else reps[:, i], level, reasons[name])
        for i, name in enumerate(_binary.METRICS)
    }

    if enough:
        cohen = _cohen_estimate(R, n_boot, pair_seed, level, min_pair_overlap)
    else:
        cohen = Estimate(None, None, None, reasons["cohen"])

    return CategoryAgreement(
        n_items=summary.n_items,
        n_pairable_items=summary.n_pairable,
        prevalence=prevalence,
        cohen=cohen,
        **estimates,
    )


def set_agreement(
    label_sets: Sequence[Sequence[Iterable]],
    *,
    distance: str = "jaccard",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    """Set-level Krippendorff's alpha (``krippendorff_alpha_sets``) with a ``level`` bootstrap
    interval resampling pairable items. Deterministic for a seed."""
    _check_bootstrap(n_boot, level)
    summary = _sets.summarize_sets(label_sets)
    stats = _sets.set_type_stats(summary, distance)
    if summary.n_pairable < MIN_PAIRABLE_ITEMS:
        return Estimate(None, None, None, NO_ITEMS if summary.n_items == 0 else FEW_ITEMS)
    value = _sets.set_alpha(stats, summary.type_count[None, :].astype(float))[0]
    reps = None
    if n_boot and np.isfinite(value):
        reps = replicate_values(
            np.random.default_rng(seed),
            type_count=summary.type_count,
            inverse=summary.inverse,
            n_boot=n_boot,
            compute=lambda c: _sets.set_alpha(stats, c),
        )
    why = "no variation: every annotator gave the same label set to every item"
    return _estimate(value, reps, level, why)

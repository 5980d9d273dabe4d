"""Per-item sufficient statistics of a binary reliability matrix and the formulas on their sums.

Shapes: ``R`` is (n_items, n_annotators) of 0.0 / 1.0 / NaN. For item i, ``m_i`` is its number
of ratings and ``x_i`` its number of positive ratings. Only *pairable* items (m_i >= 2) enter
any agreement statistic. Every statistic except Cohen's kappa is a function of sums over
pairable items of quantities that depend on (m_i, x_i) alone, so items are grouped by (m, x)
(a handful of types); Cohen's kappa needs who rated what, so it groups items by their full
pattern of (annotator, label) instead.

Internal: the public wrappers and their documentation are in ``metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

# Columns of the per-type statistics matrix (see ``item_type_stats``).
N, M, X, ALPHA_D, FLEISS_E, DISAGREE, SHARE, POS_NUM, POS_DEN, NEG_NUM, NEG_DEN = range(11)

# Rows of the values returned by ``item_metrics``.
METRICS = ("percent", "alpha", "fleiss", "ac1", "positive", "negative")


def as_reliability_matrix(R: np.ndarray) -> np.ndarray:
    """``R`` as a 2-D float array, refusing anything but 0, 1 and NaN (a programming error)."""
    R = np.asarray(R, dtype=np.float64)
    if R.ndim != 2:
        raise ValueError(f"R must be 2-D (items x annotators), got shape {R.shape}")
    bad = ~np.isnan(R) & (R != 0.0) & (R != 1.0)
    if bad.any():
        raise ValueError(f"R must hold only 0, 1 or NaN; found {R[bad][0]!r}")
    return R


@dataclass(frozen=True)
class BinarySummary:
    """Counts of one binary matrix and its pairable items grouped by (m, x)."""

    n_items: int  # items with at least one rating
    n_ratings: int
    n_positive: int
    n_pairable: int  # items with two or more ratings
    type_m: np.ndarray  # (T,) ratings per item of each type
    type_x: np.ndarray  # (T,) positives per item of each type
    type_count: np.ndarray  # (T,) pairable items of each type
    inverse: np.ndarray  # (n_pairable,) type of each pairable item


def summarize(R: np.ndarray) -> BinarySummary:
    rated = ~np.isnan(R)
    m = rated.sum(axis=1)
    x = np.where(rated, R, 0.0).sum(axis=1).astype(np.int64)
    pairable = m >= 2
    mp, xp = m[pairable], x[pairable]
    key = mp * (R.shape[1] + 1) + xp
    keys, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    return BinarySummary(
        n_items=int((m > 0).sum()),
        n_ratings=int(m.sum()),
        n_positive=int(x.sum()),
        n_pairable=int(pairable.sum()),
        type_m=keys // (R.shape[1] + 1),
        type_x=keys % (R.shape[1] + 1),
        type_count=counts,
        inverse=inverse.ravel(),
    )


def item_type_stats(m: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(T, 11) per-item quantities whose sums give every statistic (columns named above)."""
    m = m.astype(np.float64)
    x = x.astype(np.float64)
    y = m - x  # negatives
    stats = np.empty((m.size, 11))
    stats[:, N] = 1.0
    stats[:, M] = m
    stats[:, X] = x
    stats[:, ALPHA_D] = x * y / (m - 1.0)  # disagreeing coincidences (Krippendorff)
    stats[:, FLEISS_E] = x * y / m  # Fleiss & Cuzick (1979) numerator
    stats[:, DISAGREE] = 2.0 * x * y / (m * (m - 1.0))  # share of disagreeing rater pairs
    stats[:, SHARE] = x / m  # the item's positive share (Gwet's pi)
    stats[:, POS_NUM] = x * (x - 1.0)  # agreeing positive pairs (Uebersax)
    stats[:, POS_DEN] = x * (m - 1.0)
    stats[:, NEG_NUM] = y * (y - 1.0)
    stats[:, NEG_DEN] = y * (m - 1.0)
    return stats


def _ratio(num: np.ndarray, den: np.ndarray, defined: np.ndarray) -> np.ndarray:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=defined)
    return out


def item_metrics(S: np.ndarray) -> np.ndarray:
    """(6, k) values of ``METRICS`` from (k, 11) sums over items; NaN where undefined.

    The caller guarantees at least two pairable items in the point estimate; replicates keep
    the number of items, so only "no variation" and "no positive/negative" can make a value
    undefined here. Definedness is decided on counts, which are exact in float64.
    """
    n, mm, xx = S[:, N], S[:, M], S[:, X]
    has_items = n >= 1
    varied = (xx > 0) & (xx < mm) & (mm > n)
    p_agree = 1.0 - _ratio(S[:, DISAGREE], n, has_items)
    # Krippendorff (2011), binary nominal: alpha = 1 - (n - 1) * o_01 / (n_0 * n_1).
    alpha = 1.0 - _ratio((mm - 1.0) * S[:, ALPHA_D], xx * (mm - xx), varied)
    # Fleiss & Cuzick (1979): kappa = 1 - sum(x(m-x)/m) / (N (mbar - 1) pbar qbar); with
    # mbar = M/N, pbar = X/M the denominator is (M - N) X (M - X) / M^2.
    fleiss = 1.0 - _ratio(S[:, FLEISS_E] * mm * mm, (mm - n) * xx * (mm - xx), varied)
    # Gwet (2008), two categories: p_e = 2 pi (1 - pi), pi = mean of per-item positive shares.
    pi = _ratio(S[:, SHARE], n, has_items)
    p_chance = 2.0 * pi * (1.0 - pi)
    ac1 = (p_agree - p_chance) / (1.0 - p_chance)  # 1 - p_e >= 1/2: always defined
    positive = _ratio(S[:, POS_NUM], S[:, POS_DEN], S[:, POS_DEN] > 0)
    negative = _ratio(S[:, NEG_NUM], S[:, NEG_DEN], S[:, NEG_DEN] > 0)
    return np.vstack([p_agree, alpha, fleiss, ac1, positive, negative])


# --- Cohen's kappa per annotator pair -------------------------------------------------------


@dataclass(frozen=True)
class PairStructure:
    """Pairable items grouped by their full (annotator, label) pattern, and the 2x2 table cell
    each pattern adds to each annotator pair that rated it together."""

    pairs: np.ndarray  # (P, 2) annotator indices a < b of every pair that shares an item
    incidence: sparse.csr_matrix  # (U, 4P): pattern -> pair cell (4 * pair + 2 * x_a + x_b)
    pattern_count: np.ndarray  # (U,)
    inverse: np.ndarray  # (n_pairable,) pattern of each pairable item


def unique_rows(codes: np.ndarray, radix: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """np.unique over the rows of a non-negative int array whose values are < ``radix``:
    (unique rows, inverse, counts). Packs each row into one int64 when it fits (much faster
    than sorting rows as byte strings)."""
    width = codes.shape[1]
    if width and width * (radix - 1).bit_length() <= 63:
        packed = np.zeros(codes.shape[0], dtype=np.int64)
        for col in range(width):
            packed = packed * radix + codes[:, col]
        keys, first, inverse, counts = np.unique(
            packed, return_index=True, return_inverse=True, return_counts=True
        )
        return codes[first], inverse.ravel(), counts
    rows, inverse, counts = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    return rows, inverse.ravel(), counts


def pair_structure(R: np.ndarray) -> PairStructure:
    n_annotators = R.shape[1]
    rated = ~np.isnan(R)
    pairable = rated.sum(axis=1) >= 2
    Rp, rated_p = R[pairable], rated[pairable]
    # Code annotator j's label v as 2j + v + 1 (0 = not rated); sorting each row in descending
    # order puts the item's ratings first, in a canonical order, so equal items get equal rows.
    codes = np.where(rated_p, 2 * np.arange(n_annotators) + np.nan_to_num(Rp) + 1, 0)
    codes = -np.sort(-codes.astype(np.int64), axis=1)
    if Rp.shape[0] == 0:
        none = np.zeros(0, dtype=np.int64)
        return PairStructure(np.zeros((0, 2), np.int64), sparse.csr_matrix((0, 0)), none, none)
    k_max = int(rated_p.sum(axis=1).max())
    patterns, inverse, counts = unique_rows(codes[:, :k_max], 2 * n_annotators + 1)
    users, keys, cells = [], [], []
    for r in range(k_max):
        for s in range(r + 1, k_max):
            u = np.nonzero(patterns[:, s] > 0)[0]
            hi, lo = patterns[u, r] - 1, patterns[u, s] - 1  # annotator(hi) > annotator(lo)
            users.append(u)
            keys.append((lo // 2) * n_annotators + hi // 2)
            cells.append(2 * (lo % 2) + hi % 2)
    if users:
        u, key, cell = np.concatenate(users), np.concatenate(keys), np.concatenate(cells)
    else:
        u = key = cell = np.zeros(0, dtype=np.int64)
    pair_keys, pair_index = np.unique(key, return_inverse=True)
    incidence = sparse.csr_matrix(
        (np.ones(u.size), (u, 4 * pair_index.ravel() + cell)),
        shape=(patterns.shape[0], 4 * pair_keys.size),
    )
    pairs = np.stack([pair_keys // n_annotators, pair_keys % n_annotators], axis=1)
    return PairStructure(pairs, incidence, counts, inverse)


def pair_tables(structure: PairStructure, counts: np.ndarray) -> np.ndarray:
    """(k, P, 4) tables [n00, n01, n10, n11] (a's label, b's label) from (k, U) pattern counts."""
    flat = (structure.incidence.T @ counts.T).T
    return np.asarray(flat).reshape(counts.shape[0], -1, 4)


def mean_pair_kappa(tables: np.ndarray, min_overlap: int) -> np.ndarray:
    """(k,) unweighted mean of Cohen's kappa over pairs with >= min_overlap shared items and a
    defined kappa; NaN when no pair qualifies. Uses the exact 2x2 identity
    kappa = 2(ad - bc) / ((a + b)(b + d) + (a + c)(c + d)), a = n11, b = n10, c = n01, d = n00,
    whose denominator is zero exactly when kappa is 0/0 (both annotators constant and equal)."""
    d, c, b, a = (tables[..., i] for i in range(4))
    den = (a + b) * (b + d) + (a + c) * (c + d)
    usable = (a + b + c + d >= min_overlap) & (den > 0)
    kappa = np.zeros(den.shape)
    np.divide(2.0 * (a * d - b * c), den, out=kappa, where=usable)
    n_usable = usable.sum(axis=1)
    return _ratio(kappa.sum(axis=1), n_usable.astype(np.float64), n_usable > 0)

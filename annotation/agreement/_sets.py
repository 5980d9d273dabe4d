"""Set-level Krippendorff's alpha: per-item sufficient statistics for multi-label items.

Each pairable item (two or more annotators' label sets) contributes its number of ratings, its
observed disagreement and how many times each distinct label set occurs in it. Items with the
same multiset of label sets are grouped into one type. With V distinct label sets and the
(V, V) distance matrix D, for item-type counts w (shape (T,)):

    n      = sum_t w_t m_t                               (pairable ratings)
    D_o n  = sum_t w_t sum_{i != j} D[c_i, c_j] / (m_t - 1)
    N      = w @ value_counts                            (shape (V,))
    D_e n (n - 1) = N @ D @ N
    alpha  = 1 - (n - 1) * (D_o n) / (N D N)             (Krippendorff 2011, eq. for any metric)

Internal: the public functions are in ``metrics``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ._binary import unique_rows

DISTANCES = ("jaccard", "masi")


def distance_matrix(members: np.ndarray, distance: str) -> np.ndarray:
    """(V, V) distances between label sets given as a (V, L) 0/1 membership matrix.

    Jaccard distance: 1 - |A & B| / |A | B|. MASI (Passonneau 2006): 1 - J * M with M = 1 for
    equal sets, 2/3 when one is a subset of the other, 1/3 when they overlap otherwise, 0 when
    disjoint (NLTK rounds these to 0.67 / 0.33; we keep the fractions). Two empty sets ("none of
    these" twice) are equal: distance 0. An empty and a non-empty set are at distance 1.
    """
    if distance not in DISTANCES:
        raise ValueError(f"distance must be one of {DISTANCES}, got {distance!r}")
    members = members.astype(np.float64)
    inter = members @ members.T
    size = members.sum(axis=1)
    union = size[:, None] + size[None, :] - inter
    jaccard = np.ones_like(inter)  # two empty sets are identical
    np.divide(inter, union, out=jaccard, where=union > 0)
    if distance == "jaccard":
        return 1.0 - jaccard
    smaller = np.minimum(size[:, None], size[None, :])
    equal = (inter == size[:, None]) & (inter == size[None, :])
    monotonicity = np.select(
        [equal, inter == smaller, inter > 0], [1.0, 2.0 / 3.0, 1.0 / 3.0], default=0.0
    )
    return 1.0 - jaccard * monotonicity


@dataclass(frozen=True)
class SetSummary:
    n_items: int  # items with at least one label set
    n_pairable: int
    members: np.ndarray  # (V, L) distinct label sets of pairable items as 0/1 rows
    type_rows: np.ndarray  # (T, k_max) label-set ids of each item type, -1 padded
    type_count: np.ndarray  # (T,)
    inverse: np.ndarray  # (n_pairable,)


def summarize_sets(label_sets: Sequence[Sequence[Iterable]]) -> SetSummary:
    """Group pairable items by their sorted label-set ids. One Python pass over the ratings
    (a dict lookup each: frozensets cache their hash); the rest is numpy."""
    set_ids: dict[frozenset, int] = {}
    lookup = set_ids.setdefault
    flat: list[int] = []
    lengths: list[int] = []
    n_items = 0
    for sets in label_sets:
        m = len(sets)
        n_items += m > 0
        if m >= 2:
            flat.extend([lookup(frozenset(s), len(set_ids)) for s in sets])
            lengths.append(m)
    n_values = len(set_ids)
    sizes = np.asarray(lengths, dtype=np.int64)
    k_max = int(sizes.max()) if sizes.size else 0
    # Pad with n_values so that sorting puts the padding last, then mark it -1.
    padded = np.full((sizes.size, k_max), n_values, dtype=np.int64)
    padded[np.arange(k_max) < sizes[:, None]] = flat
    padded.sort(axis=1)
    if sizes.size:
        type_rows, inverse, counts = unique_rows(padded, n_values + 1)
    else:
        type_rows = padded
        inverse = counts = np.zeros(0, dtype=np.int64)
    type_rows = np.where(type_rows == n_values, -1, type_rows)
    labels = sorted({label for s in set_ids for label in s}, key=repr)
    label_index = {label: j for j, label in enumerate(labels)}
    members = np.zeros((n_values, len(labels)), dtype=np.int8)
    for s, i in set_ids.items():
        members[i, [label_index[label] for label in s]] = 1
    return SetSummary(n_items, sizes.size, members, type_rows, counts, inverse)


@dataclass(frozen=True)
class SetStats:
    ratings: np.ndarray  # (T,) pairable ratings per item of each type
    observed: np.ndarray  # (T,) sum over ordered pairs of distances / (m - 1)
    value_counts: sparse.csr_matrix  # (T, V)
    distances: np.ndarray  # (V, V)


def set_type_stats(summary: SetSummary, distance: str) -> SetStats:
    dist = distance_matrix(summary.members, distance)
    rows = summary.type_rows
    present = rows >= 0
    m = present.sum(axis=1).astype(np.float64)
    observed = np.zeros(rows.shape[0])
    for r in range(rows.shape[1]):
        for s in range(r + 1, rows.shape[1]):
            both = present[:, r] & present[:, s]
            observed[both] += 2.0 * dist[rows[both, r], rows[both, s]]  # ordered pairs
    if rows.shape[0]:
        observed /= m - 1.0
    t_idx, k_idx = np.nonzero(present)
    value_counts = sparse.csr_matrix(
        (np.ones(t_idx.size), (t_idx, rows[t_idx, k_idx])),
        shape=(rows.shape[0], summary.members.shape[0]),
    )
    return SetStats(m, observed, value_counts, dist)


def set_alpha(stats: SetStats, counts: np.ndarray) -> np.ndarray:
    """(k,) set-level alpha for (k, T) item-type counts; NaN when there is no variation (every
    pairable rating is the same label set, so expected disagreement is 0)."""
    n = counts @ stats.ratings
    observed = counts @ stats.observed
    per_value = np.asarray((stats.value_counts.T @ counts.T).T)  # (k, V)
    expected = ((per_value @ stats.distances) * per_value).sum(axis=1)
    out = np.full(n.shape, np.nan)
    varied = expected > 0
    np.divide((n - 1.0) * observed, expected, out=out, where=varied)
    return np.where(varied, 1.0 - out, np.nan)

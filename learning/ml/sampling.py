"""Probability-sampling primitives for batch selection (see `strategies` for the design).

- `capped_inclusion`: inclusion probabilities proportional to weights, capped at 1, summing to
  the sample size (the standard iterative cap of PPS sampling).
- `systematic_pps`: a fixed-size sample whose first-order inclusion probabilities are exactly
  the given π (systematic sampling over a random order; certainty items taken outright).
- `simple_random`: a simple random sample without replacement (π = m / N for every item).
"""

from __future__ import annotations

import numpy as np


def capped_inclusion(weights: np.ndarray, size: float) -> np.ndarray:
    """(N,) π_i = min(1, λ·w_i) with Σπ = min(size, number of positive weights).

    weights: (N,) non-negative. Items with weight 0 get π = 0.
    """
    w = np.asarray(weights, dtype=np.float64)
    if (w < 0).any() or not np.isfinite(w).all():
        raise ValueError("weights must be finite and non-negative")
    pi = np.zeros_like(w)
    positive = w > 0
    if size >= positive.sum():
        pi[positive] = 1.0
        return pi
    certain = np.zeros(w.shape, dtype=bool)
    while True:
        rest = positive & ~certain
        remaining = size - certain.sum()
        pi[rest] = remaining * w[rest] / w[rest].sum()
        newly = rest & (pi >= 1.0)
        if not newly.any():
            return pi
        certain |= newly
        pi[certain] = 1.0


def systematic_pps(pi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted row indices of a sample with P(i in sample) = pi[i] and size round(Σπ).

    pi: (N,) in [0, 1] with an integer sum (as `capped_inclusion` makes). Items with π = 1 are
    taken outright; the others are laid out in a random order on a line, each over a length
    π_i, and one random start u ∈ [0, 1) with the points u, u+1, u+2, … picks whichever item
    each point falls on. Every item is hit with probability exactly π_i, never twice (π_i ≤ 1).
    """
    pi = np.asarray(pi, dtype=np.float64)
    certain = np.flatnonzero(pi >= 1.0 - 1e-12)
    rest = np.flatnonzero((pi > 0) & (pi < 1.0 - 1e-12))
    m = int(round(pi[rest].sum()))
    if m == 0:
        return np.sort(certain)
    order = rest[rng.permutation(len(rest))]
    edges = np.cumsum(pi[order])
    edges *= m / edges[-1]  # absorb float drift so the last point always lands on an item
    points = rng.random() + np.arange(m)
    hit = np.searchsorted(edges, points, side="right")
    return np.sort(np.concatenate([certain, order[hit]]))


def simple_random(n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of a simple random sample of m of n items (π = m / n each)."""
    return np.sort(rng.choice(n, size=m, replace=False))

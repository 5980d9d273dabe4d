"""Item bootstrap on grouped items: replicate counts per item *type*, drawn in bulk.

Every statistic here is a function of sums of per-item quantities, and many items are
identical for that purpose (same number of ratings and positives, or the same annotators with
the same labels). Items are therefore grouped into types once; resampling ``n`` items with
replacement is then exactly a multinomial draw of how many copies of each type a replicate
holds, and each replicate's sums are one matrix product of those counts with the per-type
statistics. No Python loop runs over items or replicates: replicates are drawn in chunks that
bound memory, and a caller-supplied function turns a chunk of counts into replicate values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# Largest number of array cells (replicates x types, or replicates x items) drawn at once:
# about 32 MB of int64, whatever the number of replicates.
_CHUNK_CELLS = 1 << 22

# Below this many items per type a multinomial draw over types is cheaper than drawing item
# indices (one binomial per type against one integer per item).
_ITEMS_PER_TYPE_FOR_MULTINOMIAL = 4


def replicate_values(
    rng: np.random.Generator,
    *,
    type_count: np.ndarray,
    inverse: np.ndarray,
    n_boot: int,
    compute: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """Values of a statistic on ``n_boot`` item-bootstrap replicates.

    ``type_count`` (T,) is how many items have each type and ``inverse`` (n,) the type of each
    item (``np.unique(..., return_inverse=True)``). A replicate draws ``n = type_count.sum()``
    items with replacement. ``compute`` receives a float array (chunk, T) of type counts and
    returns (chunk,) or (chunk, k) replicate values; the chunks are stacked in order.

    Deterministic for a given generator state and input. Which of the two equivalent draws is
    used depends only on the input's shape, so a seed always gives the same replicates.
    """
    n = int(type_count.sum())
    n_types = int(type_count.size)
    use_multinomial = n_types * _ITEMS_PER_TYPE_FOR_MULTINOMIAL <= n
    width = n_types if use_multinomial else max(n, n_types)
    chunk = max(1, min(n_boot, _CHUNK_CELLS // max(width, 1)))
    pvals = type_count / n
    parts = []
    done = 0
    while done < n_boot:
        size = min(chunk, n_boot - done)
        if use_multinomial:
            counts = rng.multinomial(n, pvals, size=size)
        else:
            picks = inverse[rng.integers(0, n, size=(size, n))]
            picks += (np.arange(size) * n_types)[:, None]
            counts = np.bincount(picks.ravel(), minlength=size * n_types).reshape(size, n_types)
        parts.append(compute(counts.astype(np.float64)))
        done += size
    return np.concatenate(parts, axis=0)


def percentile_interval(
    replicates: np.ndarray, level: float, min_defined_share: float
) -> tuple[float, float] | None:
    """Percentile interval of the defined (non-NaN) replicates, or None when too few are.

    A replicate is undefined when its resample has, say, no positive label at all; dropping
    those conditions the interval on resamples where the statistic exists. When they are the
    minority (below ``min_defined_share``) the interval would describe an unusual subset, so
    none is given.
    """
    defined = replicates[~np.isnan(replicates)]
    if replicates.size == 0 or defined.size < min_defined_share * replicates.size:
        return None
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(defined, [tail, 1.0 - tail])
    return float(low), float(high)

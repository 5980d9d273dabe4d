"""Build the inputs of ``metrics`` from long-form rows (one row per annotation).

Callers map their ids to dense 0-based indices first (e.g. with ``np.unique(...,
return_inverse=True)``). Malformed input (index out of range, two labels of one annotator on
one item, a value other than 0/1) raises ``ValueError``: it is a bug in the caller, not data to
be reported.
"""

from __future__ import annotations

import numpy as np


def _indices(name: str, idx: np.ndarray, size: int) -> np.ndarray:
    idx = np.asarray(idx)
    if idx.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {idx.shape}")
    if idx.size and not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        raise ValueError(f"{name} must be in [0, {size}), got values in [{idx.min()}, {idx.max()}]")
    return idx.astype(np.int64, copy=False)


def _check_rows(
    item_idx: np.ndarray, annotator_idx: np.ndarray, n_items: int, n_annotators: int
) -> tuple[np.ndarray, np.ndarray]:
    items = _indices("item_idx", item_idx, n_items)
    annotators = _indices("annotator_idx", annotator_idx, n_annotators)
    if items.size != annotators.size:
        raise ValueError(f"{items.size} item indices but {annotators.size} annotator indices")
    cell = items * n_annotators + annotators
    if np.unique(cell).size != cell.size:
        raise ValueError("an annotator has two rows for the same item")
    return items, annotators


def reliability_matrix(
    item_idx: np.ndarray,
    annotator_idx: np.ndarray,
    value: np.ndarray,
    n_items: int,
    n_annotators: int,
) -> np.ndarray:
    """R (n_items, n_annotators): ``value[k]`` (0/1 or bool) at (item_idx[k], annotator_idx[k]),
    NaN where an annotator did not label an item. Items or annotators without any row stay
    all-NaN (they count for nothing)."""
    items, annotators = _check_rows(item_idx, annotator_idx, n_items, n_annotators)
    values = np.asarray(value, dtype=np.float64)
    if values.shape != items.shape:
        raise ValueError(f"value must have shape {items.shape}, got {values.shape}")
    if not np.isin(values, (0.0, 1.0)).all():
        raise ValueError("value must hold only 0/1 (or booleans)")
    R = np.full((n_items, n_annotators), np.nan)
    R[items, annotators] = values
    return R


def category_matrices(
    item_idx: np.ndarray,
    annotator_idx: np.ndarray,
    labels: np.ndarray,
    n_items: int,
    n_annotators: int,
) -> np.ndarray:
    """One R per category at once: (n_categories, n_items, n_annotators) from a (n_rows,
    n_categories) 0/1 matrix ``labels`` (row k: the categories annotation k chose; an all-zero
    row is "none of these", a real answer for every category). ``out[c]`` is category c's R.
    Memory: 8 bytes per cell; build per category with ``reliability_matrix`` if that is a
    concern."""
    items, annotators = _check_rows(item_idx, annotator_idx, n_items, n_annotators)
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[0] != items.size:
        raise ValueError(f"labels must have shape ({items.size}, n_categories), got {labels.shape}")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must hold only 0/1 (or booleans)")
    out = np.full((labels.shape[1], n_items, n_annotators), np.nan)
    out[:, items, annotators] = labels.T
    return out


def label_sets(
    item_idx: np.ndarray,
    labels: np.ndarray,
    n_items: int,
    category_ids: np.ndarray | None = None,
) -> list[list[frozenset]]:
    """Input of ``krippendorff_alpha_sets`` / ``set_agreement``: for each item, the frozensets
    of category ids its annotations chose (``labels`` as in ``category_matrices``; ids are the
    column numbers unless ``category_ids`` names them). An all-zero row gives the empty set."""
    items = _indices("item_idx", item_idx, n_items)
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[0] != items.size:
        raise ValueError(f"labels must have shape ({items.size}, n_categories), got {labels.shape}")
    ids = np.arange(labels.shape[1]) if category_ids is None else np.asarray(category_ids)
    if ids.shape != (labels.shape[1],):
        raise ValueError(f"category_ids must have shape ({labels.shape[1]},), got {ids.shape}")
    out: list[list[frozenset]] = [[] for _ in range(n_items)]
    if items.size == 0:
        return out
    # Identical label rows share one frozenset: many annotations pick the same few sets.
    # Rows are packed into integers when they fit (np.unique on rows sorts byte strings).
    bits = labels.astype(bool)
    if bits.shape[1] <= 62:
        codes = bits.astype(np.int64) @ (np.int64(1) << np.arange(bits.shape[1], dtype=np.int64))
        _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        rows = bits[first]
    else:
        rows, inverse = np.unique(bits, axis=0, return_inverse=True)
    sets = [frozenset(ids[row].tolist()) for row in rows]
    for item, row in zip(items.tolist(), inverse.ravel().tolist(), strict=True):
        out[item].append(sets[row])
    return out

"""Stratified train/test splits that keep near-duplicates together, deterministic by seed.

Near-duplicates: two rows whose texts are equal after normalisation (Unicode NFKC, case folded,
digit runs → "0", punctuation and symbols → space, whitespace collapsed) form one group. Web
pages and posts repeat mostly as reposts, templated spam and boilerplate that differ in case,
spacing, punctuation and numbers; an exact hash of the normalised text catches those in one
streaming pass at O(n) with no tuning. MinHash/SimHash would also catch reworded copies, at the
cost of band/threshold parameters, many hashes per row and a candidate-pair stage; not done
(yet): a reworded copy can still land on both sides. A row whose normalised text is empty is
its own group.

Stratification: each row's stratum is its rarest gold class in the version (None of these is a
class; a row with neither labels nor None of these has its own stratum), a group's stratum is
the rarest among its rows. Within each stratum the groups are put in a pseudo-random order
(splitmix64 of the group key mixed with the seed) and a group goes to test while the middle of
the group still falls below the stratum's target (test_fraction × rows), so every stratum gets
within half a group of its share and rare categories appear on both sides when they can.

The result is one boolean per row in canonical order (the order every export reads), so the
export pass needs no lookup by id and the memory is a few bytes per row.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

import numpy as np

_DIGITS = re.compile(r"\d+")
_NON_WORD = re.compile(r"[\W_]+")
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _DIGITS.sub("0", text)
    return _NON_WORD.sub(" ", text).strip()


def group_key(text: str, external_id: str) -> int:
    norm = normalise(text)
    basis = ("t:" + norm) if norm else ("id:" + external_id)
    return int.from_bytes(hashlib.blake2b(basis.encode(), digest_size=8).digest(), "little")


def splitmix64(x: np.ndarray) -> np.ndarray:
    """A fixed 64-bit mixing function (vectorised; uint64 arithmetic wraps)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


class SplitPlanner:
    """Feed rows in canonical order with `add`, then `assign` returns is_test per row."""

    def __init__(self, *, class_positives: dict[str, int]):
        # Rarer class → smaller rank; ties by name so the order is fixed.
        ordered = sorted(class_positives.items(), key=lambda kv: (kv[1], kv[0]))
        self.rank = {name: r for r, (name, _n) in enumerate(ordered)}
        self.unlabeled_rank = len(ordered)
        self.keys: list[int] = []
        self.strata: list[int] = []
        self._labels_cache: dict[str, list[str]] = {}

    def add(self, *, external_id: str, text: str, labels_json: str, none_of_these: bool) -> None:
        labels = self._labels_cache.get(labels_json)
        if labels is None:
            labels = json.loads(labels_json)
            self._labels_cache[labels_json] = labels
        ranks = [self.rank[name] for name in labels if name in self.rank]
        if none_of_these and "__none__" in self.rank:
            ranks.append(self.rank["__none__"])
        self.strata.append(min(ranks) if ranks else self.unlabeled_rank)
        self.keys.append(group_key(text, external_id))

    def assign(self, *, test_fraction: float, seed: int) -> np.ndarray:
        n = len(self.keys)
        if n == 0:
            return np.zeros(0, dtype=bool)
        keys = np.array(self.keys, dtype=np.uint64)
        strata = np.array(self.strata, dtype=np.int64)
        groups, row_group = np.unique(keys, return_inverse=True)
        row_group = row_group.ravel()
        group_stratum = np.full(groups.size, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(group_stratum, row_group, strata)
        group_size = np.bincount(row_group, minlength=groups.size)
        seed_mix = splitmix64(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
        order_key = splitmix64(groups ^ seed_mix)
        # Stratum first, then the seeded pseudo-random order (group key breaks ties).
        order = np.lexsort((groups, order_key, group_stratum))
        group_test = np.zeros(groups.size, dtype=bool)
        sorted_strata = group_stratum[order]
        bounds = np.flatnonzero(np.diff(sorted_strata)) + 1
        for block in np.split(order, bounds):
            sizes = group_size[block]
            target = test_fraction * sizes.sum()
            middle = np.cumsum(sizes) - sizes / 2.0
            group_test[block] = middle < target
        return group_test[row_group]

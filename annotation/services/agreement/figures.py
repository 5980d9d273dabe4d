"""Per-category agreement, set-level agreement and annotator-vs-annotator confusion, computed
from `Inputs` arrays (no Django). `snapshot_figures` assembles the whole snapshot document.

Which annotations count ("peer" rows): annotations that made a decision (at least one class)
on items that are not gold questions. Gold questions are answered by everyone and carry a known
answer; they measure annotators against the key (quality.py), not against each other.

Binary decomposition: every class (each category, and "None of these") becomes a 0/1 rating
per annotation; in single-label projects that is one-vs-rest per class. The reliability matrix
of a class has one row per item with at least one peer annotation and one column per annotator
who made one; `annotation.agreement.metrics` computes every statistic and its bootstrap CI.

Annotator pairs: for each pair the 2×2 table of the two annotators' ratings on the items both
labeled, from sparse products (P = positives, D = decided, items × annotators):
n11 = PᵀP, n10 = PᵀD − n11, n01 = DᵀP − n11, n00 = DᵀD − n11 − n10 − n01.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import sparse

from ...agreement.metrics import category_agreement, set_agreement
from .arrays import NONE_KEY, Inputs, Params, finite, row_codes, table_stats
from .quality import annotator_table

METRIC_NAMES = ("percent", "alpha", "cohen", "fleiss", "ac1", "positive", "negative")
SET_DISTANCES = ("jaccard", "masi")
DATA_VERSION = 1


class PeerRows:
    """The peer annotations indexed compactly: items 0..n_items-1, annotators 0..n_ann-1."""

    def __init__(self, inputs: Inputs):
        ann = inputs.annotations
        mask = ann.decided & ~ann.gold_question
        self.labels = ann.labels[mask]
        self.item_ids, self.item_idx = np.unique(ann.item[mask], return_inverse=True)
        self.annotator_ids, self.ann_idx = np.unique(ann.annotator[mask], return_inverse=True)
        self.item_idx = self.item_idx.ravel()
        self.ann_idx = self.ann_idx.ravel()
        self.n_items = int(self.item_ids.size)
        self.n_annotators = int(self.annotator_ids.size)
        shape = (self.n_items, self.n_annotators)
        ones = np.ones(self.item_idx.size)
        self.decided = sparse.csr_matrix((ones, (self.item_idx, self.ann_idx)), shape=shape)
        self.shared = (self.decided.T @ self.decided).toarray().astype(np.int64)

    def __len__(self) -> int:
        return int(self.item_idx.size)

    def column(self, c: int) -> np.ndarray:
        return self.labels[:, c]

    def matrix(self, c: int) -> np.ndarray:
        """The reliability matrix R of class c (items × annotators, NaN = not labeled).

        Built here rather than with agreement.data.reliability_matrix: its check that no
        annotator rated an item twice costs a sort of every rating (3 s per category at a
        million), and the database's one-annotation-per-item-and-annotator constraint already
        guarantees it."""
        R = np.full((self.n_items, self.n_annotators), np.nan)
        R[self.item_idx, self.ann_idx] = self.column(c)
        return R

    def pair_tables(self, c: int) -> tuple[np.ndarray, ...]:
        """(n11, n10, n01, n00), each (n_annotators, n_annotators) int64, for class c."""
        shape = (self.n_items, self.n_annotators)
        v = self.column(c).astype(np.float64)
        pos = sparse.csr_matrix((v, (self.item_idx, self.ann_idx)), shape=shape)
        n11 = (pos.T @ pos).toarray()
        n1x = (pos.T @ self.decided).toarray()  # first positive, second decided
        n11 = n11.astype(np.int64)
        n10 = n1x.astype(np.int64) - n11
        n01 = n10.T.copy()
        n00 = self.shared - n11 - n10 - n01
        return n11, n10, n01, n00


def _estimate(est) -> dict:
    return {"value": est.value, "low": est.low, "high": est.high, "reason": est.reason or ""}


def _category_block(peer: PeerRows, c: int, params: Params) -> dict:
    R = peer.matrix(c)
    result = category_agreement(R, n_boot=params.n_boot, seed=params.seed, level=params.level)
    return {
        "n_items": result.n_items,
        "n_pairable_items": result.n_pairable_items,
        "prevalence": result.prevalence,
        "n_positive": int(peer.column(c).sum()),
        "metrics": {name: _estimate(getattr(result, name)) for name in METRIC_NAMES},
    }


def _pairs(peer: PeerRows, params: Params) -> tuple[list[tuple[int, int]], int]:
    """Annotator pairs (compact indices, a < b) sharing at least one item, most shared items
    first, capped at params.max_pairs; and how many pairs share items in all."""
    a, b = np.triu_indices(peer.n_annotators, k=1)
    shared = peer.shared[a, b]
    keep = shared > 0
    a, b, shared = a[keep], b[keep], shared[keep]
    order = np.lexsort((b, a, -shared))[: params.max_pairs]
    return [(int(a[i]), int(b[i])) for i in order], int(keep.sum())


def _confusion(peer: PeerRows, c: int, tables, pairs) -> dict:
    n11, n10, n01, n00 = tables
    upper = np.triu(np.ones_like(n11, dtype=bool), k=1)
    pooled = {
        "both_yes": int(n11[upper].sum()),
        "one_yes": int(n10[upper].sum() + n01[upper].sum()),
        "both_no": int(n00[upper].sum()),
    }
    pooled["pairs"] = pooled["both_yes"] + pooled["one_yes"] + pooled["both_no"]
    pooled["percent"] = table_stats(pooled["both_yes"], pooled["one_yes"], 0, pooled["both_no"])[
        "percent"
    ]
    rows = [
        table_stats(n11[a, b], n10[a, b], n01[a, b], n00[a, b]) for a, b in pairs
    ]  # aligned with the snapshot's "pairs" list
    return {"pooled": pooled, "pairs": rows}


def _label_sets(peer: PeerRows, n_category_columns: int) -> list[list[frozenset]]:
    """Per pairable item, each annotator's set of category ids (the "none" column is the empty
    set). Identical sets share one frozenset object, so 1M annotations cost a few hundred."""
    sig, patterns = row_codes(peer.labels[:, :n_category_columns])
    sets = [frozenset(np.flatnonzero(p).tolist()) for p in patterns]
    counts = np.bincount(peer.item_idx, minlength=peer.n_items)
    order = np.argsort(peer.item_idx, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    sig_sorted = sig[order].tolist()
    out = []
    for i in np.flatnonzero(counts >= 2).tolist():
        out.append([sets[s] for s in sig_sorted[bounds[i] : bounds[i + 1]]])
    return out


def _single_label_sets(peer: PeerRows) -> list[list[frozenset]]:
    """Single-label: each annotation's one class as a singleton (None of these included as a
    class of its own), so the set alpha with Jaccard distance is the nominal multi-class α."""
    cls = np.argmax(peer.labels, axis=1)
    sets = [frozenset([k]) for k in range(peer.labels.shape[1])]
    counts = np.bincount(peer.item_idx, minlength=peer.n_items)
    order = np.argsort(peer.item_idx, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    cls_sorted = cls[order].tolist()
    return [
        [sets[k] for k in cls_sorted[bounds[i] : bounds[i + 1]]]
        for i in np.flatnonzero(counts >= 2).tolist()
    ]


def _set_level(peer: PeerRows, inputs: Inputs, params: Params) -> dict:
    if inputs.multi_label:
        label_sets = _label_sets(peer, len(inputs.classes) - 1)
        distances = SET_DISTANCES
    else:
        label_sets = _single_label_sets(peer)
        distances = ("jaccard",)
    out = {"n_items": len(label_sets)}
    for distance in distances:
        est = set_agreement(
            label_sets, distance=distance, n_boot=params.n_boot, seed=params.seed,
            level=params.level,
        )  # fmt: skip
        out[distance] = _estimate(est)
    return out


def snapshot_figures(inputs: Inputs, params: Params) -> dict:
    """The whole snapshot document (JSON-ready, no NaN)."""
    started = time.perf_counter()
    peer = PeerRows(inputs)
    pairs, pairs_total = _pairs(peer, params)
    categories, confusion, peer_tables = [], {}, []
    for c, info in enumerate(inputs.classes):
        tables = peer.pair_tables(c)
        peer_tables.append(tables)
        block = _category_block(peer, c, params)
        categories.append(
            {
                "key": info.key,
                "name": info.name,
                "category_id": info.category_id,
                "active": info.active,
                "kind": "none" if info.key == NONE_KEY else "category",
                **block,
            }
        )
        confusion[info.key] = _confusion(peer, c, tables, pairs)
    metrics_done = time.perf_counter()
    set_level = _set_level(peer, inputs, params)
    set_done = time.perf_counter()
    annotators = annotator_table(inputs, params, peer, peer_tables)
    ann = inputs.annotations
    data = {
        "version": DATA_VERSION,
        "multi_label": inputs.multi_label,
        "params": {
            "n_boot": params.n_boot,
            "seed": params.seed,
            "level": params.level,
            "gold_alert_threshold": params.gold_alert_threshold,
            "gold_alert_min_answers": params.gold_alert_min_answers,
        },
        "counts": {
            "annotations": len(ann),
            "peer_annotations": len(peer),
            "gold_question_annotations": int(ann.gold_question.sum()),
            "undecided": int((~ann.decided).sum()),
            "items": peer.n_items,
            "annotators": len(annotators),
            "gold_labels": int(inputs.gold.item.size),
        },
        "categories": categories,
        "set_level": set_level,
        "pairs": [
            {
                "a": int(peer.annotator_ids[a]),
                "b": int(peer.annotator_ids[b]),
                "shared": int(peer.shared[a, b]),
            }
            for a, b in pairs
        ],
        "pairs_total": pairs_total,
        "confusion": confusion,
        "annotators": annotators,
        "timings": {
            "categories_s": round(metrics_done - started, 3),
            "set_level_s": round(set_done - metrics_done, 3),
            "annotators_s": round(time.perf_counter() - set_done, 3),
        },
    }
    return finite(data)

"""The annotator table: volume, speed, skip rate, agreement with peers, with gold, and accuracy
on gold questions, per annotator and per class (no Django).

Definitions (also in docs/architecture.md, "Agreement snapshots"):

- annotations: every annotation of the annotator in the project (gold questions included).
- median time: over annotations with a measured time (time_spent_ms > 0).
- skip rate: skipped leases / (skipped leases + annotations).
- peers, per class: the annotator's 2×2 table against every other annotator on the non-gold-
  question items both labeled, pooled over those peers (an item shared with two peers counts
  twice); percent, Cohen's kappa and positive-specific agreement of that table. "exact" is the
  share of those (item, peer) pairs with the identical whole label.
- gold, per class: the annotator's label against the item's current gold label, on items that
  are not gold questions, leaving out gold the annotator decided alone: a consensus gold on an
  item nobody else (with a decision) labeled, and an adjudicated gold the annotator decided
  as the lead. Under the unanimous rule a consensus gold always equals every label it was built
  from, so "agreement with gold" is best read on adjudicated items; both are counted and the
  number of adjudicated comparisons is given.
- gold questions, per class: share of the annotator's answers whose 0/1 rating of the class
  equals the known answer ("exact": the whole label equal). Answers without a decision (unsure
  only) are counted as unanswered, not as wrong.
- alert: at least `gold_alert_min_answers` answered gold questions, and the exact accuracy or
  any class's accuracy below the project's `gold_alert_threshold`.
"""

from __future__ import annotations

import numpy as np

from .arrays import (
    SOURCE_ADJUDICATION,
    SOURCE_CONSENSUS,
    SOURCE_KNOWN,
    Inputs,
    Params,
    ratio,
    row_codes,
    table_stats,
)


def _per_annotator_tables(ann_idx: np.ndarray, mine: np.ndarray, ref: np.ndarray, n: int):
    """(n, 4) counts of n11, n10, n01, n00 per annotator: `mine` against `ref` (bool arrays)."""
    code = ann_idx * 4 + (~mine).astype(np.int64) * 2 + (~ref).astype(np.int64)
    return np.bincount(code, minlength=n * 4).reshape(n, 4)


def _median_times(ann_idx: np.ndarray, time_ms: np.ndarray, n: int) -> list[float | None]:
    measured = time_ms > 0
    idx, t = ann_idx[measured], time_ms[measured]
    order = np.lexsort((t, idx))
    idx, t = idx[order], t[order]
    counts = np.bincount(idx, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out: list[float | None] = []
    for k in range(n):
        c = int(counts[k])
        if c == 0:
            out.append(None)
            continue
        s = int(starts[k])
        mid = s + c // 2
        out.append(float(t[mid]) if c % 2 else (float(t[mid - 1]) + float(t[mid])) / 2.0)
    return out


def _gold_rows(inputs: Inputs):
    """For each annotation: the row of its item's current gold label, or -1."""
    ann, gold = inputs.annotations, inputs.gold
    if gold.item.size == 0:
        return np.full(len(ann), -1, dtype=np.int64)
    order = np.argsort(gold.item, kind="stable")
    sorted_items = gold.item[order]
    pos = np.searchsorted(sorted_items, ann.item)
    pos = np.minimum(pos, sorted_items.size - 1)
    found = sorted_items[pos] == ann.item
    return np.where(found, order[pos], -1)


def _others_on_item(inputs: Inputs, peer_mask: np.ndarray) -> np.ndarray:
    """For each annotation: how many other decided peer annotations its item has."""
    ann = inputs.annotations
    items, counts = np.unique(ann.item[peer_mask], return_counts=True)
    if items.size == 0:
        return np.zeros(len(ann), dtype=np.int64)
    pos = np.minimum(np.searchsorted(items, ann.item), items.size - 1)
    on_item = np.where(items[pos] == ann.item, counts[pos], 0)
    return on_item - peer_mask.astype(np.int64)


def _class_blocks(tables: np.ndarray, keys: list[str], k: int) -> dict:
    return {key: table_stats(*tables[c][k]) for c, key in enumerate(keys)}


def _mean_kappa(blocks: dict) -> float | None:
    kappas = [b["kappa"] for b in blocks.values() if b["kappa"] is not None]
    return sum(kappas) / len(kappas) if kappas else None


def annotator_table(inputs: Inputs, params: Params, peer, peer_tables) -> list[dict]:
    """One dict per annotator (anyone with an annotation or a skip), busiest first."""
    ann = inputs.annotations
    keys = [c.key for c in inputs.classes]
    user_ids = np.union1d(np.unique(ann.annotator), np.array(sorted(inputs.skips), np.int64))
    n = int(user_ids.size)
    idx = np.searchsorted(user_ids, ann.annotator)
    decided = ann.decided
    counts = np.bincount(idx, minlength=n)
    gq_counts = np.bincount(idx[ann.gold_question], minlength=n)
    times = _median_times(idx, ann.time_ms, n)

    # Peers: the pair tables of figures.PeerRows, summed over the other annotators.
    peer_pos = np.searchsorted(user_ids, peer.annotator_ids)
    peer_sum = np.zeros((len(keys), n, 4), dtype=np.int64)
    for c, (n11, n10, n01, n00) in enumerate(peer_tables):
        for j, t in enumerate((n11, n10, n01, n00)):
            t = t.copy()
            np.fill_diagonal(t, 0)
            peer_sum[c, peer_pos, j] = t.sum(axis=1)
    peer_exact = _peer_exact(peer, n, peer_pos)

    # Gold (not gold questions) and gold questions.
    gold = inputs.gold
    grow = _gold_rows(inputs)
    source = np.full(len(ann), -1, dtype=np.int64)
    decided_by = np.zeros(len(ann), dtype=np.int64)
    has = grow >= 0
    source[has] = gold.source[grow[has]]
    decided_by[has] = gold.decided_by[grow[has]]
    peer_mask = decided & ~ann.gold_question
    others = _others_on_item(inputs, peer_mask)
    vs_gold = peer_mask & (
        ((source == SOURCE_CONSENSUS) & (others > 0))
        | ((source == SOURCE_ADJUDICATION) & (decided_by != ann.annotator))
    )
    adjudicated = np.bincount(idx[vs_gold & (source == SOURCE_ADJUDICATION)], minlength=n)
    on_gq = decided & ann.gold_question & (source == SOURCE_KNOWN)
    unanswered = np.bincount(idx[~decided & ann.gold_question], minlength=n)
    gold_t = _vs_reference(inputs, idx, vs_gold, grow, n)
    gq_t = _vs_reference(inputs, idx, on_gq, grow, n)
    gold_exact = _exact(inputs, idx, vs_gold, grow, n)
    gq_exact = _exact(inputs, idx, on_gq, grow, n)

    rows = []
    for k in range(n):
        uid = int(user_ids[k])
        peer_blocks = _class_blocks(peer_sum, keys, k)
        gold_blocks = _class_blocks(gold_t, keys, k)
        gq = _gold_question_block(gq_t, gq_exact, keys, k, int(unanswered[k]), params)
        rows.append(
            {
                "id": uid,
                "username": inputs.usernames.get(uid, f"user {uid}"),
                "annotations": int(counts[k]),
                "gold_question_annotations": int(gq_counts[k]),
                "median_time_ms": times[k],
                "skips": int(inputs.skips.get(uid, 0)),
                "skip_rate": ratio(inputs.skips.get(uid, 0), inputs.skips.get(uid, 0) + counts[k]),
                "peers": {
                    "pairs": int(peer_exact[k][1]),
                    "exact": ratio(*peer_exact[k]),
                    "mean_kappa": _mean_kappa(peer_blocks),
                    "per_class": peer_blocks,
                },
                "gold": {
                    "n": int(gold_exact[k][1]),
                    "adjudicated": int(adjudicated[k]),
                    "exact": ratio(*gold_exact[k]),
                    "mean_kappa": _mean_kappa(gold_blocks),
                    "per_class": gold_blocks,
                },
                "gold_questions": gq,
            }
        )
    rows.sort(key=lambda r: (-r["annotations"], r["username"]))
    return rows


def _peer_exact(peer, n: int, peer_pos: np.ndarray) -> list[tuple[int, int]]:
    """Per annotator (same label pairs, all pairs) over the peer items they share."""
    out = [(0, 0)] * n
    if len(peer) == 0:
        return out
    sig, _ = row_codes(peer.labels)
    key = peer.item_idx.astype(np.int64) * (int(sig.max()) + 1) + sig
    _, kinv, kcount = np.unique(key, return_inverse=True, return_counts=True)
    same = kcount[kinv.ravel()] - 1
    on_item = np.bincount(peer.item_idx, minlength=peer.n_items)[peer.item_idx] - 1
    agree = np.bincount(peer.ann_idx, weights=same, minlength=peer.n_annotators)
    total = np.bincount(peer.ann_idx, weights=on_item, minlength=peer.n_annotators)
    for j, pos in enumerate(peer_pos.tolist()):
        out[pos] = (int(agree[j]), int(total[j]))
    return out


def _vs_reference(inputs: Inputs, idx, mask, grow, n: int) -> np.ndarray:
    """(n_classes, n, 4) tables of the annotators' ratings against the gold rows."""
    mine = inputs.annotations.labels[mask]
    ref = inputs.gold.labels[grow[mask]]
    return np.stack(
        [_per_annotator_tables(idx[mask], mine[:, c], ref[:, c], n) for c in range(mine.shape[1])]
    )


def _exact(inputs: Inputs, idx, mask, grow, n: int) -> list[tuple[int, int]]:
    mine = inputs.annotations.labels[mask]
    ref = inputs.gold.labels[grow[mask]]
    same = (mine == ref).all(axis=1)
    agree = np.bincount(idx[mask][same], minlength=n)
    total = np.bincount(idx[mask], minlength=n)
    return [(int(agree[k]), int(total[k])) for k in range(n)]


def _gold_question_block(tables, exact, keys, k: int, unanswered: int, params: Params) -> dict:
    answered = int(exact[k][1])
    enough = answered >= params.gold_alert_min_answers
    threshold = params.gold_alert_threshold
    per_class = {}
    reasons = []
    for c, key in enumerate(keys):
        n11, n10, n01, n00 = (int(v) for v in tables[c][k])
        accuracy = ratio(n11 + n00, answered)
        alert = enough and accuracy is not None and accuracy < threshold
        per_class[key] = {
            "n": answered,
            "correct": n11 + n00,
            "accuracy": accuracy,
            "gold_positives": n11 + n01,
            "found": n11,
            "recall": ratio(n11, n11 + n01),
            "alert": alert,
        }
        if alert:
            reasons.append(key)
    exact_acc = ratio(*exact[k])
    exact_alert = enough and exact_acc is not None and exact_acc < threshold
    return {
        "n": answered,
        "unanswered": unanswered,
        "correct": int(exact[k][0]),
        "accuracy": exact_acc,
        "enough": enough,
        "alert": exact_alert or bool(reasons),
        "alert_exact": exact_alert,
        "alert_classes": reasons,
        "per_class": per_class,
    }

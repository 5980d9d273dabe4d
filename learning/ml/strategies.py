"""Which pool items to label next, as a probability sample with recorded inclusion probabilities.

Selection design of one batch of b items from a pool of N unlabeled items
------------------------------------------------------------------------
Two independent draws over the whole pool, whose union is the batch:

1. Audit: a simple random sample of b_a = max(1, round(audit · b)) items, so π^a = b_a / N for
   every item. The audit share is at least MIN_AUDIT_SHARE: every pool item can be picked
   (π > 0), which Horvitz–Thompson estimates need, and the audit items alone are a plain
   uniform sample of the pool.
2. Model: b_m = b − b_a items drawn by systematic PPS sampling (`sampling.systematic_pps`).
   Each strategy s with share f_s gets b_s = b_m · f_s / (1 − audit) expected picks, spread
   over the pool by its scores' ranks: weight w_si = exp(−rank_si / (spread · b_s)), rank 0 =
   best (ties share their mean rank). A soft top-b_s with a known probability for every item:
   with the default spread 1 the top item is near-certain, the item ranked b_s has about 0.37
   of its weight, 3·b_s about 0.05. (Spread 0.3, closer to a plain top-k, gave entropy sampling
   the same macro-F1 in the GoEmotions simulation but halved the rare hunt's finds:
   docs/benchmarks.md.) The strategies' expected picks
   add up, t_i = Σ_s b_s · w_si / Σ_j w_sj, and π^m = min(1, λ·t_i) with Σπ^m = b_m
   (`sampling.capped_inclusion`).
   The rare hunt is one strategy per category, its b_rare split in proportion to
   1 / (1 + gold positives of the category): the category with the fewest gold positives gets
   the most picks, each ranked by P(category). A category the model predicts as a constant
   (no gold positive yet) is ranked by the model's entropy instead: a constant ranks nothing,
   and a uniform draw wasted the hunt's largest shares (docs/benchmarks.md).
   The category-boundary strategy (multi-label projects) is also one strategy per category, its
   b_boundary split equally over the categories, each ranked by closeness of P(category) to its
   decision boundary, 1 − |2·P − 1|: per category the items the model is least sure about,
   every category alike, as macro-F1 weighs them. On GoEmotions it beat entropy sampling on
   both targets (docs/benchmarks.md).

An item's inclusion probability is π = 1 − (1 − π^a)(1 − π^m): the draws are independent.
Σπ over the pool = b_a + b_m · (1 − b_a / N) is the expected batch size; a batch can be short by
the items both draws picked (b_a · b_m / N on average: under one item when N >> b).
Each pick records its reason: "audit" for every audit-drawn item (the audit draw stays a uniform
sample), otherwise the strategy contributing most to t_i; its `score` is that strategy's score
and, for "rare", "boundary" and "seed", `category` the category it was picked for.

π is conditional on the pool and the model of the batch: across batches each batch is one
stage drawn from what was still unlabeled.

Cold start (`cold_start_batch`) uses the same two draws; the model draw is replaced by a seed
draw that spreads b − b_a picks evenly over the categories whose keywords match any item,
uniformly among each category's matching items (capped and redistributed the same way).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata

from learning.ml import query
from learning.ml.sampling import capped_inclusion, simple_random, systematic_pps

MIN_AUDIT_SHARE = 0.05
REASONS = ("uncertainty", "margin", "entropy", "multilabel", "boundary", "rare", "audit", "seed")
MODEL_STRATEGIES = ("uncertainty", "margin", "entropy", "multilabel", "boundary", "rare")


@dataclass(frozen=True)
class StrategyMix:
    """Shares of a batch per strategy; they sum to 1 and audit >= MIN_AUDIT_SHARE.

    multilabel_strategy: which modAL multi-label strategy "multilabel" means
    (`query.MULTILABEL_STRATEGIES`). spread: how far past its top-ranked items a strategy's
    draw reaches, in units of its own expected picks (smaller = closer to a plain top-k).
    """

    uncertainty: float = 0.3
    margin: float = 0.0
    entropy: float = 0.0
    multilabel: float = 0.0
    boundary: float = 0.0
    rare: float = 0.5
    audit: float = 0.2
    multilabel_strategy: str = "avg_confidence"  # the best of modAL's six in the simulation
    spread: float = 1.0

    def __post_init__(self) -> None:
        shares = [getattr(self, name) for name in (*MODEL_STRATEGIES, "audit")]
        if any(not np.isfinite(s) or s < 0 for s in shares):
            raise ValueError("strategy shares must be non-negative numbers")
        if abs(sum(shares) - 1.0) > 1e-6:
            raise ValueError(f"strategy shares must sum to 1 (they sum to {sum(shares):g})")
        if self.audit < MIN_AUDIT_SHARE:
            raise ValueError(f"the audit share must be at least {MIN_AUDIT_SHARE:g}")
        if self.multilabel_strategy not in query.MULTILABEL_STRATEGIES:
            raise ValueError(f"unknown multi-label strategy {self.multilabel_strategy!r}")
        if not self.spread > 0:
            raise ValueError("spread must be positive")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StrategyMix:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Pick:
    index: int  # row index into the pool arrays
    reason: str  # one of REASONS
    inclusion_probability: float  # in (0, 1]: P(this item is in the batch) under the design
    score: float  # the strategy's score (for display); 0 for audit picks
    category: int | None = None  # the category a "rare", "boundary" or "seed" pick was for


@dataclass(frozen=True)
class Design:
    """A batch design over a pool of N items, before drawing.

    pi: (N,) inclusion probabilities; reason: (N,) the reason a model/seed pick would get;
    score: (N,) that reason's score; category: (N,) its category or -1.
    """

    audit_size: int
    pi_audit: float
    pi_model: np.ndarray
    reason: np.ndarray
    score: np.ndarray
    category: np.ndarray

    @property
    def pi(self) -> np.ndarray:
        return 1.0 - (1.0 - self.pi_audit) * (1.0 - self.pi_model)

    @property
    def expected_size(self) -> float:
        return self.audit_size + float(self.pi_model.sum()) * (1.0 - self.pi_audit)


def _rank_weights(scores: np.ndarray, expected: float, spread: float) -> np.ndarray:
    """(N,) weights summing to 1 that concentrate `expected` picks on the best-ranked items."""
    ranks = rankdata(-scores, method="average")
    ranks -= ranks.min()  # items tied for best share rank 0, so the weights never all underflow
    w = np.exp(-ranks / (spread * max(expected, 1e-9)))
    return w / w.sum()


def _audit_size(batch: int, share: float) -> int:
    return min(batch, max(1, round(share * batch)))


def _strategy_scores(
    name: str, proba: np.ndarray, multi_label: bool, mix: StrategyMix
) -> np.ndarray:
    if name == "uncertainty":
        return query.uncertainty_scores(proba, multi_label=multi_label)
    if name == "margin":
        return query.margin_scores(proba, multi_label=multi_label)
    if name == "entropy":
        return query.entropy_scores(proba, multi_label=multi_label)
    if not multi_label:
        raise ValueError("the multi-label strategy needs a multi-label project")
    return query.multilabel_scores(proba, strategy=mix.multilabel_strategy)


def _contributions(
    proba: np.ndarray,
    *,
    multi_label: bool,
    gold_positive_counts: np.ndarray,
    mix: StrategyMix,
    model_size: int,
) -> tuple[list[tuple[str, int]], np.ndarray, np.ndarray]:
    """Per component (strategy, or rare hunt for one category): expected picks (N, S) and score.

    Returns the components' (reason, category or -1), t (N, S) and scores (N, S).
    """
    model_share = 1.0 - mix.audit
    labels: list[tuple[str, int]] = []
    columns, scores = [], []
    for name in MODEL_STRATEGIES:
        share = getattr(mix, name)
        if share <= 0 or model_size == 0:
            continue
        expected = model_size * share / model_share
        if name == "boundary":
            if not multi_label:
                raise ValueError("the category-boundary strategy needs a multi-label project")
            # Every category the same share, each ranked by how close P(category) is to its
            # decision boundary (0.5 under balanced class weights): macro-F1 weighs every
            # category alike, and a rare category's boundary is where its few positives are
            # told apart. A category predicted as a constant ranks nothing: its share spreads
            # uniformly.
            part = expected / proba.shape[1]
            for j in range(proba.shape[1]):
                s = 1.0 - np.abs(2.0 * proba[:, j] - 1.0)
                labels.append(("boundary", j))
                columns.append(part * _rank_weights(s, part, mix.spread))
                scores.append(s)
            continue
        if name != "rare":
            s = _strategy_scores(name, proba, multi_label, mix)
            labels.append((name, -1))
            columns.append(expected * _rank_weights(s, expected, mix.spread))
            scores.append(s)
            continue
        allocation = 1.0 / (1.0 + gold_positive_counts.astype(np.float64))
        allocation /= allocation.sum()
        explore = None
        for c in np.flatnonzero(allocation > 0):
            part = expected * allocation[c]
            s = proba[:, c]
            if np.ptp(s) == 0:
                # No gold positive yet: P(category) is a constant that ranks nothing, so the
                # hunt explores where the model is least sure (entropy) instead of uniformly.
                if explore is None:
                    explore = query.entropy_scores(proba, multi_label=multi_label)
                s = explore
            labels.append(("rare", int(c)))
            columns.append(part * _rank_weights(s, part, mix.spread))
            scores.append(s)
    n = len(proba)
    if not columns:
        return labels, np.zeros((n, 0)), np.zeros((n, 0))
    return labels, np.column_stack(columns), np.column_stack(scores)


def selection_design(
    proba: np.ndarray,
    *,
    multi_label: bool,
    gold_positive_counts: np.ndarray,
    mix: StrategyMix,
    batch_size: int,
) -> Design:
    """The design `select_batch` draws from (see the module docstring); shapes as there."""
    proba = np.asarray(proba, dtype=np.float64)
    counts = np.asarray(gold_positive_counts)
    if proba.ndim != 2 or counts.shape != (proba.shape[1],):
        raise ValueError("proba must be (n_pool, C) and gold_positive_counts (C,)")
    if not np.isfinite(proba).all() or (proba < 0).any() or (proba > 1).any():
        raise ValueError("proba must hold probabilities in [0, 1]")
    if (counts < 0).any():
        raise ValueError("gold_positive_counts must be non-negative")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    n = len(proba)
    batch = min(batch_size, n)
    if batch == n:  # the whole pool: every item is certain
        return _design(n, n, 0, [], np.zeros((n, 0)), np.zeros((n, 0)))
    audit = _audit_size(batch, mix.audit)
    labels, t, s = _contributions(
        proba,
        multi_label=multi_label,
        gold_positive_counts=counts,
        mix=mix,
        model_size=batch - audit,
    )
    return _design(n, audit, batch - audit, labels, t, s)


def _design(
    n: int, audit: int, model: int, labels: list[tuple[str, int]], t: np.ndarray, s: np.ndarray
) -> Design:
    reason = np.full(n, "audit", dtype=object)
    score = np.zeros(n)
    category = np.full(n, -1)
    pi_model = np.zeros(n)
    if t.shape[1] and model:
        pi_model = capped_inclusion(t.sum(axis=1), model)
        best = t.argmax(axis=1)
        reason = np.array([labels[k][0] for k in best], dtype=object)
        category = np.array([labels[k][1] for k in best])
        score = s[np.arange(n), best]
    return Design(
        audit_size=audit,
        pi_audit=audit / n if n else 0.0,
        pi_model=pi_model,
        reason=reason,
        score=score,
        category=category,
    )


def draw(design: Design, seed: int) -> list[Pick]:
    """Draw one batch from a design: the audit sample and the model (or seed) sample."""
    n = len(design.pi_model)
    rng = np.random.default_rng(seed)
    audited = simple_random(n, design.audit_size, rng)
    modeled = systematic_pps(design.pi_model, rng)
    pi = design.pi
    picks = {int(i): Pick(int(i), "audit", float(pi[i]), 0.0) for i in audited}
    for i in modeled:
        if int(i) in picks:
            continue
        c = int(design.category[i])
        picks[int(i)] = Pick(
            int(i),
            str(design.reason[i]),
            float(pi[i]),
            float(design.score[i]),
            c if c >= 0 else None,
        )
    return [picks[i] for i in sorted(picks)]


def select_batch(
    proba: np.ndarray,
    *,
    multi_label: bool,
    gold_positive_counts: np.ndarray,
    mix: StrategyMix,
    batch_size: int,
    seed: int,
) -> list[Pick]:
    """Draw the next batch from a scored pool.

    proba: (n_pool, C) from FittedModel.predict_proba on the unlabeled pool.
    gold_positive_counts: (C,) positives per category among gold labels.
    Returns at most batch_size picks (see the module docstring), sorted by index.
    """
    design = selection_design(
        proba,
        multi_label=multi_label,
        gold_positive_counts=gold_positive_counts,
        mix=mix,
        batch_size=batch_size,
    )
    return draw(design, seed)


def _keyword_pattern(keywords: list[str]) -> re.Pattern[str] | None:
    words = sorted({k.strip().lower() for k in keywords if k.strip()}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)")


def keyword_matches(texts: list[str], urls: list[str], keywords: list[str]) -> np.ndarray:
    """(n,) distinct keywords found in each text or URL (case-insensitive, whole words)."""
    pattern = _keyword_pattern(keywords)
    hits = np.zeros(len(texts), dtype=np.int64)
    if pattern is None:
        return hits
    for i, (text, url) in enumerate(zip(texts, urls, strict=True)):
        found = pattern.findall(f"{text}\n{url}".lower())
        hits[i] = len(set(found))
    return hits


def cold_start_design(
    texts: list[str],
    urls: list[str],
    *,
    seeds: dict[int, list[str]],
    batch_size: int,
    audit_share: float,
) -> Design:
    """The design `cold_start_batch` draws from (see the module docstring)."""
    if len(texts) != len(urls):
        raise ValueError("texts and urls must have the same length")
    if not MIN_AUDIT_SHARE <= audit_share <= 1:
        raise ValueError(f"the audit share must be between {MIN_AUDIT_SHARE:g} and 1")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    n = len(texts)
    batch = min(batch_size, n)
    if batch == n:  # the whole pool: every item is certain
        return _design(n, n, 0, [], np.zeros((n, 0)), np.zeros((n, 0)))
    audit = _audit_size(batch, audit_share)
    hits = {c: keyword_matches(texts, urls, words) for c, words in sorted(seeds.items())}
    hits = {c: h for c, h in hits.items() if h.any()}
    labels = [("seed", int(c)) for c in hits]
    matched = int(np.any([h > 0 for h in hits.values()], axis=0).sum()) if hits else 0
    model = min(batch - audit, matched)  # matches too few: the rest of the batch is audit
    audit = batch - model
    t = np.zeros((n, len(labels)))
    s = np.zeros((n, len(labels)))
    for k, h in enumerate(hits.values()):
        t[:, k] = (h > 0) * (model / len(labels)) / (h > 0).sum()
        s[:, k] = h
    return _design(n, audit, model, labels, t, s)


def cold_start_batch(
    texts: list[str],
    urls: list[str],
    *,
    seeds: dict[int, list[str]],
    batch_size: int,
    audit_share: float,
    seed: int,
) -> list[Pick]:
    """The first batch, before any model: keyword-seeded picks plus a uniform audit share.

    texts, urls: the pool (n items). seeds: category index -> keywords a lead entered; an item
    matching a category's keyword (whole word, case-insensitive, in its text or URL) may be
    picked with reason "seed" and that category. Returns at most batch_size picks by index.
    """
    design = cold_start_design(
        texts, urls, seeds=seeds, batch_size=batch_size, audit_share=audit_share
    )
    return draw(design, seed)

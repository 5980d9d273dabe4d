"""Replay the labeling loop with an oracle: how fast does each strategy learn and find rare items?

`run_simulation` takes a labeled pool and a held-out test set as arrays. For each seed, one
uniform random initial set is labeled; then, for each strategy, the loop fits the model on the
labeled items, scores the test set (macro-F1), draws the next batch from the still-unlabeled
pool with `select_batch` (the oracle answers with the pool's true labels), until the label
budget is spent. "random" is the same loop with an audit share of 1 (a uniform sample).

The featurizer is fitted once on the pool texts (known before any label; the test texts stay
unseen) and the pool and test matrices are built once; only the classifier is refitted.
`learning/ml/simulation_report.py` turns the result into CSV, PNG and a summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from learning.ml.evaluation import decide, score_predictions
from learning.ml.features import FeatureConfig, Featurizer, fit_transform
from learning.ml.model import fit_on_features
from learning.ml.strategies import StrategyMix, select_batch

BASIC = ("uncertainty", "margin", "entropy", "multilabel", "boundary", "rare")


def strategy_mix(name: str, *, audit: float, spread: float | None = None) -> StrategyMix:
    """The mix a strategy name stands for in the simulation.

    "random": audit only. "uncertainty", "margin", "entropy", "boundary", "rare", "multilabel" (or
    "multilabel:<modAL strategy>"): that strategy with an audit share of `audit`; several joined
    by "+" (e.g. "entropy+rare") share 1 − audit equally, or in proportion to weights written
    after "@" ("entropy@2+rare@1": two thirds and one third of 1 − audit). "mixed": the project
    default `StrategyMix()`. `spread`: StrategyMix.spread (None: its default).
    """
    extra: dict[str, Any] = {} if spread is None else {"spread": spread}
    if name == "random":
        return StrategyMix(uncertainty=0.0, rare=0.0, audit=1.0)
    if name == "mixed":
        return StrategyMix(**extra)
    weights = dict.fromkeys(BASIC, 0.0)
    for part in name.split("+"):
        part, _, weight = part.partition("@")
        base, _, variant = part.partition(":")
        if base not in BASIC or (variant and base != "multilabel") or weights[base]:
            raise ValueError(f"unknown strategy {name!r}")
        try:
            weights[base] = float(weight) if weight else 1.0
        except ValueError:
            raise ValueError(f"unknown strategy {name!r}") from None
        if not (np.isfinite(weights[base]) and weights[base] > 0):
            raise ValueError(f"unknown strategy {name!r}")
        if variant:
            extra["multilabel_strategy"] = variant
    total = sum(weights.values())
    shares: dict[str, Any] = {k: (1.0 - audit) * w / total for k, w in weights.items()}
    return StrategyMix(**shares, audit=audit, **extra)


@dataclass(frozen=True)
class SimulationConfig:
    strategies: tuple[str, ...]  # names for `strategy_mix`; "random" is always added
    seeds: tuple[int, ...]
    budget: int  # labels per run, initial set included
    batch: int
    initial: int  # uniform random labels before the first model
    multi_label: bool
    audit: float = 0.1
    spread: float | None = None  # StrategyMix.spread for every strategy (None: its default)
    features: FeatureConfig = field(default_factory=FeatureConfig)

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ValueError("at least one seed")
        if not 0 < self.initial <= self.budget or self.batch < 1:
            raise ValueError("need 0 < initial <= budget and batch >= 1")
        for name in self.strategies:
            strategy_mix(name, audit=self.audit, spread=self.spread)  # validates the name
        if "random" not in self.strategies:
            object.__setattr__(self, "strategies", ("random", *self.strategies))


@dataclass(frozen=True)
class CurvePoint:
    strategy: str
    seed: int
    labels: int
    macro_f1: float
    micro_f1: float
    positives: tuple[int, ...]  # (C,) gold positives per category among the labeled items


@dataclass(frozen=True)
class SimulationResult:
    config: SimulationConfig
    category_names: tuple[str, ...]
    pool_size: int
    test_size: int
    pool_positives: tuple[int, ...]  # (C,) positives per category in the whole pool
    points: list[CurvePoint]


@dataclass(frozen=True)
class _Data:
    """The featurized pool (X_pool (n_pool, F), Y_pool (n_pool, C)) and test set."""

    featurizer: Featurizer
    X_pool: sp.csr_matrix
    Y_pool: np.ndarray
    X_test: sp.csr_matrix
    Y_test: np.ndarray


def _run_one(
    strategy: str, seed: int, initial: np.ndarray, data: _Data, config: SimulationConfig
) -> list[CurvePoint]:
    X_pool, Y_pool, X_test, Y_test = data.X_pool, data.Y_pool, data.X_test, data.Y_test
    mix = strategy_mix(strategy, audit=config.audit, spread=config.spread)
    labeled = np.zeros(len(Y_pool), dtype=bool)
    labeled[initial] = True
    points = []
    step = 0
    while True:
        rows = np.flatnonzero(labeled)
        model = fit_on_features(
            data.featurizer, X_pool[rows], Y_pool[rows], multi_label=config.multi_label, seed=seed
        )
        proba_test = model.predict_proba_features(X_test)
        metrics = score_predictions(Y_test, decide(proba_test, multi_label=config.multi_label))
        points.append(
            CurvePoint(
                strategy,
                seed,
                len(rows),
                metrics.macro_f1,
                metrics.micro_f1,
                tuple(int(v) for v in Y_pool[rows].sum(axis=0)),
            )
        )
        # Rounds aim at initial + k·batch labels: a batch short by the items both of its
        # draws picked (see strategies) is made up in the next round, and a last round that
        # came up short gets a small extra one, so every curve ends at the budget.
        target = min(config.budget, config.initial + (step + 1) * config.batch)
        pool = np.flatnonzero(~labeled)
        if len(rows) >= config.budget or len(pool) == 0:
            return points
        picks = select_batch(
            model.predict_proba_features(X_pool[pool]),
            multi_label=config.multi_label,
            gold_positive_counts=Y_pool[rows].sum(axis=0),
            mix=mix,
            batch_size=max(1, target - len(rows)),
            seed=seed * 100_003 + step,
        )
        labeled[pool[[p.index for p in picks]]] = True
        step += 1


def run_simulation(
    pool_texts: list[str],
    pool_urls: list[str],
    pool_Y: np.ndarray,
    test_texts: list[str],
    test_urls: list[str],
    test_Y: np.ndarray,
    *,
    config: SimulationConfig,
    category_names: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> SimulationResult:
    """Run every strategy for every seed. pool_Y: (n_pool, C), test_Y: (n_test, C) 0/1."""
    pool_Y, test_Y = np.asarray(pool_Y), np.asarray(test_Y)
    if pool_Y.shape[1] != test_Y.shape[1]:
        raise ValueError("pool and test label matrices must have the same categories")
    if config.budget > len(pool_texts):
        raise ValueError("the budget exceeds the pool")
    featurizer, X_pool = fit_transform(pool_texts, pool_urls, config.features)
    data = _Data(
        featurizer=featurizer,
        X_pool=X_pool,
        Y_pool=pool_Y,
        X_test=featurizer.transform(test_texts, test_urls),
        Y_test=test_Y,
    )
    points: list[CurvePoint] = []
    for seed in config.seeds:
        initial = np.random.default_rng(seed).choice(len(pool_Y), config.initial, replace=False)
        for strategy in config.strategies:
            curve = _run_one(strategy, seed, initial, data, config)
            points.extend(curve)
            if progress:
                progress(f"seed {seed} {strategy}: macro-F1 {curve[-1].macro_f1:.3f}")
    names = category_names or [str(j) for j in range(pool_Y.shape[1])]
    return SimulationResult(
        config=config,
        category_names=tuple(names),
        pool_size=len(pool_Y),
        test_size=len(test_Y),
        pool_positives=tuple(int(v) for v in pool_Y.sum(axis=0)),
        points=points,
    )

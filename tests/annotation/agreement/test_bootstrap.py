"""Bootstrap intervals: sensible on typical data, deterministic per seed, and each replicate
equal to the statistic computed on the explicitly resampled items."""

import numpy as np
import pytest

from annotation.agreement import _binary, _bootstrap, _sets, metrics

STATS = ("percent", "alpha", "cohen", "fleiss", "ac1", "positive", "negative")


def noisy_matrix(
    n_items: int, n_annotators: int, per_item: int, prevalence: float, seed: int
) -> np.ndarray:
    """Items with a hidden truth, each labeled by ``per_item`` of ``n_annotators`` annotators
    who get it right 85 % of the time."""
    rng = np.random.default_rng(seed)
    truth = rng.random(n_items) < prevalence
    R = np.full((n_items, n_annotators), np.nan)
    for i in range(n_items):
        who = rng.choice(n_annotators, size=per_item, replace=False)
        correct = rng.random(per_item) < 0.85
        R[i, who] = np.where(correct, truth[i], ~truth[i])
    return R


@pytest.fixture(scope="module")
def typical():
    return noisy_matrix(400, 5, 3, 0.2, seed=11)


def test_interval_contains_the_estimate_on_typical_data(typical):
    result = metrics.category_agreement(typical, n_boot=500, seed=0)
    for name in STATS:
        e = getattr(result, name)
        assert e.reason == ""
        assert e.low <= e.value <= e.high, name
        assert e.high - e.low > 0


def test_same_seed_same_interval_other_seed_other_interval(typical):
    a = metrics.category_agreement(typical, n_boot=300, seed=4)
    b = metrics.category_agreement(typical, n_boot=300, seed=4)
    c = metrics.category_agreement(typical, n_boot=300, seed=5)
    assert a == b
    assert a.as_dict() == b.as_dict()
    assert (a.alpha.low, a.alpha.high) != (c.alpha.low, c.alpha.high)
    assert a.alpha.value == c.alpha.value


def test_a_narrower_level_gives_a_narrower_interval(typical):
    wide = metrics.category_agreement(typical, n_boot=400, seed=1, level=0.95)
    narrow = metrics.category_agreement(typical, n_boot=400, seed=1, level=0.5)
    for name in STATS:
        w, n = getattr(wide, name), getattr(narrow, name)
        assert w.low <= n.low <= n.high <= w.high


def test_no_bootstrap_gives_values_without_interval(typical):
    result = metrics.category_agreement(typical, n_boot=0)
    for name in STATS:
        e = getattr(result, name)
        assert e.value is not None and e.low is None and e.high is None
        assert e.reason == "no confidence interval: n_boot=0"


def test_set_agreement_interval_and_determinism():
    rng = np.random.default_rng(3)
    sets = [
        [frozenset(np.flatnonzero(rng.random(4) < 0.3).tolist()) for _ in range(3)]
        for _ in range(300)
    ]
    for distance in ("jaccard", "masi"):
        a = metrics.set_agreement(sets, distance=distance, n_boot=300, seed=2)
        assert a == metrics.set_agreement(sets, distance=distance, n_boot=300, seed=2)
        assert a.low <= a.value <= a.high
        assert a.value == pytest.approx(metrics.krippendorff_alpha_sets(sets, distance))


def capture_counts(type_count, inverse, n_boot, seed):
    """The (n_boot, T) type counts ``replicate_values`` draws."""
    seen = []
    _bootstrap.replicate_values(
        np.random.default_rng(seed),
        type_count=type_count,
        inverse=inverse,
        n_boot=n_boot,
        compute=lambda c: seen.append(c) or np.zeros(c.shape[0]),
    )
    return np.vstack(seen)


def first_of_each_type(inverse: np.ndarray, n_types: int) -> np.ndarray:
    first = np.full(n_types, -1)
    for i, t in enumerate(inverse):
        if first[t] < 0:
            first[t] = i
    return first


@pytest.mark.parametrize(
    "shape", [(300, 3, 3), (40, 12, 3)], ids=["multinomial draw", "index draw"]
)
def test_each_replicate_equals_the_statistics_of_the_resampled_items(shape):
    """Replicates are weighted sums over item types; check them against the plain functions
    run on the resampled matrix itself (items repeated as many times as drawn)."""
    R = noisy_matrix(*shape, prevalence=0.3, seed=8)
    pairable = R[(~np.isnan(R)).sum(axis=1) >= 2]
    summary = _binary.summarize(R)
    stats = _binary.item_type_stats(summary.type_m, summary.type_x)
    structure = _binary.pair_structure(R)
    # Items of one (m, x) type have the same sums; items of one pattern the same pair cells.
    for type_count, inverse, kind in (
        (summary.type_count, summary.inverse, "types"),
        (structure.pattern_count, structure.inverse, "patterns"),
    ):
        counts = capture_counts(type_count, inverse, n_boot=5, seed=9)
        assert (counts.sum(axis=1) == type_count.sum()).all()
        representative = pairable[first_of_each_type(inverse, type_count.size)]
        for row in counts:
            resampled = np.repeat(representative, row.astype(int), axis=0)
            if kind == "types":
                values = _binary.item_metrics((row @ stats)[None, :])[:, 0]
                expected = [
                    metrics.percent_agreement(resampled),
                    metrics.krippendorff_alpha_nominal(resampled),
                    metrics.fleiss_kappa(resampled),
                    metrics.gwet_ac1(resampled),
                    *metrics.specific_agreement(resampled),
                ]
                got = [None if np.isnan(v) else v for v in values]
            else:
                tables = _binary.pair_tables(structure, row[None, :])
                got = [_binary.mean_pair_kappa(tables, 2)[0]]
                expected = [metrics.cohen_kappa_mean(resampled)]
            assert got == pytest.approx(expected, abs=1e-12)


def test_index_draw_is_used_when_types_are_many():
    R = noisy_matrix(40, 12, 3, prevalence=0.3, seed=8)
    structure = _binary.pair_structure(R)
    assert structure.pattern_count.size * _bootstrap._ITEMS_PER_TYPE_FOR_MULTINOMIAL > 40
    result = metrics.category_agreement(R, n_boot=200, seed=1)
    assert result.cohen.low <= result.cohen.high
    assert result == metrics.category_agreement(R, n_boot=200, seed=1)


def test_set_replicates_equal_alpha_of_the_resampled_items():
    rng = np.random.default_rng(5)
    sets = [
        [frozenset(np.flatnonzero(rng.random(3) < 0.4).tolist()) for _ in range(2 + i % 2)]
        for i in range(60)
    ]
    summary = _sets.summarize_sets(sets)
    stats = _sets.set_type_stats(summary, "masi")
    counts = capture_counts(summary.type_count, summary.inverse, n_boot=4, seed=1)
    representative = first_of_each_type(summary.inverse, summary.type_count.size)
    for row in counts:
        resampled = [
            sets[i] for i, k in zip(representative, row.astype(int), strict=True) for _ in range(k)
        ]
        got = _sets.set_alpha(stats, row[None, :])[0]
        assert got == pytest.approx(metrics.krippendorff_alpha_sets(resampled, "masi"), abs=1e-12)

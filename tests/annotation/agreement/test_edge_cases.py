"""Edge cases give defined values or None with a reason: never a crash, NaN or inf."""

import json

import numpy as np
import pytest

from annotation.agreement import metrics

nan = np.nan
STATS = ("percent", "alpha", "cohen", "fleiss", "ac1", "positive", "negative")


def assert_json_clean(result: metrics.CategoryAgreement) -> dict:
    """as_dict() serialises without NaN/inf (allow_nan=False raises on them)."""
    data = result.as_dict()
    json.dumps(data, allow_nan=False)
    return data


def test_zero_items():
    for R in (np.zeros((0, 3)), np.zeros((0, 0))):
        result = metrics.category_agreement(R)
        data = assert_json_clean(result)
        assert (result.n_items, result.n_pairable_items, result.prevalence) == (0, 0, None)
        for name in STATS:
            assert data[name] == {
                "value": None,
                "low": None,
                "high": None,
                "reason": "not enough data: no item has a label",
            }
        assert metrics.percent_agreement(R) is None
        assert metrics.cohen_kappa_mean(R) is None
        assert metrics.specific_agreement(R) == (None, None)


def test_all_missing_counts_as_zero_items():
    result = metrics.category_agreement(np.full((5, 3), nan))
    assert result.n_items == 0
    assert result.alpha.reason == "not enough data: no item has a label"


def test_single_annotator():
    R = np.array([[1.0], [0.0], [1.0], [0.0]])
    result = metrics.category_agreement(R)
    assert_json_clean(result)
    assert (result.n_items, result.n_pairable_items) == (4, 0)
    assert result.prevalence == 0.5
    for name in STATS:
        estimate = getattr(result, name)
        assert estimate.value is None
        assert estimate.reason == "not enough data: fewer than 2 items with 2+ labels"


def test_one_pairable_item_is_not_enough():
    R = np.array([[1, 0], [1, nan], [nan, 0]], dtype=float)
    result = metrics.category_agreement(R)
    assert result.n_pairable_items == 1
    assert result.percent.value is None
    assert "fewer than 2 items" in result.percent.reason


def test_category_nobody_chose():
    R = np.array([[0, 0, nan], [0, nan, 0], [0, 0, 0], [nan, nan, 0]], dtype=float)
    result = metrics.category_agreement(R, n_boot=200)
    assert_json_clean(result)
    assert result.prevalence == 0.0
    assert result.percent == metrics.Estimate(1.0, 1.0, 1.0)
    assert result.ac1 == metrics.Estimate(1.0, 1.0, 1.0)  # AC1 stays defined (p_e = 0)
    assert result.negative == metrics.Estimate(1.0, 1.0, 1.0)
    for name in ("alpha", "fleiss"):
        estimate = getattr(result, name)
        assert estimate.value is None and estimate.low is None and estimate.high is None
        assert estimate.reason.startswith("no variation: every label is negative")
    assert result.positive.value is None
    assert result.positive.reason == "no positive label on an item with 2+ labels"
    assert result.cohen.value is None
    assert "kappa is undefined" in result.cohen.reason


def test_category_everyone_chose():
    R = np.ones((4, 2))
    result = metrics.category_agreement(R, n_boot=50)
    assert result.alpha.reason.startswith("no variation: every label is positive")
    assert result.negative.value is None
    assert result.positive.value == 1.0


def test_all_agree_with_variation():
    R = np.array([[1, 1, nan], [0, 0, 0], [nan, 1, 1], [0, nan, 0]], dtype=float)
    result = metrics.category_agreement(R, n_boot=200)
    assert_json_clean(result)
    for name in STATS:
        assert getattr(result, name).value == pytest.approx(1.0)


def test_items_with_one_annotation_are_ignored():
    base = np.array([[1, 1, nan], [1, 0, 0], [0, nan, 0], [1, 1, 0], [0, 1, nan]], dtype=float)
    singles = np.array([[1, nan, nan], [nan, 0, nan], [nan, nan, 1]], dtype=float)
    with_singles = np.vstack([base, singles])
    a = metrics.category_agreement(base, n_boot=100, seed=3)
    b = metrics.category_agreement(with_singles, n_boot=100, seed=3)
    assert (b.n_items, b.n_pairable_items) == (8, 5)
    for name in STATS:
        assert getattr(a, name) == getattr(b, name)  # same values and same intervals
    assert b.prevalence == pytest.approx(8 / 15)  # prevalence does use every rating


def test_kappa_undefined_pairs_are_skipped_in_the_mean():
    # Annotators 0-1 disagree on varied items (kappa defined); 0-2 share only all-negative items.
    R = np.array(
        [[1, 1, nan], [0, 0, nan], [1, 0, nan], [0, nan, 0], [0, nan, 0]],
        dtype=float,
    )
    pairs, tables = metrics.pairwise_tables(R)
    assert pairs.tolist() == [[0, 1], [0, 2]]
    assert tables.tolist() == [[1, 0, 1, 1], [2, 0, 0, 0]]
    # Pair 0-1: p_o = 2/3, p_e = (2/3)(1/3) + (1/3)(2/3) = 4/9 -> kappa = (2/9) / (5/9) = .4
    assert metrics.cohen_kappa_mean(R) == pytest.approx(0.4)


def test_min_overlap_excludes_pairs_with_few_shared_items():
    R = np.array([[1, 1, nan], [0, 0, nan], [1, nan, 1], [nan, 0, 0]], dtype=float)
    assert metrics.cohen_kappa_mean(R, min_overlap=2) == pytest.approx(1.0)
    assert metrics.cohen_kappa_mean(R, min_overlap=3) is None


@pytest.mark.parametrize(
    "bad",
    [np.array([[0, 2]], dtype=float), np.array([[0, np.inf]]), np.array([0.0, 1.0]), [[0.5, 1]]],
)
def test_malformed_matrix_is_a_programming_error(bad):
    with pytest.raises(ValueError, match="R must"):
        metrics.category_agreement(bad)


def test_bad_bootstrap_arguments():
    R = np.ones((3, 2))
    with pytest.raises(ValueError, match="n_boot"):
        metrics.category_agreement(R, n_boot=-1)
    with pytest.raises(ValueError, match="level"):
        metrics.category_agreement(R, level=1.0)
    with pytest.raises(ValueError, match="distance"):
        metrics.set_agreement([[frozenset(), frozenset()]], distance="hamming")


def test_estimate_refuses_nan_and_inf():
    with pytest.raises(ValueError, match="finite"):
        metrics.Estimate(float("nan"))
    with pytest.raises(ValueError, match="finite"):
        metrics.Estimate(0.5, 0.1, float("inf"))


def test_set_agreement_edge_cases():
    empty = metrics.set_agreement([])
    assert empty == metrics.Estimate(None, None, None, "not enough data: no item has a label")
    one_each = metrics.set_agreement([[frozenset({1})], [frozenset({2})]])
    assert one_each.reason == "not enough data: fewer than 2 items with 2+ labels"
    same = [[frozenset({1}), frozenset({1})], [frozenset({1}), frozenset({1}), frozenset({1})]]
    flat = metrics.set_agreement(same, distance="masi")
    assert flat.value is None and flat.reason.startswith("no variation")
    none_of_these = [[frozenset(), frozenset()], [frozenset(), frozenset({1})]] * 3
    result = metrics.set_agreement(none_of_these, n_boot=100)
    json.dumps(result.as_dict(), allow_nan=False)
    assert result.value is not None


def test_rare_category_with_one_positive_label():
    R = np.zeros((1000, 2))
    R[17, 0] = 1.0
    result = metrics.category_agreement(R, n_boot=300, seed=5)
    data = assert_json_clean(result)
    assert result.alpha.value == pytest.approx(metrics.krippendorff_alpha_nominal(R))
    assert result.positive.value == 0.0
    # The positive item is missing from about 37 % of resamples: the interval comes from the
    # others, so it is still given.
    assert data["alpha"]["low"] is not None


def test_percentile_interval_is_withheld_when_most_replicates_are_undefined():
    from annotation.agreement._bootstrap import percentile_interval

    replicates = np.array([0.1, 0.2, nan, nan, nan])
    assert percentile_interval(replicates, 0.95, 0.5) is None
    assert percentile_interval(np.array([0.1, 0.2, 0.3, nan]), 0.95, 0.5) is not None


def test_cohen_needs_a_pair_with_enough_shared_items():
    # Three pairable items, but every annotator pair shares only one of them.
    R = np.array([[1, 1, nan], [nan, 0, 0], [0, nan, 1]], dtype=float)
    result = metrics.category_agreement(R, n_boot=50)
    assert result.alpha.value is not None
    assert result.cohen == metrics.Estimate(
        None, None, None, "not enough data: no annotator pair labeled 2+ items in common"
    )

"""Multi-annotator quality (cleanlab CROWDLAB), per question and per category (no database)."""

import json

import numpy as np
import pytest

from learning.ml.noise import NotEnoughData, single_label_proba
from learning.ml.noise_annotators import annotator_quality, annotator_quality_per_category

NAN = np.nan


def panel(n: int = 120, K: int = 2, *, bad: int = 3, seed: int = 0):
    """Five annotators label about 70 % of n items each; annotator `bad` answers at random.

    Returns labels (n, 5) with NaN, the true classes (n,) and model probabilities (n, K) that
    lean 70 % towards the truth.
    """
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, K, size=n)
    labels = np.full((n, 5), NAN)
    for m in range(5):
        right = rng.random(n) < (0.95 if m != bad else 1.0 / K)
        wrong = (truth + rng.integers(1, K, size=n)) % K
        given = np.where(right, truth, wrong).astype(float)
        seen = rng.random(n) < 0.7
        labels[seen, m] = given[seen]
    labels[np.isnan(labels).all(axis=1), 0] = truth[np.isnan(labels).all(axis=1)]
    P = np.full((n, K), 0.3 / (K - 1))
    P[np.arange(n), truth] = 0.7
    return labels, truth, P


def test_a_bad_annotator_is_ranked_lowest_and_the_consensus_is_right():
    labels, truth, P = panel()

    result = annotator_quality(labels, P[:, 1], annotator_ids=["ann", "bo", "cy", "dee", "ed"])

    assert result["annotators"][0]["annotator"] == "dee"
    others = [a["quality"] for a in result["annotators"][1:]]
    assert result["annotators"][0]["quality"] < min(others)
    consensus = np.array(result["consensus_label"])
    assert (consensus == truth).mean() > 0.95
    assert len(result["consensus_quality"]) == len(truth)
    assert all(0 <= q <= 1 for q in result["consensus_quality"])
    assert result["num_annotations"] == [int(k) for k in (~np.isnan(labels)).sum(axis=1)]
    json.dumps(result)  # JSON-ready


def test_single_label_classes_with_none_of_these():
    labels, truth, P = panel(n=150, K=3, bad=0, seed=1)  # class 2 stands for "none of these"

    result = annotator_quality(labels, single_label_proba(P[:, :2]))

    assert result["annotators"][0]["annotator"] == 0
    assert (np.array(result["consensus_label"]) == truth).mean() > 0.9


def test_items_nobody_labeled_get_none_and_silent_annotators_are_left_out():
    labels, _, P = panel()
    labels[5] = NAN
    labels = np.column_stack([labels, np.full(len(labels), NAN)])  # a sixth who labeled nothing

    result = annotator_quality(labels, P)

    assert result["consensus_label"][5] is None and result["consensus_quality"][5] is None
    assert result["num_annotations"][5] == 0
    assert {a["annotator"] for a in result["annotators"]} == {0, 1, 2, 3, 4}


def test_per_category_for_a_multi_label_project():
    a, truth_a, Pa = panel(seed=2, bad=1)
    b, _, Pb = panel(seed=3, bad=1)
    b[:] = np.where(np.isnan(b), NAN, 0.0)  # nobody ever marked category 1
    labels = np.stack([a, b], axis=2)  # (n, M, C = 2)
    P = np.column_stack([Pa[:, 1], Pb[:, 1]])

    results = annotator_quality_per_category(labels, P)

    assert len(results) == 2
    assert results[0]["annotators"][0]["annotator"] == 1
    assert (np.array(results[0]["consensus_label"]) == truth_a).mean() > 0.95
    assert set(results[1]["consensus_label"]) <= {0, None}


def test_one_annotator_is_not_enough():
    labels, _, P = panel()

    with pytest.raises(NotEnoughData, match="at least 2 annotators"):
        annotator_quality(labels[:, :1], P)


def test_items_with_a_single_label_each_are_not_enough():
    labels = np.full((20, 3), NAN)
    labels[np.arange(20), np.arange(20) % 3] = 1.0  # every item labeled once

    with pytest.raises(NotEnoughData, match="the most labels on one item is 1"):
        annotator_quality(labels, np.full(20, 0.5))


def test_a_category_without_enough_annotations_reports_it_instead_of_failing():
    labels = np.full((10, 2, 2), NAN)
    labels[:, 0, :] = 1.0  # only annotator 0 ever labeled

    results = annotator_quality_per_category(labels, np.full((10, 2), 0.5))

    assert all("not_enough_data" in r for r in results)


def test_bad_input_is_refused_with_a_clear_error():
    labels, _, P = panel()
    with pytest.raises(ValueError, match="class indices 0..1"):
        annotator_quality(np.where(np.isnan(labels), NAN, 2.0), P)
    with pytest.raises(ValueError, match="pred_probs must be"):
        annotator_quality(labels, P[:10])
    with pytest.raises(ValueError, match="annotator_ids"):
        annotator_quality(labels, P, annotator_ids=["only one"])
    with pytest.raises(ValueError, match=r"\(n, M, C\)"):
        annotator_quality_per_category(labels, P)

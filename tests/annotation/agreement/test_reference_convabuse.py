"""Our statistics equal reference implementations on ConvAbuse's real per-annotator labels
(4,185 items, 2-7 of 8 annotators each; 17 binary labels from very common to nearly unused)."""

import itertools
import warnings

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss_kappa

from annotation.agreement import metrics
from annotation.agreement._sets import distance_matrix

TOL = 1e-6
N_LABELS = 17


def category_matrix(convabuse: dict, j: int) -> np.ndarray:
    return convabuse["labels"][:, :, j]


def test_dataset_has_the_documented_shape(convabuse):
    rated = convabuse["rated"]
    assert rated.shape == (4185, 8)
    per_item = rated.sum(axis=1)
    assert per_item.min() == 2 and per_item.max() == 7


@pytest.mark.parametrize("j", range(N_LABELS))
def test_alpha_equals_the_krippendorff_package(convabuse, j):
    R = category_matrix(convabuse, j)
    ours = metrics.krippendorff_alpha_nominal(R)
    reference = krippendorff.alpha(reliability_data=R.T, level_of_measurement="nominal")
    assert ours == pytest.approx(reference, abs=TOL)


@pytest.mark.parametrize("j", range(N_LABELS))
def test_fleiss_equals_statsmodels_on_items_with_equal_raters(convabuse, j):
    # statsmodels' fleiss_kappa needs the same number of raters per item: compare on the
    # 2,342 items with exactly three (Fleiss & Cuzick reduces to Fleiss 1971 there).
    R = category_matrix(convabuse, j)
    three = convabuse["rated"].sum(axis=1) == 3
    positives = np.nansum(R[three], axis=1)
    table = np.stack([3 - positives, positives], axis=1)
    assert metrics.fleiss_kappa(R[three]) == pytest.approx(statsmodels_fleiss_kappa(table), abs=TOL)


def sklearn_mean_kappa(R: np.ndarray, rated: np.ndarray) -> float | None:
    kappas = []
    for a, b in itertools.combinations(range(R.shape[1]), 2):
        both = rated[:, a] & rated[:, b]
        if both.sum() < metrics.MIN_PAIR_OVERLAP:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # undefined pairs: NaN, skipped below as we do
            kappa = cohen_kappa_score(R[both, a], R[both, b])
        if np.isfinite(kappa):
            kappas.append(kappa)
    return float(np.mean(kappas)) if kappas else None


@pytest.mark.parametrize("j", range(N_LABELS))
def test_cohen_mean_equals_sklearn_per_pair_averaged(convabuse, j):
    R = category_matrix(convabuse, j)
    reference = sklearn_mean_kappa(R, convabuse["rated"])
    ours = metrics.cohen_kappa_mean(R)
    assert (ours is None) == (reference is None)
    if reference is not None:
        assert ours == pytest.approx(reference, abs=TOL)


@pytest.mark.parametrize("j", range(N_LABELS))
def test_pairwise_tables_equal_direct_counts(convabuse, j):
    R = category_matrix(convabuse, j)
    rated = convabuse["rated"]
    pairs, tables = metrics.pairwise_tables(R)
    for (a, b), table in zip(pairs, tables, strict=True):
        both = rated[:, a] & rated[:, b]
        x, y = R[both, a], R[both, b]
        expected = [((x == u) & (y == v)).sum() for u in (0, 1) for v in (0, 1)]
        assert table.tolist() == expected


@pytest.mark.parametrize("j", [0, 3, 9, 15])
def test_category_agreement_points_equal_the_plain_functions(convabuse, j):
    R = category_matrix(convabuse, j)
    result = metrics.category_agreement(R, n_boot=50, seed=1)
    assert result.alpha.value == metrics.krippendorff_alpha_nominal(R)
    assert result.fleiss.value == metrics.fleiss_kappa(R)
    assert result.cohen.value == metrics.cohen_kappa_mean(R)
    assert result.ac1.value == metrics.gwet_ac1(R)
    assert result.percent.value == metrics.percent_agreement(R)
    assert (result.positive.value, result.negative.value) == metrics.specific_agreement(R)
    assert result.n_items == 4185
    assert result.n_pairable_items == 4185


def label_sets(convabuse: dict, columns: range) -> list[list[frozenset]]:
    labels, rated = convabuse["labels"], convabuse["rated"]
    return [
        [frozenset(j for j in columns if labels[i, a, j] == 1) for a in np.nonzero(rated[i])[0]]
        for i in range(labels.shape[0])
    ]


def krippendorff_sets_reference(sets: list[list[frozenset]], distance: str) -> float:
    """The krippendorff package with a custom distance: label sets coded as integer ids, the
    metric looks the distance up in the same (V, V) matrix."""
    ids: dict[frozenset, int] = {}
    width = max(len(s) for s in sets)
    data = np.full((width, len(sets)), np.nan)
    for i, item in enumerate(sets):
        for a, s in enumerate(item):
            data[a, i] = ids.setdefault(s, len(ids))
    labels = sorted({label for s in ids for label in s})
    members = np.array([[label in s for label in labels] for s in ids], dtype=np.int8)
    dist = distance_matrix(members, distance)

    def metric(v1, v2, i1, i2, n_v, dtype=np.float64):
        return dist[i1, i2].astype(dtype)

    return krippendorff.alpha(
        reliability_data=data, value_domain=np.arange(len(ids)), level_of_measurement=metric
    )


@pytest.mark.parametrize("distance", ["jaccard", "masi"])
@pytest.mark.parametrize("columns", [range(5, 12), range(12, 17)], ids=["type", "target+direction"])
def test_set_alpha_equals_the_krippendorff_package_with_a_custom_distance(
    convabuse, distance, columns
):
    sets = label_sets(convabuse, columns)
    ours = metrics.krippendorff_alpha_sets(sets, distance=distance)
    assert ours == pytest.approx(krippendorff_sets_reference(sets, distance), abs=TOL)

"""Small cases computed by hand from the published formulas."""

import krippendorff
import numpy as np
import pytest

from annotation.agreement import metrics

nan = np.nan


def two_rater_matrix(a: int, b: int, c: int, d: int) -> np.ndarray:
    """Rows for a 2x2 table: a both yes, b rater 1 yes / rater 2 no, c the reverse, d both no."""
    return np.array([[1, 1]] * a + [[1, 0]] * b + [[0, 1]] * c + [[0, 0]] * d, dtype=float)


# a = 40, b = 5, c = 10, d = 45 (n = 100).
TABLE = two_rater_matrix(40, 5, 10, 45)


def test_percent_agreement_two_raters():
    # p_o = (a + d) / n
    assert metrics.percent_agreement(TABLE) == pytest.approx(0.85)


def test_specific_agreement_two_raters():
    # Uebersax, "Raw agreement indices"; Cicchetti & Feinstein (1990):
    # PA = 2a / (2a + b + c) = 80 / 95, NA = 2d / (2d + b + c) = 90 / 105.
    positive, negative = metrics.specific_agreement(TABLE)
    assert positive == pytest.approx(80 / 95)
    assert negative == pytest.approx(90 / 105)


def test_cohen_kappa_two_raters():
    # Cohen (1960): p_e = .45 * .50 + .55 * .50 = .5; kappa = (.85 - .5) / (1 - .5) = .7
    assert metrics.cohen_kappa_mean(TABLE) == pytest.approx(0.7)


def test_gwet_ac1_two_raters():
    # Gwet (2008), eq. for two raters: pi = (A1 + B1) / 2n = (45 + 50) / 200 = .475,
    # p_e = 2 pi (1 - pi) = .49875, AC1 = (.85 - .49875) / (1 - .49875).
    assert metrics.gwet_ac1(TABLE) == pytest.approx((0.85 - 0.49875) / (1 - 0.49875))


def test_fleiss_equals_cohen_style_formula_for_two_raters():
    # Fleiss (1971) with 2 raters uses pooled marginals: p = (45 + 50) / 200 = .475,
    # P_e = p^2 + q^2 = .50125, kappa = (.85 - .50125) / (1 - .50125).
    assert metrics.fleiss_kappa(TABLE) == pytest.approx((0.85 - 0.50125) / (1 - 0.50125))


# Three raters, varying numbers per item: (m, x) = (2, 2), (3, 1), (2, 0), (3, 2), then an
# item with a single rating (not pairable: it changes nothing).
VARYING = np.array(
    [
        [1, 1, nan],
        [1, 0, 0],
        [0, nan, 0],
        [1, 1, 0],
        [nan, nan, 1],
    ],
    dtype=float,
)


def test_fleiss_cuzick_with_varying_raters():
    # Fleiss & Cuzick (1979): N = 4, M = 10, X = 5, mbar = 2.5, pbar = .5,
    # sum x(m - x)/m = 0 + 2/3 + 0 + 2/3 = 4/3; kappa = 1 - (4/3) / (4 * 1.5 * .25) = 1/9.
    assert metrics.fleiss_kappa(VARYING) == pytest.approx(1 / 9)


def test_alpha_with_varying_raters():
    # Krippendorff (2011): n = 10, n_0 = n_1 = 5, o_01 = sum x(m - x)/(m - 1) = 1 + 1 = 2;
    # alpha = 1 - (n - 1) o_01 / (n_0 n_1) = 1 - 18/25 = 7/25.
    assert metrics.krippendorff_alpha_nominal(VARYING) == pytest.approx(7 / 25)
    assert krippendorff.alpha(reliability_data=VARYING.T, level_of_measurement="nominal") == (
        pytest.approx(7 / 25)
    )


def test_percent_and_specific_agreement_with_varying_raters():
    # Per item share of agreeing pairs: 1, 1/3, 1, 1/3 -> mean 2/3.
    assert metrics.percent_agreement(VARYING) == pytest.approx(2 / 3)
    # Uebersax's multi-rater form: PA = sum x(x-1) / sum x(m-1) = (2 + 0 + 0 + 2) / (2 + 2 + 0 + 4)
    # NA = sum y(y-1) / sum y(m-1) = (0 + 2 + 2 + 0) / (0 + 4 + 2 + 2)
    assert metrics.specific_agreement(VARYING) == pytest.approx((0.5, 0.5))


def test_ac1_with_varying_raters():
    # Gwet (2008) multi-rater: pi = mean of x/m = (1 + 1/3 + 0 + 2/3) / 4 = .5, p_e = .5,
    # p_a = 2/3 -> AC1 = (2/3 - 1/2) / (1/2) = 1/3.
    assert metrics.gwet_ac1(VARYING) == pytest.approx(1 / 3)


# Label sets of three items, two annotators each (a hand-computed case).
SETS = [
    [frozenset({"a"}), frozenset({"a"})],
    [frozenset({"a", "b"}), frozenset({"a"})],
    [frozenset(), frozenset({"b"})],
    [frozenset({"b"})],  # one annotator: not pairable
]


def test_set_alpha_jaccard_by_hand():
    # Values: {a} x3, {a,b}, {}, {b}; n = 6. Jaccard distances: {a}-{a,b} .5, {a,b}-{b} .5,
    # every other pair of distinct sets 1. D_o = (0 + 2 * .5 + 2 * 1) / 6 = .5.
    # Sum over unordered value pairs of n_c n_k d = 1.5 + 3 + 3 + 1 + .5 + 1 = 10,
    # D_e = 2 * 10 / (6 * 5) = 2/3; alpha = 1 - .5 / (2/3) = .25.
    assert metrics.krippendorff_alpha_sets(SETS, distance="jaccard") == pytest.approx(0.25)


def test_set_alpha_masi_by_hand():
    # MASI (Passonneau 2006): {a}-{a,b} and {a,b}-{b} are subsets: 1 - (1/2)(2/3) = 2/3;
    # others 1. D_o = (2 * 2/3 + 2) / 6 = 5/9; unordered sum = 2 + 3 + 3 + 1 + 2/3 + 1 = 32/3,
    # D_e = 2 * (32/3) / 30 = 32/45; alpha = 1 - (5/9) / (32/45) = 7/32.
    assert metrics.krippendorff_alpha_sets(SETS, distance="masi") == pytest.approx(7 / 32)


def test_set_alpha_on_single_labels_equals_nominal_alpha():
    # With one label per rating, Jaccard and MASI distances are the nominal 0/1 distance.
    R = VARYING
    sets = [[frozenset({int(v)}) for v in row if not np.isnan(v)] for row in R]
    for distance in ("jaccard", "masi"):
        assert metrics.krippendorff_alpha_sets(sets, distance=distance) == pytest.approx(7 / 25)

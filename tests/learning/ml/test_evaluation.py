"""Cross-validated per-category metrics."""

import numpy as np
import pytest

from learning.ml.evaluation import _strata, decide, score_predictions
from learning.ml.features import FeatureConfig, fit_transform
from learning.ml.model import (
    NotEnoughData,
    cross_validate,
    cross_validate_features,
    out_of_fold_proba,
)
from tests.learning.ml.synthetic import make_dataset

SMALL = FeatureConfig(min_df=1, char_ngrams=(3, 4))


@pytest.mark.parametrize("multi_label", [True, False])
def test_cross_validation_on_a_separable_toy_set_is_perfect(multi_label):
    texts, urls, Y = make_dataset(150, [0.3, 0.2, 0.1], multi_label=multi_label, seed=1)

    metrics = cross_validate(texts, urls, Y, multi_label=multi_label, features=SMALL, seed=0)

    assert metrics.folds == 5
    assert metrics.macro_f1 == pytest.approx(1.0) and metrics.micro_f1 == pytest.approx(1.0)
    assert [m["support"] for m in metrics.per_category] == [int(v) for v in Y.sum(axis=0)]
    assert set(metrics.per_category[0]) == {"precision", "recall", "f1", "support"}
    assert metrics.as_dict()["per_category"][2]["f1"] == pytest.approx(1.0)


def test_noise_lowers_the_scores():
    texts, urls, Y = make_dataset(150, [0.3, 0.2], multi_label=True, seed=2)
    flipped = Y.copy()
    flipped[::4] = 1 - flipped[::4]  # a quarter of the rows mislabeled

    metrics = cross_validate(texts, urls, flipped, multi_label=True, features=SMALL, seed=0)

    assert 0 < metrics.macro_f1 < 0.95


def test_few_labels_use_fewer_folds_and_too_few_raise_not_enough_data():
    texts, urls, Y = make_dataset(6, [0.5], multi_label=True)

    proba, folds = out_of_fold_proba(texts, urls, Y, multi_label=True, features=SMALL, seed=0)

    assert folds == 3 and proba.shape == (6, 1)
    with pytest.raises(NotEnoughData, match="too few"):
        cross_validate(texts[:3], urls[:3], Y[:3], multi_label=True, features=SMALL, seed=0)
    assert issubclass(NotEnoughData, ValueError)


def test_a_category_without_positives_does_not_count_in_macro_f1():
    texts, urls, Y = make_dataset(60, [0.4, 0.0], multi_label=True)

    metrics = cross_validate(texts, urls, Y, multi_label=True, features=SMALL, seed=0)

    assert metrics.per_category[1] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert metrics.macro_f1 == pytest.approx(metrics.per_category[0]["f1"])


def test_out_of_fold_probabilities_are_deterministic_for_a_seed():
    texts, urls, Y = make_dataset(40, [0.3], multi_label=False)

    a, _ = out_of_fold_proba(texts, urls, Y, multi_label=False, features=SMALL, seed=4)
    b, _ = out_of_fold_proba(texts, urls, Y, multi_label=False, features=SMALL, seed=4)

    assert np.array_equal(a, b)


def test_decide_thresholds_multi_label_and_picks_none_in_single_label():
    proba = np.array([[0.6, 0.5], [0.2, 0.1], [0.1, 0.7]])

    assert decide(proba, multi_label=True).tolist() == [[1, 1], [0, 0], [0, 1]]
    # single-label: P(none) = 1 - 0.3 = 0.7 wins on the second row
    assert decide(proba, multi_label=False).tolist() == [[1, 0], [0, 0], [0, 1]]


def test_scores_of_known_predictions():
    Y = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
    predicted = np.array([[1, 0], [0, 0], [0, 1], [1, 0]])

    metrics = score_predictions(Y, predicted)

    assert metrics.per_category[0] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert metrics.per_category[1]["f1"] == 1.0
    assert metrics.macro_f1 == pytest.approx(0.75)


def test_strata_pool_categories_too_rare_to_split():
    Y = np.array([[1, 0, 0]] * 6 + [[0, 1, 0]] * 2 + [[0, 0, 1]] * 1 + [[0, 0, 0]] * 5)

    strata = _strata(Y, 3)

    assert set(strata[:6]) == {0} and set(strata[9:]) == {3}
    assert len(set(strata[6:9])) == 1  # the two rare categories share one stratum
    assert np.unique(strata, return_counts=True)[1].min() >= 3


def test_cross_validating_a_feature_matrix_scores_like_the_texts_and_reports_each_fold():
    texts, urls, Y = make_dataset(120, [0.3, 0.2, 0.1], multi_label=True, seed=3)
    noisy = Y.copy()
    noisy[::5] = 1 - noisy[::5]  # imperfect, so the scores are not all 1
    X = fit_transform(texts, urls, SMALL)[1]
    folds = []

    from_features = cross_validate_features(
        X, noisy, multi_label=True, seed=0, on_fold=lambda done, total: folds.append((done, total))
    )
    from_texts = cross_validate(texts, urls, noisy, multi_label=True, features=SMALL, seed=0)

    assert from_features == from_texts and 0 < from_features.macro_f1 < 1
    assert folds == [(k, 5) for k in range(1, 6)]
    with pytest.raises(ValueError, match="same number of rows"):
        cross_validate_features(X[:10], noisy, multi_label=True, seed=0)
    with pytest.raises(NotEnoughData):
        cross_validate_features(X[:3], noisy[:3], multi_label=True, seed=0)


@pytest.mark.parametrize("multi_label", [True, False])
@pytest.mark.parametrize("liblinear_max_rows", [0, 5000])  # L-BFGS folds / liblinear folds
def test_folds_fitted_in_threads_give_the_same_probabilities_and_report_from_the_caller(
    multi_label, liblinear_max_rows, monkeypatch
):
    import threading

    from learning.ml import classifier
    from learning.ml.evaluation import out_of_fold_proba_features

    monkeypatch.setattr(classifier, "LIBLINEAR_MAX_ROWS", liblinear_max_rows)

    texts, urls, Y = make_dataset(150, [0.3, 0.2, 0.1], multi_label=multi_label, seed=5)
    X = fit_transform(texts, urls, SMALL)[1]
    reports = []

    def on_fold(done, total):
        reports.append((done, total, threading.current_thread() is threading.main_thread()))

    alone, used = out_of_fold_proba_features(X, Y, multi_label=multi_label, seed=2)
    threaded, used_threaded = out_of_fold_proba_features(
        X, Y, multi_label=multi_label, seed=2, threads=3, on_fold=on_fold
    )

    np.testing.assert_array_equal(threaded, alone)
    assert used == used_threaded == 5
    assert reports == [(k, 5, True) for k in range(1, 6)]
    with pytest.raises(ValueError, match="threads"):
        out_of_fold_proba_features(X, Y, multi_label=multi_label, seed=2, threads=0)


@pytest.mark.parametrize("liblinear_max_rows", [0, 5000])  # L-BFGS folds / liblinear folds
def test_folds_in_flight_leave_the_caller_a_thread_and_give_the_same_probabilities(
    liblinear_max_rows, monkeypatch
):
    import threading

    from learning.ml import classifier, evaluation
    from learning.ml.evaluation import FoldsInFlight, out_of_fold_proba_features

    monkeypatch.setattr(classifier, "LIBLINEAR_MAX_ROWS", liblinear_max_rows)
    texts, urls, Y = make_dataset(150, [0.3, 0.2, 0.1], multi_label=True, seed=5)
    X = fit_transform(texts, urls, SMALL)[1]
    alone, _ = out_of_fold_proba_features(X, Y, multi_label=True, seed=2)
    real_fit = evaluation.fit_linear
    running, most = [0], [0]
    lock = threading.Lock()

    def counting(*args, **kwargs):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            return real_fit(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(evaluation, "fit_linear", counting)
    # While the caller is busy, at most threads - 1 folds fit at once (liblinear: one).
    busy = FoldsInFlight(X, Y, multi_label=True, seed=2, threads=3, caller_busy=True)
    for future in busy._futures[:2]:
        future.result()  # fitted with the caller still busy
    assert most[0] <= (1 if liblinear_max_rows else 2)
    proba, used = busy.wait()

    np.testing.assert_array_equal(proba, alone)
    assert used == 5


def test_cancelled_folds_stop_and_too_few_rows_refuse_at_the_start():
    from learning.ml.evaluation import FoldsInFlight

    texts, urls, Y = make_dataset(150, [0.3, 0.2, 0.1], multi_label=True, seed=5)
    X = fit_transform(texts, urls, SMALL)[1]
    folds = FoldsInFlight(X, Y, multi_label=True, seed=2, threads=1)
    folds.cancel()
    assert folds._pool._shutdown and sum(f.cancelled() for f in folds._futures) >= 3
    with pytest.raises(NotEnoughData):
        FoldsInFlight(X[:3], Y[:3], multi_label=True, seed=2, threads=2)

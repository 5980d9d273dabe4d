"""The classifier: shapes, the single-label "none" class, degenerate categories, artifacts."""

import io

import numpy as np
import pytest

from learning.ml.features import FeatureConfig, fit_transform
from learning.ml.model import FittedModel, fit_model, fit_with_features
from tests.learning.ml.synthetic import make_dataset

SMALL = FeatureConfig(min_df=1, char_ngrams=(3, 4))


def test_multi_label_fit_predicts_one_probability_per_category():
    texts, urls, Y = make_dataset(120, [0.3, 0.2, 0.1], multi_label=True)

    model = fit_model(texts, urls, Y, multi_label=True, features=SMALL, seed=0)
    proba = model.predict_proba(texts[:7], urls[:7])

    assert model.categories == 3 and proba.shape == (7, 3)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert (model.predict(texts, urls) == Y).mean() > 0.95  # separable words: learned


def test_single_label_all_zero_rows_are_the_none_class():
    texts, urls, Y = make_dataset(150, [0.3, 0.2], multi_label=False)
    assert (Y.sum(axis=1) == 0).any()

    model = fit_model(texts, urls, Y, multi_label=False, features=SMALL, seed=0)
    proba = model.predict_proba(texts, urls)

    assert proba.shape == (150, 2)  # the internal none class is not a column
    assert (proba.sum(axis=1) <= 1 + 1e-9).all()
    none_rows = Y.sum(axis=1) == 0
    assert (1 - proba[none_rows].sum(axis=1)).mean() > 0.5  # P(none) is the remainder
    assert (model.predict(texts, urls) == Y).mean() > 0.95


def test_single_label_with_two_classes_present_matches_a_binary_model():
    texts, urls, Y = make_dataset(80, [0.5], multi_label=False)  # category 0 or none

    model = fit_model(texts, urls, Y, multi_label=False, features=SMALL, seed=0)

    proba = model.predict_proba(texts, urls)
    assert proba.shape == (80, 1)
    assert ((proba[:, 0] > 0.5) == (Y[:, 0] == 1)).mean() > 0.95


def test_categories_without_positives_or_all_positive_get_constant_predictions():
    texts, urls, Y = make_dataset(60, [0.3, 0.0, 1.0], multi_label=True)
    assert Y[:, 1].sum() == 0 and Y[:, 2].all()

    model = fit_model(texts, urls, Y, multi_label=True, features=SMALL, seed=0)
    proba = model.predict_proba(["cat1word0 never labeled"] + texts[:3], [""] * 4)

    assert (proba[:, 1] == 0).all() and (proba[:, 2] == 1).all()
    assert np.isfinite(proba).all()


def test_single_label_with_one_class_only_is_certain_of_it():
    texts, urls, _ = make_dataset(10, [0.5], multi_label=True)
    Y = np.zeros((10, 3), dtype=int)
    Y[:, 1] = 1

    model = fit_model(texts, urls, Y, multi_label=False, features=SMALL, seed=0)

    assert np.array_equal(model.predict_proba(texts[:2], urls[:2]), [[0, 1, 0], [0, 1, 0]])


@pytest.mark.parametrize("multi_label", [True, False])
def test_texts_without_any_feature_give_base_rates_instead_of_failing(multi_label):
    Y = np.array([[1, 0], [0, 0], [0, 1], [0, 0]])

    model = fit_model(
        ["", "", "", ""], [""] * 4, Y, multi_label=multi_label, features=SMALL, seed=0
    )
    proba = model.predict_proba(["anything at all"], [""])

    assert proba.shape == (1, 2) and np.isfinite(proba).all()
    assert proba[0] == pytest.approx([1.5 / 5, 1.5 / 5] if multi_label else [1.5 / 5.5] * 2)


@pytest.mark.parametrize(
    ("Y", "message"),
    [
        (np.array([[1, 1], [0, 1]]), "more than one category"),
        (np.array([[2, 0], [0, 1]]), "only 0 and 1"),
        (np.array([1, 0]), "2-d"),
        (np.zeros((2, 0)), "at least one category"),
    ],
)
def test_bad_label_matrices_are_refused_with_a_clear_error(Y, message):
    with pytest.raises(ValueError, match=message):
        fit_model(["a b", "c d"], ["", ""], Y, multi_label=False, features=SMALL, seed=0)


def test_texts_urls_and_labels_must_align():
    with pytest.raises(ValueError, match="same number of rows"):
        fit_model(["a", "b"], [""], np.array([[1], [0]]), multi_label=True, features=SMALL, seed=0)


def test_unlabeled_texts_widen_the_vocabulary():
    texts, urls, Y = make_dataset(40, [0.4], multi_label=True)
    extra = ["zebra words only in the pool"] * 3

    plain = fit_model(texts, urls, Y, multi_label=True, features=SMALL, seed=0)
    wide = fit_model(
        texts, urls, Y, multi_label=True, features=SMALL, seed=0,
        unlabeled_texts=extra, unlabeled_urls=[""] * 3,
    )  # fmt: skip

    assert wide.featurizer.width > plain.featurizer.width
    assert "zebra" in wide.featurizer.blocks[0].terms


def test_fitting_is_deterministic_for_a_seed():
    texts, urls, Y = make_dataset(80, [0.3, 0.1], multi_label=True)

    a = fit_model(texts, urls, Y, multi_label=True, features=SMALL, seed=3)
    b = fit_model(texts, urls, Y, multi_label=True, features=SMALL, seed=3)

    assert np.array_equal(a.predict_proba(texts, urls), b.predict_proba(texts, urls))


@pytest.mark.parametrize("multi_label", [True, False])
@pytest.mark.parametrize("hashing", [False, True])
def test_artifact_round_trip_predicts_the_same(multi_label, hashing):
    texts, urls, Y = make_dataset(90, [0.3, 0.1, 0.0], multi_label=multi_label)
    features = FeatureConfig(min_df=1, hashing=hashing, n_features=2**12)
    model = fit_model(texts, urls, Y, multi_label=multi_label, features=features, seed=0)

    loaded = FittedModel.from_bytes(model.to_bytes())

    assert loaded.categories == 3 and loaded.multi_label is multi_label
    assert loaded.features == features
    assert np.allclose(loaded.predict_proba(texts, urls), model.predict_proba(texts, urls))


def test_artifact_is_not_a_pickle_and_garbage_is_refused():
    texts, urls, Y = make_dataset(30, [0.4], multi_label=True)
    blob = fit_model(texts, urls, Y, multi_label=True, features=SMALL, seed=0).to_bytes()

    assert blob[:2] == b"PK"  # a zip of .npy arrays, read with allow_pickle=False
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        assert all(npz[name].dtype != object for name in npz.files)
    with pytest.raises(ValueError, match="not a goldset model artifact"):
        FittedModel.from_bytes(b"not a model")
    buffer = io.BytesIO()
    np.savez(buffer, header=np.array([{"format": "x"}], dtype=object))  # a pickled array
    with pytest.raises(ValueError, match="not a goldset model artifact"):
        FittedModel.from_bytes(buffer.getvalue())


@pytest.mark.parametrize("multi_label", [True, False])
def test_fit_with_features_is_fit_model_plus_the_training_matrix(multi_label):
    texts, urls, Y = make_dataset(120, [0.3, 0.2], multi_label=multi_label)

    model, X = fit_with_features(texts, urls, Y, multi_label=multi_label, features=SMALL, seed=0)
    plain = fit_model(texts, urls, Y, multi_label=multi_label, features=SMALL, seed=0)

    assert X.shape == (120, model.featurizer.width)
    assert (model.transform(texts, urls) != X).nnz == 0
    np.testing.assert_array_equal(
        model.predict_proba(texts, urls), plain.predict_proba(texts, urls)
    )


@pytest.mark.parametrize("liblinear_max_rows", [0, 5000])  # L-BFGS fits / liblinear fits
def test_categories_fitted_in_threads_give_the_same_weights(liblinear_max_rows, monkeypatch):
    from learning.ml import classifier
    from learning.ml.classifier import fit_linear

    monkeypatch.setattr(classifier, "LIBLINEAR_MAX_ROWS", liblinear_max_rows)
    texts, urls, Y = make_dataset(200, [0.3, 0.2, 0.1, 0.05], multi_label=True, seed=3)
    X = fit_transform(texts, urls, SMALL)[1]

    alone = fit_linear(X, Y, multi_label=True, seed=1)
    threaded = fit_linear(X, Y, multi_label=True, seed=1, threads=2)

    np.testing.assert_array_equal(threaded.coef.toarray(), alone.coef.toarray())
    np.testing.assert_array_equal(threaded.intercept, alone.intercept)

"""modAL's query functions behind our interface (learning/ml/query.py)."""

from pathlib import Path

import numpy as np
import pytest
from modAL import multilabel as modal_multilabel
from modAL import uncertainty as modal_uncertainty

from learning.ml import query

ML_DIR = Path(__file__).resolve().parents[3] / "learning" / "ml"


def test_modal_is_imported_by_query_py_only():
    importing = sorted(
        p.name
        for p in ML_DIR.rglob("*.py")
        for line in p.read_text(encoding="utf-8").splitlines()
        if line.lstrip().startswith(("import modAL", "from modAL"))
    )
    assert set(importing) == {"query.py"}


def test_pool_estimator_serves_precomputed_rows_to_modal():
    proba = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]])
    estimator = query.PoolEstimator(proba, multi_label=False)

    assert np.array_equal(estimator.predict_proba(np.array([[2], [0]])), proba[[2, 0]])
    assert estimator.predict(query.pool_rows(3)).tolist() == [0, 0, 1]
    # modAL's own sampling function runs on it and picks the 50/50 item
    picked, _ = modal_uncertainty.uncertainty_sampling(estimator, query.pool_rows(3))
    assert picked.tolist() == [1]


def test_uncertainty_prefers_probabilities_near_one_half():
    multi = np.array([[0.02, 0.97], [0.49, 0.9], [0.2, 0.1], [0.99, 0.6]])

    scores = query.uncertainty_scores(multi, multi_label=True)

    assert scores.argmax() == 1  # its first category is a coin toss
    assert scores == pytest.approx([0.03, 0.49, 0.2, 0.4])


def test_single_label_scores_include_the_none_class():
    # Row 0: P = 0.1, 0.1 and none 0.8 — confident "none"; row 1: 0.45 / 0.45 / 0.1.
    proba = np.array([[0.1, 0.1], [0.45, 0.45], [0.7, 0.3]])

    uncertainty = query.uncertainty_scores(proba, multi_label=False)
    margin = query.margin_scores(proba, multi_label=False)
    entropy = query.entropy_scores(proba, multi_label=False)

    assert uncertainty == pytest.approx([0.2, 0.55, 0.3])
    assert margin == pytest.approx([0.3, 1.0, 0.6])  # 1 - (first - second)
    assert entropy[0] == pytest.approx(-(0.2 * np.log(0.1) + 0.8 * np.log(0.8)))
    assert entropy.argmax() == 1


def test_multi_label_margin_and_entropy_aggregate_categories():
    proba = np.array([[0.5, 0.99], [0.9, 0.9], [0.3, 0.3]])

    margin = query.margin_scores(proba, multi_label=True)
    entropy = query.entropy_scores(proba, multi_label=True)

    assert margin == pytest.approx([1.0, 0.2, 0.6])  # the most uncertain category counts
    assert entropy.argmax() == 2  # two uncertain categories beat one coin toss + one sure


@pytest.mark.parametrize("name", sorted(query.MULTILABEL_STRATEGIES))
def test_multilabel_scores_rank_like_modal_picks(name):
    rng = np.random.default_rng(0)
    proba = rng.random((30, 4))
    function, _ = query.MULTILABEL_STRATEGIES[name]
    estimator = query.PoolEstimator(proba, multi_label=True)

    scores = query.multilabel_scores(proba, strategy=name)
    modal_pick, _ = function(estimator, query.pool_rows(30), n_instances=1)

    assert scores.shape == (30,)
    assert scores[np.asarray(modal_pick).ravel()[0]] == pytest.approx(scores.max())


def test_avg_confidence_matches_modal_definition():
    proba = np.array([[0.1, 0.2], [0.8, 0.9], [0.5, 0.5]])

    assert query.multilabel_scores(proba, strategy="avg_confidence") == pytest.approx(
        [0.15, 0.85, 0.5]
    )
    with pytest.raises(ValueError, match="unknown multi-label strategy"):
        query.multilabel_scores(proba, strategy="nope")
    assert modal_multilabel.avg_confidence is query.MULTILABEL_STRATEGIES["avg_confidence"][0]


@pytest.mark.parametrize("multi_label", [True, False])
def test_scoring_a_pool_in_slices_gives_the_same_scores(monkeypatch, multi_label):
    proba = np.random.default_rng(3).random((25, 3)) / 3
    whole = [
        f(proba, multi_label=multi_label)
        for f in (query.uncertainty_scores, query.margin_scores, query.entropy_scores)
    ]

    monkeypatch.setattr(query, "CHUNK_ITEMS", 7)
    sliced = [
        f(proba, multi_label=multi_label)
        for f in (query.uncertainty_scores, query.margin_scores, query.entropy_scores)
    ]

    for a, b in zip(whole, sliced, strict=True):
        assert np.allclose(a, b)

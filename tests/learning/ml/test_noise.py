"""Label-noise detection: cleanlab on out-of-fold probabilities (no database)."""

import json
import multiprocessing
import os
import threading

import numpy as np
import pytest
from cleanlab.multilabel_classification.filter import find_label_issues as cl_multilabel_issues
from sklearn.metrics import roc_auc_score

from learning.ml import evaluation, noise
from learning.ml.classifier import single_label_targets
from learning.ml.features import FeatureConfig
from learning.ml.noise import (
    NoiseReport,
    NotEnoughData,
    find_label_issues,
    prior_corrected,
    single_label_proba,
)
from tests.learning.ml.synthetic import make_dataset
from tests.shared_data import shared_datasets

SMALL = FeatureConfig(min_df=1, char_ngrams=(3, 4))
DATASETS = shared_datasets()
DAVIDSON = DATASETS / "davidson_hate_offensive"


def flip_single(Y: np.ndarray, rows: np.ndarray, seed: int = 0) -> np.ndarray:
    """Move each row in `rows` to another class (categories or none), at random."""
    rng = np.random.default_rng(seed)
    C = Y.shape[1]
    y = single_label_targets(Y)
    noisy = Y.copy()
    for i in rows:
        new = rng.choice([k for k in range(C + 1) if k != y[i]])
        noisy[i] = 0
        if new < C:
            noisy[i, new] = 1
    return noisy


def single_label_toy(seed: int = 3):
    texts, urls, Y = make_dataset(240, [0.3, 0.25, 0.2], multi_label=False, seed=seed)
    rows = np.random.default_rng(seed).choice(len(Y), size=12, replace=False)
    return texts, urls, Y, flip_single(Y, rows, seed), rows


def multi_label_toy(seed: int = 4):
    texts, urls, Y = make_dataset(600, [0.3, 0.25, 0.2, 0.3], multi_label=True, seed=seed)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(Y), size=30, replace=False)
    cats = rng.integers(0, Y.shape[1], size=len(rows))
    noisy = Y.copy()
    noisy[rows, cats] ^= 1  # one wrong bit per chosen row: a spurious or a missed category
    return texts, urls, Y, noisy, rows, cats


def run(texts, urls, Y, *, multi_label, **kwargs) -> NoiseReport:
    return find_label_issues(
        texts, urls, Y, multi_label=multi_label, features=SMALL, seed=0, **kwargs
    )


# ------------------------------------------------------------------ single-label


def test_single_label_flips_on_a_separable_set_are_found_with_the_true_label_suggested():
    texts, urls, Y, noisy, rows = single_label_toy()

    report = run(texts, urls, noisy, multi_label=False)

    flagged = {f.index for f in report.findings}
    # "none of these" rows carry filler words only, so the model is least sure of them: a flip
    # out of "none" may stay below cleanlab's per-class threshold.
    assert len(flagged & set(rows.tolist())) >= 10  # of 12 injected flips
    assert len(flagged - set(rows.tolist())) <= 2  # and hardly anything else
    for f in report.findings:
        if f.index in rows:
            true = tuple(np.flatnonzero(Y[f.index]).tolist())
            given = tuple(np.flatnonzero(noisy[f.index]).tolist())
            assert f.suggested == true
            assert set(f.suspected) == set(true) | set(given)
            assert f.per_category_quality is None
    assert report.folds == 5 and report.n_items == len(Y)
    assert report.method == "cleanlab:prune_by_noise_rate"


def test_single_label_quality_is_lower_for_flipped_rows_and_findings_are_ordered():
    texts, urls, _, noisy, rows = single_label_toy()

    report = run(texts, urls, noisy, multi_label=False)

    truth = np.zeros(len(noisy), dtype=bool)
    truth[rows] = True
    assert report.quality.shape == (len(noisy),)
    assert ((report.quality >= 0) & (report.quality <= 1)).all()
    assert report.quality[truth].max() < np.median(report.quality[~truth])
    assert roc_auc_score(truth, -report.quality) > 0.99
    qualities = [f.quality for f in report.findings]
    assert qualities == sorted(qualities)
    assert report.flagged.sum() == len(report.findings)


def test_quality_scores_are_prior_calibrated_for_single_label_and_raw_for_multi_label():
    from cleanlab.multilabel_classification.rank import get_label_quality_scores_per_class
    from cleanlab.rank import get_label_quality_scores

    texts, urls, _, noisy, _ = single_label_toy()
    single = run(texts, urls, noisy, multi_label=False)
    calibrated = prior_corrected(single.pred_proba, noisy, multi_label=False)
    expected = get_label_quality_scores(
        single_label_targets(noisy), single_label_proba(calibrated), method="self_confidence"
    )
    np.testing.assert_allclose(single.quality, expected)
    assert single.params["quality_calibration"] == "prior"

    texts, urls, _, noisy_multi, _, _ = multi_label_toy()
    multi = run(texts, urls, noisy_multi, multi_label=True)
    assert multi.params["quality_calibration"] == "none"
    labels = [list(np.flatnonzero(row)) for row in noisy_multi]
    per_category = np.asarray(get_label_quality_scores_per_class(labels, multi.pred_proba))
    np.testing.assert_allclose(multi.quality, per_category.min(axis=1))  # uncalibrated P


# ------------------------------------------------------------------ multi-label


def test_multi_label_flipped_bits_are_found_per_category_with_the_corrected_label():
    texts, urls, Y, noisy, rows, cats = multi_label_toy()

    report = run(texts, urls, noisy, multi_label=True)

    by_index = {f.index: f for f in report.findings}
    found = [i for i in rows if i in by_index]
    # confident learning (the multi-label default) only flags bits the model is confidently
    # against: on a set this small about two thirds of the flips, and nothing else
    assert len(found) >= 18  # of 30 injected
    assert len(set(by_index) - set(rows.tolist())) <= 2
    for i, c in zip(rows, cats, strict=True):
        if i in by_index:
            f = by_index[i]
            assert f.suspected == (int(c),)
            assert f.suggested == tuple(np.flatnonzero(Y[i]).tolist())
            assert len(f.per_category_quality) == Y.shape[1]
            assert f.per_category_quality[c] == min(f.per_category_quality)
    assert report.method == "cleanlab:confident_learning"


def test_multi_label_quality_scores_rank_flipped_rows_and_bits_lowest():
    texts, urls, _, noisy, rows, cats = multi_label_toy()

    report = run(texts, urls, noisy, multi_label=True)

    truth = np.zeros(len(noisy), dtype=bool)
    truth[rows] = True
    assert roc_auc_score(truth, -report.quality) > 0.95
    assert report.per_category_quality.shape == noisy.shape
    bits = np.zeros(noisy.shape, dtype=bool)
    bits[rows, cats] = True
    assert roc_auc_score(bits.ravel(), -report.per_category_quality.ravel()) > 0.95


def test_multi_label_flags_are_what_cleanlab_multilabel_find_label_issues_returns():
    texts, urls, _, noisy, _, _ = multi_label_toy()
    report = run(texts, urls, noisy, multi_label=True)
    labels = [list(np.flatnonzero(row)) for row in noisy]
    calibrated = prior_corrected(report.pred_proba, noisy, multi_label=True)

    expected = cl_multilabel_issues(labels, calibrated, filter_by="confident_learning", n_jobs=1)

    np.testing.assert_array_equal(report.flagged, expected)


def test_one_checkable_category_goes_through_the_binary_check_and_finds_its_flips():
    # given a multi-label set where only category 0 has enough positives and negatives
    texts, urls, _, noisy, rows, cats = multi_label_toy()
    keep = np.flatnonzero(cats == 0)
    Y = np.zeros_like(noisy)
    Y[:, 0] = noisy[:, 0]
    Y[:3, 1] = 1  # category 1: three positives, fewer than the 5 folds need

    # when the check runs
    report = run(texts, urls, Y, multi_label=True)

    # then category 1 is left out, category 0's flips are found, and the item score is the
    # per-category score of the only checked category
    assert report.excluded == (1, 2, 3)
    flipped = set(rows[keep].tolist())
    flagged = {f.index for f in report.findings}
    assert len(flagged & flipped) >= len(flipped) // 2 > 0
    assert len(flagged - flipped) <= 2
    assert all(f.suspected == (0,) for f in report.findings)
    np.testing.assert_allclose(report.quality, report.per_category_quality[:, 0])


# ------------------------------------------------------------------ not enough data


def test_too_few_labels_say_how_many_are_needed_per_class():
    texts, urls, Y = make_dataset(8, [0.4, 0.3], multi_label=False, seed=1)

    with pytest.raises(NotEnoughData) as exc:
        run(texts, urls, Y, multi_label=False, category_names=["Hate", "Violence"])

    message = str(exc.value)
    assert "at least two classes need 5 gold items each" in message
    assert "Hate" in message and "Violence" in message and "none of these" in message


def test_a_single_class_is_not_enough():
    texts = [f"cat0word{i % 3} filler{i}" for i in range(30)]
    Y = np.zeros((30, 2), dtype=np.int8)
    Y[:, 0] = 1

    with pytest.raises(NotEnoughData, match="at least two classes"):
        run(texts, [""] * 30, Y, multi_label=False)


def test_multi_label_needs_a_category_with_enough_positives_and_negatives():
    texts, urls, Y = make_dataset(40, [0.05, 0.05], multi_label=True, seed=2)
    Y[:, :] = 0
    Y[:3, 0] = 1  # 3 positives: fewer than the 5 folds need

    with pytest.raises(NotEnoughData, match="at least 5 gold items with it and 5 without"):
        run(texts, urls, Y, multi_label=True, category_names=["Self-Harm", "Hate"])


def test_a_class_with_fewer_items_than_folds_is_left_out_not_flagged():
    texts, urls, Y = make_dataset(120, [0.4, 0.4], multi_label=False, seed=5)
    rare = np.flatnonzero(Y[:, 0])[:3]
    Y3 = np.zeros((len(Y), 3), dtype=np.int8)
    Y3[:, :2] = Y
    Y3[rare] = 0
    Y3[rare, 2] = 1  # category 2: three items only, texts of category 0

    report = run(texts, urls, Y3, multi_label=False)

    assert report.excluded == (2,)
    assert report.class_counts[2] == 3
    assert not report.flagged[rare].any()
    assert report.quality.shape == (len(Y3),)


def test_bad_input_is_refused_with_a_clear_error():
    texts, urls, _, noisy, _ = single_label_toy()
    with pytest.raises(ValueError, match="pred_proba must have shape"):
        run(texts, urls, noisy, multi_label=False, pred_proba=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="probabilities in"):
        run(texts, urls, noisy, multi_label=False, pred_proba=np.full(noisy.shape, 2.0))
    with pytest.raises(ValueError, match="more than one category"):
        run(texts, urls, np.ones_like(noisy), multi_label=False)
    with pytest.raises(ValueError, match="filter_by"):
        run(texts, urls, noisy, multi_label=False, filter_by="low_self_confidence")
    with pytest.raises(ValueError, match="same number of rows"):
        run(texts[:-1], urls, noisy, multi_label=False)


# ------------------------------------------------------------------ reproducibility and jobs


def test_the_same_seed_gives_the_same_report():
    texts, urls, _, noisy, _, _ = multi_label_toy()

    a = run(texts, urls, noisy, multi_label=True)
    b = run(texts, urls, noisy, multi_label=True)

    assert a.findings == b.findings
    np.testing.assert_array_equal(a.quality, b.quality)
    np.testing.assert_array_equal(a.pred_proba, b.pred_proba)


def test_no_subprocess_is_started(monkeypatch):
    """Daemon Celery workers cannot have children: cleanlab must run with n_jobs=1."""

    def refuse(*args, **kwargs):
        raise AssertionError("a subprocess was started")

    monkeypatch.setattr(multiprocessing, "Pool", refuse)
    monkeypatch.setattr(multiprocessing.Process, "start", refuse)
    monkeypatch.setattr(os, "fork", refuse)
    texts, urls, _, noisy, _ = single_label_toy()
    mtexts, murls, _, mnoisy, _, _ = multi_label_toy()

    assert run(texts, urls, noisy, multi_label=False).findings
    assert run(mtexts, murls, mnoisy, multi_label=True).findings


def test_given_probabilities_skip_cross_validation(monkeypatch):
    texts, urls, _, noisy, rows = single_label_toy()
    P = run(texts, urls, noisy, multi_label=False).pred_proba

    def refuse(*args, **kwargs):
        raise AssertionError("cross-validated again")

    monkeypatch.setattr(noise, "out_of_fold_proba", refuse)
    report = run(texts, urls, noisy, multi_label=False, pred_proba=P)

    assert report.folds == 0
    assert len({f.index for f in report.findings} & set(rows.tolist())) >= 10
    json.dumps(report.summary())  # JSON-ready
    json.dumps([f.as_dict() for f in report.findings])


def test_concurrent_checks_in_threads_do_not_mix_their_data():
    """cleanlab keeps per-class arrays in module globals with n_jobs=1: a lock serialises it."""
    datasets = []
    for seed in (3, 6, 7, 8):
        texts, urls, _, noisy, _ = single_label_toy(seed)
        P = run(texts, urls, noisy, multi_label=False).pred_proba
        datasets.append((texts, urls, noisy, P))
    expected = [run(t, u, y, multi_label=False, pred_proba=P).findings for t, u, y, P in datasets]
    results: dict[int, list] = {}

    def work(k: int) -> None:
        t, u, y, P = datasets[k]
        for _ in range(5):
            results.setdefault(k, []).append(run(t, u, y, multi_label=False, pred_proba=P).findings)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(datasets))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    for k, findings in results.items():
        assert all(f == expected[k] for f in findings)


# ------------------------------------------------------------------ calibration


def test_prior_correction_undoes_balanced_class_weights():
    Y = np.zeros((100, 2), dtype=np.int8)
    Y[:10, 0] = 1  # category 0: 10 % of the rows; category 1: 0 %; none: 90 %
    P = np.full((100, 2), 0.0)
    P[:, 0] = 0.5  # a balanced model undecided between category 0 and none

    single = prior_corrected(P, Y, multi_label=False)
    multi = prior_corrected(np.full((100, 2), 0.5), Y, multi_label=True)

    assert single[0, 0] == pytest.approx(0.1)  # 0.5 * 0.1 / (0.5 * 0.1 + 0.5 * 0.9)
    assert multi[0, 0] == pytest.approx(0.1)  # odds 1 * 10 / 90
    assert multi[0, 1] < 0.01  # no positive at all
    assert single_label_proba(P).sum(axis=1) == pytest.approx(np.ones(100))


def test_out_of_fold_probabilities_come_from_the_project_model(monkeypatch):
    texts, urls, _, noisy, _ = single_label_toy()
    calls = []
    original = evaluation.out_of_fold_proba

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(noise, "out_of_fold_proba", spy)
    run(texts, urls, noisy, multi_label=False, folds=4, c=0.5)

    assert calls[0]["folds"] == 4 and calls[0]["c"] == 0.5 and calls[0]["features"] == SMALL


# ------------------------------------------------------------------ real data


def test_injected_noise_in_a_slice_of_davidson_is_found():
    path = DAVIDSON / "labeled_data.csv.gz"
    if not path.exists():
        pytest.skip(f"Davidson dataset not found at {path} (shared datasets not mounted)")
    import pandas as pd

    df = pd.read_csv(path)
    votes = df[["hate_speech", "offensive_language", "neither"]].to_numpy()
    df = df[votes.max(axis=1) == df["count"].to_numpy()].head(1500)  # unanimous tweets
    Y = np.zeros((len(df), 2), dtype=np.int8)
    Y[df["class"].to_numpy() == 0, 0] = 1
    Y[df["class"].to_numpy() == 1, 1] = 1
    rows = np.random.default_rng(0).choice(len(Y), size=150, replace=False)
    noisy = flip_single(Y, rows)
    truth = np.zeros(len(Y), dtype=bool)
    truth[rows] = True

    report = find_label_issues(
        df["tweet"].tolist(),
        [""] * len(Y),
        noisy,
        multi_label=False,
        features=FeatureConfig(),
        seed=0,
    )

    flagged = report.flagged
    assert (flagged & truth).sum() / truth.sum() >= 0.6  # recall
    assert (flagged & truth).sum() / flagged.sum() >= 0.5  # precision
    assert roc_auc_score(truth, -report.quality) >= 0.85

"""Batch selection: strategy mixes, honest inclusion probabilities, provenance, cold start."""

from collections import Counter

import numpy as np
import pytest

from learning.ml.strategies import (
    MIN_AUDIT_SHARE,
    REASONS,
    StrategyMix,
    cold_start_batch,
    cold_start_design,
    draw,
    keyword_matches,
    select_batch,
    selection_design,
)

MIXED = StrategyMix(
    uncertainty=0.1, margin=0.1, entropy=0.1, multilabel=0.1, boundary=0.1, rare=0.3, audit=0.2
)


def pool(n=300, C=4, seed=0):
    return np.random.default_rng(seed).random((n, C))


def test_default_mix_is_valid_and_round_trips():
    mix = StrategyMix()

    assert mix.rare == 0.5 and mix.audit == 0.2 and mix.uncertainty == pytest.approx(0.3)
    assert StrategyMix.from_dict({**mix.as_dict(), "unknown": 1}) == mix


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ({"rare": 0.5, "audit": 0.2, "uncertainty": 0.0}, "sum to 1"),
        ({"rare": 0.8, "audit": 0.01, "uncertainty": 0.19}, "at least"),
        ({"rare": 1.1, "audit": 0.2, "uncertainty": -0.3}, "non-negative"),
        ({"multilabel_strategy": "bogus"}, "unknown multi-label strategy"),
        ({"spread": 0}, "spread"),
    ],
)
def test_bad_mixes_are_refused_with_a_clear_error(shares, message):
    with pytest.raises(ValueError, match=message):
        StrategyMix(**shares)


@pytest.mark.parametrize("multi_label", [True, False])
def test_every_pool_item_has_a_probability_in_0_1_summing_to_the_expected_size(multi_label):
    proba = pool()
    if not multi_label:
        proba /= proba.sum(axis=1, keepdims=True) * 1.25  # rows sum to 0.8: 0.2 none
    mix = MIXED if multi_label else StrategyMix(uncertainty=0.3, margin=0.2, rare=0.3, audit=0.2)

    design = selection_design(
        proba, multi_label=multi_label, gold_positive_counts=np.array([40, 3, 10, 0]),
        mix=mix, batch_size=25,
    )  # fmt: skip

    assert ((design.pi > 0) & (design.pi <= 1)).all()
    assert design.pi.min() >= 5 / 300  # the audit floor: b_a / N with b_a = round(0.2 · 25)
    assert design.pi_model.sum() == pytest.approx(20)  # b_m = 25 - 5
    assert design.pi.sum() == pytest.approx(design.expected_size)
    assert design.expected_size == pytest.approx(5 + 20 * (1 - 5 / 300))


def test_picks_carry_the_design_probability_and_a_known_reason():
    proba = pool()
    counts = np.array([40, 3, 10, 0])
    design = selection_design(
        proba, multi_label=True, gold_positive_counts=counts, mix=MIXED, batch_size=25
    )

    picks = select_batch(
        proba, multi_label=True, gold_positive_counts=counts, mix=MIXED, batch_size=25, seed=7
    )

    assert picks == draw(design, 7)
    assert 23 <= len(picks) <= 25  # short only by items both draws took
    assert [p.index for p in picks] == sorted({p.index for p in picks})
    for p in picks:
        assert p.reason in REASONS and p.inclusion_probability == pytest.approx(design.pi[p.index])
        assert (p.category is not None) == (p.reason in ("rare", "boundary"))
    assert Counter(p.reason for p in picks)["audit"] == 5  # the audit share, exactly


def test_inclusion_frequencies_match_the_probabilities_and_weighted_totals_are_unbiased():
    proba = pool(n=60, C=3, seed=1)
    counts = np.array([30, 1, 8])
    design = selection_design(
        proba, multi_label=True, gold_positive_counts=counts, mix=MIXED, batch_size=12
    )
    y = (proba[:, 1] > 0.7).astype(float)  # a "prevalence" the model-driven picks favour
    runs = 4000
    hits = np.zeros(60)
    estimates, naive = [], []
    for seed in range(runs):
        picked = np.array([p.index for p in draw(design, seed)])
        hits[picked] += 1
        estimates.append((y[picked] / design.pi[picked]).sum())  # Horvitz–Thompson total
        naive.append(y[picked].mean() * 60)  # as if the batch were a uniform sample

    # SE of a frequency <= sqrt(0.25 / 4000) ≈ 0.008; allow about 4.5 SE.
    assert np.abs(hits / runs - design.pi).max() < 0.036
    assert np.mean(estimates) == pytest.approx(y.sum(), rel=0.05)
    assert np.mean(naive) > 1.3 * y.sum()  # the unweighted estimate is biased: weights matter


def test_uncertainty_picks_items_near_one_half():
    proba = np.full((200, 1), 0.01)
    proba[100:, 0] = 0.99
    coin_tosses = [5, 50, 120, 150, 199]
    proba[coin_tosses, 0] = 0.5
    mix = StrategyMix(uncertainty=0.95, rare=0.0, audit=0.05)

    design = selection_design(
        proba, multi_label=True, gold_positive_counts=np.array([10]), mix=mix, batch_size=6
    )

    assert (design.pi_model[coin_tosses] > 0.95).all()
    others = np.setdiff1d(np.arange(200), coin_tosses)
    assert design.pi_model[others].max() < 0.01
    assert set(design.reason[coin_tosses]) == {"uncertainty"}


def test_rare_hunt_targets_the_category_with_the_fewest_gold_positives():
    proba = np.full((90, 3), 0.05)
    proba[0:10, 0] = proba[10:20, 1] = proba[20:30, 2] = 0.9
    mix = StrategyMix(uncertainty=0.0, rare=0.9, audit=0.1)

    design = selection_design(
        proba, multi_label=True, gold_positive_counts=np.array([50, 2, 20]), mix=mix,
        batch_size=10,
    )  # fmt: skip

    likely_rare = np.arange(10, 20)
    assert design.pi_model[likely_rare].min() > design.pi_model[np.arange(0, 10)].max()
    assert design.pi_model[likely_rare].sum() > 6  # most of the 9 model picks
    assert set(design.category[likely_rare]) == {1} and set(design.reason[likely_rare]) == {"rare"}
    assert design.score[10] == pytest.approx(0.9)


def test_rare_hunt_for_a_category_without_gold_positives_explores_by_entropy():
    # Category 0 has no gold positive: the model predicts it as a constant 0, which ranks
    # nothing. Its (large) share of the hunt goes to the items the model is least sure about.
    proba = np.zeros((100, 2))
    proba[:, 1] = np.linspace(0.01, 0.99, 100)  # item 49/50 nearest 0.5: highest entropy
    mix = StrategyMix(uncertainty=0.0, rare=0.9, audit=0.1)

    design = selection_design(
        proba, multi_label=True, gold_positive_counts=np.array([0, 1_000]), mix=mix,
        batch_size=10,
    )  # fmt: skip

    uncertain, sure = np.arange(45, 55), np.r_[0:5, 95:100]
    assert design.pi_model[uncertain].min() > 3 * design.pi_model[sure].max()
    assert (design.pi > 0).all() and design.pi_model.sum() == pytest.approx(9)
    assert set(design.reason[uncertain]) == {"rare"} and set(design.category[uncertain]) == {0}


def test_category_boundaries_give_every_category_an_equal_share_near_its_boundary():
    # Three categories, each with 10 items near its boundary (P = 0.5) and the rest sure
    # either way; category 2 is far more common in gold, which must not matter here.
    proba = np.full((120, 3), 0.02)
    proba[60:, :] = 0.98
    near = {c: np.arange(10 * c, 10 * c + 10) for c in range(3)}
    for c, rows in near.items():
        proba[rows, c] = 0.5
    mix = StrategyMix(uncertainty=0.0, boundary=0.9, rare=0.0, audit=0.1)

    design = selection_design(
        proba, multi_label=True, gold_positive_counts=np.array([1, 5, 500]), mix=mix,
        batch_size=10,
    )  # fmt: skip

    # b_m = 9 model picks, 3 expected per category, all on its boundary items
    for c, rows in near.items():
        assert design.pi_model[rows].sum() == pytest.approx(3, abs=0.3)
        assert set(design.reason[rows]) == {"boundary"} and set(design.category[rows]) == {c}
        assert design.score[rows[0]] == pytest.approx(1.0)
    sure = np.arange(30, 120)
    assert design.pi_model[sure].max() < 0.05
    assert design.pi.sum() == pytest.approx(design.expected_size) and (design.pi > 0).all()


def test_category_boundaries_need_a_multi_label_project():
    proba = pool(C=2) / 2.5
    with pytest.raises(ValueError, match="multi-label project"):
        selection_design(
            proba, multi_label=False, gold_positive_counts=np.array([3, 3]),
            mix=StrategyMix(uncertainty=0.0, boundary=0.8, rare=0.0, audit=0.2), batch_size=10,
        )  # fmt: skip


def test_same_seed_same_batch_other_seed_other_batch():
    proba = pool()
    kwargs = {"multi_label": True, "gold_positive_counts": np.array([1, 2, 3, 4]), "mix": MIXED}

    a = select_batch(proba, batch_size=20, seed=11, **kwargs)
    b = select_batch(proba, batch_size=20, seed=11, **kwargs)
    c = select_batch(proba, batch_size=20, seed=12, **kwargs)

    assert a == b and a != c


def test_a_batch_as_large_as_the_pool_takes_everything_with_certainty():
    picks = select_batch(
        pool(n=8), multi_label=True, gold_positive_counts=np.zeros(4), mix=MIXED, batch_size=50,
        seed=0,
    )  # fmt: skip

    assert [p.index for p in picks] == list(range(8))
    assert {p.inclusion_probability for p in picks} == {1.0}


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="multi-label project"):
        select_batch(
            pool(), multi_label=False, gold_positive_counts=np.zeros(4), mix=MIXED,
            batch_size=5, seed=0,
        )  # fmt: skip
    with pytest.raises(ValueError, match=r"gold_positive_counts \(C,\)"):
        select_batch(
            pool(), multi_label=True, gold_positive_counts=np.zeros(3), mix=MIXED,
            batch_size=5, seed=0,
        )  # fmt: skip
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        select_batch(
            np.full((5, 4), np.nan), multi_label=True, gold_positive_counts=np.zeros(4),
            mix=MIXED, batch_size=2, seed=0,
        )  # fmt: skip
    with pytest.raises(ValueError, match="non-negative"):
        select_batch(
            pool(), multi_label=True, gold_positive_counts=np.array([1, -1, 0, 0]), mix=MIXED,
            batch_size=2, seed=0,
        )  # fmt: skip
    with pytest.raises(ValueError, match="batch_size"):
        select_batch(
            pool(), multi_label=True, gold_positive_counts=np.zeros(4), mix=MIXED,
            batch_size=0, seed=0,
        )  # fmt: skip


def test_keyword_matching_is_whole_word_case_insensitive_and_reads_urls():
    texts = ["Cheap CASINO bonus", "casinos everywhere", "a (c++) forum", "plain"]
    urls = ["", "", "", "https://casino.example.com"]

    hits = keyword_matches(texts, urls, ["casino", "bonus", "c++", " "])

    assert hits.tolist() == [2, 0, 1, 1]


def cold_pool(n=200):
    texts = [f"ordinary post number {i}" for i in range(n)]
    for i in range(0, 12):
        texts[i] = f"online casino offer {i}"
    for i in range(12, 16):
        texts[i] = f"sharp knife story {i}"
    return texts, [""] * n


def test_cold_start_mixes_keyword_seeds_with_a_random_audit_share():
    texts, urls = cold_pool()
    seeds = {0: ["casino"], 3: ["knife", "blade"], 4: ["no-such-word"]}

    design = cold_start_design(texts, urls, seeds=seeds, batch_size=10, audit_share=0.2)
    picks = cold_start_batch(texts, urls, seeds=seeds, batch_size=10, audit_share=0.2, seed=3)

    assert design.pi_model[12:16] == pytest.approx([1.0] * 4)  # 4 of 8 seed picks: all knives
    assert design.pi_model[0:12] == pytest.approx([4 / 12] * 12)  # the other 4 among 12
    assert design.pi.sum() == pytest.approx(design.expected_size)
    assert ((design.pi > 0) & (design.pi <= 1)).all()
    seeded = [p for p in picks if p.reason == "seed"]
    assert {p.category for p in seeded} <= {0, 3} and all(p.index < 16 for p in seeded)
    assert Counter(p.reason for p in picks)["audit"] == 2
    assert all(p.inclusion_probability == pytest.approx(design.pi[p.index]) for p in picks)


def test_cold_start_without_matches_is_a_uniform_sample():
    texts, urls = cold_pool()

    picks = cold_start_batch(texts, urls, seeds={}, batch_size=10, audit_share=0.2, seed=0)

    assert len(picks) == 10 and {p.reason for p in picks} == {"audit"}
    assert [p.inclusion_probability for p in picks] == pytest.approx([10 / 200] * 10)


def test_cold_start_validates_its_audit_share():
    texts, urls = cold_pool()
    with pytest.raises(ValueError, match="audit share"):
        cold_start_batch(
            texts, urls, seeds={}, batch_size=5, audit_share=MIN_AUDIT_SHARE / 2, seed=0
        )


def test_constant_scores_and_tiny_shares_spread_evenly_instead_of_failing():
    proba = np.full((50, 2), 0.3)  # e.g. a category without positives: a constant prediction
    mix = StrategyMix(uncertainty=0.0, rare=0.95, audit=0.05)

    design = selection_design(
        proba, multi_label=True, gold_positive_counts=np.array([0, 10_000]), mix=mix,
        batch_size=20,
    )  # fmt: skip

    assert np.isfinite(design.pi).all()
    assert design.pi_model == pytest.approx([19 / 50] * 50)

"""Probability-sampling primitives: capped PPS probabilities, systematic PPS, simple random."""

import numpy as np
import pytest

from learning.ml.sampling import capped_inclusion, simple_random, systematic_pps


def test_capped_inclusion_is_proportional_sums_to_the_size_and_caps_at_one():
    weights = np.array([100.0, 1, 1, 1, 1, 0])

    pi = capped_inclusion(weights, 3)

    assert pi[0] == 1.0  # would be 2.9 uncapped: certain, the rest share 2 picks
    assert pi[1:5] == pytest.approx([0.5] * 4)
    assert pi[5] == 0.0 and pi.sum() == pytest.approx(3)


def test_capped_inclusion_cascades_and_handles_small_pools():
    pi = capped_inclusion(np.array([50.0, 40, 5, 3, 1, 1]), 3)
    assert pi[:2].tolist() == [1.0, 1.0] and pi.sum() == pytest.approx(3)
    assert capped_inclusion(np.array([1.0, 0, 2]), 5).tolist() == [1.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="non-negative"):
        capped_inclusion(np.array([1.0, -1]), 1)


def test_systematic_pps_has_fixed_size_and_the_given_inclusion_probabilities():
    pi = capped_inclusion(np.array([9.0, 5, 3, 2, 1, 1, 1, 0.5, 0.5, 0]), 4)
    runs = 6_000
    hits = np.zeros(len(pi))
    for seed in range(runs):
        sample = systematic_pps(pi, np.random.default_rng(seed))
        assert len(sample) == 4 and len(set(sample.tolist())) == 4
        hits[sample] += 1

    assert hits[-1] == 0  # π = 0 is never drawn
    # Binomial standard error is at most sqrt(0.25 / runs) ≈ 0.0065; allow 4.6 of them.
    assert np.abs(hits / runs - pi).max() < 0.03


def test_simple_random_sample_is_without_replacement_and_seeded():
    a = simple_random(50, 10, np.random.default_rng(1))

    assert len(set(a.tolist())) == 10 and a.tolist() == sorted(a.tolist())
    assert np.array_equal(a, simple_random(50, 10, np.random.default_rng(1)))

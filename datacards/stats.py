"""Interval estimates for the data card (pure Python, no Django).

Prevalence of a category in a version:

- Unweighted: k positives of n items, Wilson score interval (z = 1.96). It stays inside [0, 1]
  and behaves at k = 0 and for the rare categories a content-safety set is about.
- Weighted, where active learning picked items with inclusion probabilities π_i < 1: the Hájek
  estimator p̂ = Σ w_i y_i / Σ w_i with w_i = 1 / (π_i f_i), f_i the labeled fraction of the
  item's batch (the effective inclusion probability π_i f_i, see `services/batches.py`; w = 1
  for items without a probability: uniformly sampled). Its variance by Taylor linearisation,
  treating the sample as drawn with replacement (the usual conservative approximation for
  unequal-probability designs):

      V̂(p̂) = Σ w_i² (y_i − p̂)² / (Σ w_i)²

  The interval is the Wilson interval at p̂ with the effective sample size
  n_eff = p̂ (1 − p̂) / V̂ (the design effect folded into n), which keeps it inside [0, 1] and
  asymmetric near 0 like the unweighted one. Where V̂ = 0 (p̂ = 0 or 1) Kish's
  n_eff = (Σ w)² / Σ w² is used instead. The sums are accumulated in one streaming pass:
  Σ w² (y − p̂)² = (1 − 2p̂) Σ w² y + p̂² Σ w² because y ∈ {0, 1}.
"""

from __future__ import annotations

from dataclasses import dataclass

# One Wilson implementation for the apps (annotation.intervals); re-exported here, where the
# card's figures import it from.
from annotation.intervals import Z95, Interval, wilson

__all__ = ["Z95", "Interval", "PairCounts", "WeightedSums", "hajek", "wilson"]


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


@dataclass
class WeightedSums:
    """Running sums for the Hájek prevalence of one category."""

    sum_w: float = 0.0
    sum_w2: float = 0.0
    sum_wy: float = 0.0
    sum_w2y: float = 0.0

    def add(self, weight: float, positive: bool) -> None:
        self.sum_w += weight
        w2 = weight * weight
        self.sum_w2 += w2
        if positive:
            self.sum_wy += weight
            self.sum_w2y += w2


def hajek(sums: WeightedSums, z: float = Z95) -> tuple[Interval, float | None]:
    """(Hájek prevalence with its Wilson interval at the effective size, n_eff)."""
    if sums.sum_w <= 0:
        return Interval(None, None, None), None
    p = sums.sum_wy / sums.sum_w
    variance = ((1 - 2 * p) * sums.sum_w2y + p * p * sums.sum_w2) / (sums.sum_w**2)
    # Linearised effective size; Kish's where the variance vanishes (p̂ = 0 or 1).
    kish = sums.sum_w**2 / sums.sum_w2
    n_eff = p * (1 - p) / variance if variance > 0 and 0 < p < 1 else kish
    interval = wilson(p * n_eff, n_eff, z)
    return Interval(p, interval.low, interval.high), n_eff


@dataclass
class PairCounts:
    """Annotator-pair agreement on one category, pooled over items: for an item with m deciding
    annotations of which k chose the category, C(k,2) pairs both chose it, k(m−k) pairs split
    and C(m−k,2) pairs both did not."""

    both_yes: int = 0
    split: int = 0
    both_no: int = 0

    def add(self, positives: int, deciding: int) -> None:
        k, m = positives, deciding
        self.both_yes += k * (k - 1) // 2
        self.split += k * (m - k)
        self.both_no += (m - k) * (m - k - 1) // 2

    def as_dict(self) -> dict:
        pairs = self.both_yes + self.split + self.both_no
        positive_den = 2 * self.both_yes + self.split
        return {
            "pairs": pairs,
            "both_yes": self.both_yes,
            "split": self.split,
            "both_no": self.both_no,
            "percent": _r((self.both_yes + self.both_no) / pairs) if pairs else None,
            "positive": _r(2 * self.both_yes / positive_den) if positive_den else None,
        }

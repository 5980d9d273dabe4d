"""Interval estimates of a proportion, shared by the apps (pure Python: no Django, no numpy).

It lives in `annotation`, the app `datacards` and `learning` both build on, so each can import
it without depending on the other: the data card's prevalence (`datacards.stats`) and the
label-noise review's measured precision (`learning.selectors.noise`) use this one function. An
import-linter contract keeps the module free of Django and of the other apps.

Wilson score interval (z = 1.96 by default): it stays inside [0, 1] and behaves at k = 0 and
with the handful of observations a rare category or an early review has, where the normal
approximation does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    """A point estimate with its interval; all None where there is nothing to estimate from."""

    value: float | None
    low: float | None
    high: float | None

    def as_dict(self) -> dict:
        """Rounded to 6 digits: the form stored in data cards."""
        return {"value": _r(self.value), "low": _r(self.low), "high": _r(self.high)}

    def as_raw_dict(self) -> dict:
        """Unrounded {"value", "low", "high"}."""
        return {"value": self.value, "low": self.low, "high": self.high}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def wilson(successes: float, n: float, z: float = Z95) -> Interval:
    """Wilson score interval of `successes` out of `n`; n may be an effective (non-integer)
    size. n ≤ 0 gives an interval of Nones."""
    if n <= 0:
        return Interval(None, None, None)
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(max(0.0, p * (1 - p) / n + z2 / (4 * n * n))) / denom
    return Interval(p, max(0.0, center - half), min(1.0, center + half))

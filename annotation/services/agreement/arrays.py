"""The inputs of an agreement snapshot as plain arrays, and small helpers on 2×2 tables.

`load.py` fills these from the database in bulk; `figures.py` and `quality.py` compute on them
without touching Django, so they can be tested on hand-built arrays.

Classes: the project's categories in display order, then one extra class "None of these"
(key `none`). A label matrix has one boolean column per class; an annotation whose row is all
False made no decision (an "unsure" without categories) and counts as missing data everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

NONE_KEY = "none"
NONE_NAME = "None of these"

# GoldLabel.source as small integers in `GoldArrays.source`.
SOURCE_CONSENSUS, SOURCE_ADJUDICATION, SOURCE_KNOWN = 0, 1, 2
SOURCE_CODES = {"consensus": SOURCE_CONSENSUS, "adjudication": SOURCE_ADJUDICATION}
SOURCE_CODES["known"] = SOURCE_KNOWN


@dataclass(frozen=True)
class ClassInfo:
    key: str  # "c<category id>" or "none"
    name: str
    category_id: int | None
    active: bool = True


@dataclass(frozen=True)
class AnnotationArrays:
    """One row per annotation of the project. `labels` is (n, n_classes) bool."""

    item: np.ndarray  # int64 item ids
    annotator: np.ndarray  # int64 user ids
    time_ms: np.ndarray  # int64, 0 = not measured
    gold_question: np.ndarray  # bool: the item is a gold question
    labels: np.ndarray  # bool (n, n_classes), last column "none of these"

    @property
    def decided(self) -> np.ndarray:
        return self.labels.any(axis=1)

    def __len__(self) -> int:
        return int(self.item.size)


@dataclass(frozen=True)
class GoldArrays:
    """One row per current gold label of the project."""

    item: np.ndarray  # int64 item ids
    source: np.ndarray  # int8 SOURCE_* codes
    decided_by: np.ndarray  # int64 user id of the deciding lead, 0 when none
    labels: np.ndarray  # bool (g, n_classes)


@dataclass(frozen=True)
class Params:
    n_boot: int = 1000
    seed: int = 0
    level: float = 0.95
    gold_alert_threshold: float = 0.8
    gold_alert_min_answers: int = 5
    max_pairs: int = 100  # annotator pairs kept per category in the confusion view


@dataclass(frozen=True)
class Inputs:
    classes: list[ClassInfo]
    annotations: AnnotationArrays
    gold: GoldArrays
    multi_label: bool
    usernames: dict[int, str] = field(default_factory=dict)
    skips: dict[int, int] = field(default_factory=dict)  # user id -> skipped leases


def empty_annotations(n_classes: int) -> AnnotationArrays:
    i = np.empty(0, dtype=np.int64)
    return AnnotationArrays(
        item=i, annotator=i, time_ms=i, gold_question=np.empty(0, dtype=bool),
        labels=np.empty((0, n_classes), dtype=bool),
    )  # fmt: skip


def empty_gold(n_classes: int) -> GoldArrays:
    i = np.empty(0, dtype=np.int64)
    return GoldArrays(
        item=i, source=np.empty(0, dtype=np.int8), decided_by=i,
        labels=np.empty((0, n_classes), dtype=bool),
    )  # fmt: skip


def row_codes(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, patterns) of a bool matrix: codes[i] is the index in `patterns` of row i.

    Rows are packed into integers first: np.unique(..., axis=0) on a million rows takes
    seconds, on a million int64 a few tens of milliseconds."""
    n, width = rows.shape
    if width <= 62:
        packed = rows.astype(np.int64) @ (np.int64(1) << np.arange(width, dtype=np.int64))
        keys, codes = np.unique(packed, return_inverse=True)
        patterns = ((keys[:, None] >> np.arange(width, dtype=np.int64)) & 1).astype(bool)
        return codes.ravel(), patterns
    patterns, codes = np.unique(rows, axis=0, return_inverse=True)
    return codes.ravel(), patterns


# --- 2×2 tables -------------------------------------------------------------------------------


def ratio(num: float, den: float) -> float | None:
    """num / den, or None when the denominator is 0 (never NaN)."""
    if not den:
        return None
    value = float(num) / float(den)
    return value if math.isfinite(value) else None


def table_stats(n11: int, n10: int, n01: int, n00: int) -> dict:
    """Percent agreement, Cohen's kappa and positive-specific agreement of one 2×2 table
    (rows: the first rater yes/no, columns: the second rater yes/no).

    Kappa is None when there are no pairs or when both raters gave one and the same label to
    everything (chance agreement 1: kappa is 0/0). Positive agreement 2a / (2a + b + c) is None
    when neither rater ever said yes; it is the figure that stays honest for a rare category,
    where percent agreement is high by the negatives alone.
    """
    n11, n10, n01, n00 = int(n11), int(n10), int(n01), int(n00)
    n = n11 + n10 + n01 + n00
    out = {"n": n, "n11": n11, "n10": n10, "n01": n01, "n00": n00}
    out["percent"] = ratio(n11 + n00, n)
    out["positive"] = ratio(2 * n11, 2 * n11 + n10 + n01)
    kappa = None
    if n:
        po = (n11 + n00) / n
        pe = ((n11 + n10) * (n11 + n01) + (n01 + n00) * (n10 + n00)) / (n * n)
        kappa = ratio(po - pe, 1.0 - pe) if pe < 1.0 else None
    out["kappa"] = kappa
    return out


def finite(obj):
    """A JSON-safe copy: numpy scalars to Python numbers, NaN and infinities to None.

    The metrics never return NaN; this is the last guard before a snapshot is stored, because a
    NaN in JSON breaks PostgreSQL's jsonb and every JavaScript reader.
    """
    if isinstance(obj, dict):
        return {str(k): finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj

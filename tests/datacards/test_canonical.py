"""The canonical row form and the card's interval estimates (no database)."""

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from datacards.canonical import CANONICAL_JSON, canonical_line, iso, metadata_canonical, record
from datacards.stats import PairCounts, WeightedSums, hajek, wilson

ROW = (
    "ü-1",
    'Tab\there, newline\nquote " backslash \\ <script>alert(1)</script> \u2028 ☃ \x01',
    "https://example.org/ä",
    "",
    metadata_canonical('{"z": 1, "a": {"y": [1.5, "x"], "b": null}}'),
    '["Hate","Violence"]',
    False,
    "adjudication",
    "A002",
    datetime(2026, 3, 1, 12, 0, 0, 5, tzinfo=UTC),
    'Threat, "not" hate.',
    "§4.2",
    3,
    '[{"annotator":"A001","labels":["Hate"],"none_of_these":false,"unsure":false}]',
    '{"Hate":0.5,"Violence":1.0}',
    0.0,
    "uncertainty",
    7,
    0.25,
    4.0,
)


def test_canonical_line_is_the_sorted_compact_json_of_the_record():
    line = canonical_line(ROW)

    assert line == json.dumps(record(ROW), **CANONICAL_JSON)
    assert json.loads(line)["text"] == ROW[1]


def test_canonical_line_with_nulls_and_sqlite_shaped_values():
    # SQLite's raw cursor gives 0/1 for booleans and naive UTC datetimes.
    row = list(ROW)
    row[6], row[8], row[9] = 1, "", datetime(2026, 3, 1, 12, 0, 0)
    row[14], row[15], row[17], row[18], row[19] = "null", None, None, None, 1
    line = canonical_line(tuple(row))

    assert line == json.dumps(record(tuple(row)), **CANONICAL_JSON)
    data = json.loads(line)
    assert data["none_of_these"] is True and data["gold_decided_by"] is None
    assert data["weight"] == 1.0 and '"weight":1.0' in line
    assert data["gold_decided_at"] == "2026-03-01T12:00:00.000000Z"


def test_iso_normalises_time_zones_and_text():
    cet = timezone(timedelta(hours=1))
    assert iso(datetime(2026, 3, 1, 13, 0, tzinfo=cet)) == "2026-03-01T12:00:00.000000Z"
    assert iso("2026-03-01 12:00:00.5") == "2026-03-01T12:00:00.500000Z"
    assert iso(None) is None


def test_metadata_key_order_does_not_matter():
    assert metadata_canonical({"b": 1, "a": 2}) == metadata_canonical('{"a": 2, "b": 1}')
    assert metadata_canonical(None) == "{}"


def test_wilson_matches_the_formula():
    k, n, z = 3, 40, 1.959963984540054
    p = k / n
    center = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)

    est = wilson(k, n)

    assert est.value == pytest.approx(0.075)
    assert est.low == pytest.approx(center - half)
    assert est.high == pytest.approx(center + half)
    assert wilson(0, 10).low == 0.0 and wilson(0, 0).value is None


def test_hajek_with_equal_weights_is_the_plain_proportion():
    sums = WeightedSums()
    for i in range(50):
        sums.add(1.0, i < 5)

    interval, n_eff = hajek(sums)

    assert interval.value == pytest.approx(0.1)
    assert n_eff == pytest.approx(50)
    plain = wilson(5, 50)
    assert (interval.low, interval.high) == pytest.approx((plain.low, plain.high))


def test_hajek_weights_and_linearised_variance():
    data = [(4.0, True), (1.0, False), (1.0, True), (2.0, False)]
    sums = WeightedSums()
    for w, y in data:
        sums.add(w, y)
    p = (4 + 1) / 8
    variance = sum(w * w * (y - p) ** 2 for w, y in data) / 8**2

    interval, n_eff = hajek(sums)

    assert interval.value == pytest.approx(p)
    assert n_eff == pytest.approx(p * (1 - p) / variance)


def test_pair_counts():
    counts = PairCounts()
    counts.add(positives=2, deciding=3)  # pairs: 1 yes-yes, 2 split, 0 no-no
    counts.add(positives=0, deciding=2)  # 1 no-no

    out = counts.as_dict()

    assert (out["both_yes"], out["split"], out["both_no"], out["pairs"]) == (1, 2, 1, 4)
    assert out["percent"] == 0.5
    assert out["positive"] == 0.5

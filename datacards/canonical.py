"""The canonical form of a version's rows: one JSON object per line, keys sorted, no spaces,
non-ASCII kept as UTF-8, floats as Python's shortest round-trip repr, datetimes as
`YYYY-MM-DDTHH:MM:SS.ffffffZ`, rows in code point order of `id` (the item's external id).

The content hash of a version is the SHA-256 of exactly these bytes, and the JSONL export
(without splits) *is* these bytes, so `sha256sum` of that file gives the version's hash.

`ROW_COLUMNS` is the column list every reader selects, in this order; `canonical_line` builds the
line from such a row by string assembly (the nested values are stored as canonical JSON already),
and `record` builds the same object as a dict: tests check that
`json.dumps(record(row), **CANONICAL_JSON) == canonical_line(row)`. No Django here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from json.encoder import encode_basestring as _s  # ensure_ascii=False string encoder

CANONICAL_JSON = {"sort_keys": True, "ensure_ascii": False, "separators": (",", ":")}

ROW_COLUMNS = (
    "external_id",
    "text",
    "url",
    "title",
    "metadata_json",
    "labels_json",
    "none_of_these",
    "gold_source",
    "gold_decided_by",
    "gold_decided_at",
    "gold_rationale",
    "gold_guideline_ref",
    "gold_guidelines_version",
    "annotations_json",
    "soft_labels_json",
    "soft_none_of_these",
    "selection_reason",
    "selection_run_id",
    "inclusion_probability",
    "weight",
)

# The exported columns, in the order CSV and Parquet write them (JSONL sorts its keys).
EXPORT_FIELDS = (
    "id",
    "text",
    "url",
    "title",
    "metadata",
    "labels",
    "none_of_these",
    "gold_source",
    "gold_decided_by",
    "gold_decided_at",
    "gold_rationale",
    "gold_guideline_ref",
    "gold_guidelines_version",
    "annotations",
    "soft_labels",
    "soft_none_of_these",
    "selection_reason",
    "selection_run_id",
    "inclusion_probability",
    "weight",
)


# One encoder for every call: json.dumps with options builds a new encoder each time, which
# cost more than the encoding itself in the freeze's loop.
_ENCODER = json.JSONEncoder(**CANONICAL_JSON)


def dumps(value) -> str:
    """Canonical JSON of any JSON-ready value."""
    return _ENCODER.encode(value)


def iso(value: datetime | str | None) -> str | None:
    """A stored datetime in the one canonical text form. SQLite's raw cursor may hand back a
    naive datetime (UTC) or a string; PostgreSQL an aware one."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == 27 and value[10] == "T" and value[-1] == "Z":
            return value  # canonical already (PostgreSQL's to_char, the stored rows)
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _num(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        raise TypeError("booleans are not numbers here")
    if isinstance(value, int):
        return int.__repr__(value)
    return float.__repr__(float(value))


def _opt_float(value) -> float | None:
    return None if value is None else float(value)


def canonical_line(row) -> str:
    """The canonical JSON line (without newline) of a row selected as ROW_COLUMNS."""
    (
        external_id, text, url, title, metadata_json, labels_json, none_of_these, source,
        decided_by, decided_at, rationale, guideline_ref, guidelines_version, annotations_json,
        soft_json, soft_none, reason, run_id, probability, weight,
    ) = row  # fmt: skip
    return "".join(
        (
            '{"annotations":', annotations_json,
            ',"gold_decided_at":', _s(iso(decided_at)),
            ',"gold_decided_by":', _s(decided_by) if decided_by else "null",
            ',"gold_guideline_ref":', _s(guideline_ref or ""),
            ',"gold_guidelines_version":', _num(int(guidelines_version)),
            ',"gold_rationale":', _s(rationale or ""),
            ',"gold_source":', _s(source),
            ',"id":', _s(external_id),
            ',"inclusion_probability":', _num(_opt_float(probability)),
            ',"labels":', labels_json,
            ',"metadata":', metadata_json,
            ',"none_of_these":', "true" if none_of_these else "false",
            ',"selection_reason":', _s(reason),
            ',"selection_run_id":', _num(None if run_id is None else int(run_id)),
            ',"soft_labels":', soft_json,
            ',"soft_none_of_these":', _num(_opt_float(soft_none)),
            ',"text":', _s(text),
            ',"title":', _s(title or ""),
            ',"url":', _s(url or ""),
            ',"weight":', _num(float(weight)),
            "}",
        )
    )  # fmt: skip


def record(row) -> dict:
    """The same row as a dict with the exported field names (nested values parsed)."""
    (
        external_id, text, url, title, metadata_json, labels_json, none_of_these, source,
        decided_by, decided_at, rationale, guideline_ref, guidelines_version, annotations_json,
        soft_json, soft_none, reason, run_id, probability, weight,
    ) = row  # fmt: skip
    return {
        "id": external_id,
        "text": text,
        "url": url or "",
        "title": title or "",
        "metadata": json.loads(metadata_json),
        "labels": json.loads(labels_json),
        "none_of_these": bool(none_of_these),
        "gold_source": source,
        "gold_decided_by": decided_by or None,
        "gold_decided_at": iso(decided_at),
        "gold_rationale": rationale or "",
        "gold_guideline_ref": guideline_ref or "",
        "gold_guidelines_version": int(guidelines_version),
        "annotations": json.loads(annotations_json),
        "soft_labels": json.loads(soft_json),
        "soft_none_of_these": _opt_float(soft_none),
        "selection_reason": reason,
        "selection_run_id": None if run_id is None else int(run_id),
        "inclusion_probability": _opt_float(probability),
        "weight": float(weight),
    }


def metadata_canonical(value) -> str:
    """An item's metadata (a dict, or JSON text as PostgreSQL's jsonb loader gives it) as
    canonical JSON: PostgreSQL reorders jsonb keys, so only sorted keys compare across
    databases."""
    if value is None or value == "{}":
        return "{}"
    if isinstance(value, str | bytes):
        value = json.loads(value)
    return _ENCODER.encode(value)

"""Column mapping and per-row validation, shared by file imports and the API's bulk import.

`mapping_resolve` turns the user's mapping (or the guesses) into a `Mapping` of column names;
`RowCleaner.clean` turns one raw row into a `CleanRow` or returns the reason it is bad. Both
passes of an import call the same cleaner, so what pass 1 accepted is exactly what pass 2 writes.
"""

import datetime
import decimal
import hashlib
import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from .readers import FileProblem

FIELDS = ("id", "text", "url", "title", "labels", "metadata")
GUESSES = {
    "id": ("id", "external_id", "item_id"),
    "text": ("text", "content", "body"),
    "url": ("url", "link"),
    "title": ("title",),
    "labels": ("labels", "label", "categories"),
}
REQUIRED = ("id", "text")
ID_MAX_CHARS = 255


@dataclass(frozen=True)
class Mapping:
    id: str
    text: str
    url: str | None
    title: str | None
    labels: str | None
    metadata: tuple[str, ...] | None  # None: every unmapped column ("*")

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "text": self.text,
            "url": self.url,
            "title": self.title,
            "labels": self.labels,
            "metadata": "*" if self.metadata is None else list(self.metadata),
        }


def mapping_normalise(mapping: dict | None) -> dict:
    """Validate the shape of a user mapping (before the file is read)."""
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise FileProblem(f"Unknown mapping key(s) {', '.join(unknown)}; use {', '.join(FIELDS)}.")
    clean: dict = {}
    for key, value in mapping.items():
        if key == "metadata":
            if value in (None, "", "*"):
                clean[key] = "*"
            elif isinstance(value, str):
                clean[key] = [c.strip() for c in value.split(",") if c.strip()]
            elif isinstance(value, (list, tuple)) and all(isinstance(c, str) for c in value):
                clean[key] = [c.strip() for c in value if c.strip()]
            else:
                raise FileProblem("Map metadata to a list of column names, or '*' for all.")
        elif value in (None, ""):
            continue
        elif isinstance(value, str):
            clean[key] = value.strip()
        else:
            raise FileProblem(f"Map '{key}' to a column name.")
    return clean


def mapping_resolve(mapping: dict | None, columns: list[str], *, sparse: bool = False) -> Mapping:
    """Pick the column for each field: the user's choice, else the first guess present.

    `sparse`: the columns come from the first record only (JSON Lines), so an optional field
    none of whose guesses is there still reads its usual name ("url", "title", "labels") from
    the records that have it.
    """
    mapping = mapping_normalise(mapping)
    present = set(columns)
    by_lower = {c.lower(): c for c in reversed(columns)}
    found = ", ".join(f"'{c}'" for c in columns) or "(none)"
    chosen: dict[str, str | None] = {}
    for field in ("id", "text", "url", "title", "labels"):
        column = mapping.get(field)
        if column:
            if column not in present and not (sparse and field not in REQUIRED):
                raise FileProblem(
                    f"The column '{column}' mapped to {field} is not in the file. "
                    f"Columns found: {found}."
                )
        else:
            column = next((by_lower[g] for g in GUESSES[field] if g in by_lower), None)
            if column is None and sparse and field not in REQUIRED:
                column = GUESSES[field][0]
        chosen[field] = column
    missing = [f for f in REQUIRED if not chosen[f]]
    if missing:
        looked = "; ".join(f"{f}: {', '.join(GUESSES[f])}" for f in missing)
        raise FileProblem(
            f"No column for {' and '.join(missing)} (looked for {looked}). Columns found: "
            f"{found}. Name the column{'s' if len(missing) > 1 else ''} in the mapping, or "
            "check that the first line of a CSV file is a header."
        )
    metadata = mapping.get("metadata", "*")
    if metadata == "*":
        meta_cols = None
    else:
        absent = [] if sparse else [c for c in metadata if c not in present]
        if absent:
            raise FileProblem(
                f"Metadata column(s) {', '.join(repr(c) for c in absent)} not in the file. "
                f"Columns found: {found}."
            )
        meta_cols = tuple(metadata)
    return Mapping(metadata=meta_cols, **chosen)  # type: ignore[arg-type]


class CleanRow(NamedTuple):
    external_id: str
    text: str
    url: str
    title: str
    metadata_json: str  # "{}" when empty
    labels_json: str | None  # JSON list of category names, or None when the row had none


def content_hash(text: str, url: str) -> str:
    return hashlib.sha256(f"{text}\n{url}".encode()).hexdigest()


def priority_for(project_id: int, external_id: str) -> float:
    """Deterministic uniform value in [0, 1): the queue's random order without random().

    The top 53 bits of sha256 fill a float's mantissa exactly, so the value never rounds up
    to 1.0 (dividing all 64 bits by 2**64 can).
    """
    digest = hashlib.sha256(f"{project_id}:{external_id}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / 9007199254740992.0


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


# One encoder for every row: json.dumps with options builds a new encoder per call.
_METADATA_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=_json_default)
_LABELS_ENCODER = json.JSONEncoder(ensure_ascii=False)
_quote = json.encoder.encode_basestring  # JSON string literal, C implementation


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        float: "a number",
        int: "a number",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


class RowCleaner:
    """Validates rows of one import against the mapping and the project's categories."""

    def __init__(
        self, *, mapping: Mapping, columns: list[str], categories: list[str], text_max_chars: int
    ):
        self.mapping = mapping
        self.text_max = text_max_chars
        self.categories = {name.lower(): name for name in categories}
        self.category_list = ", ".join(categories) or "(none defined)"
        mapped = {
            c for c in (mapping.id, mapping.text, mapping.url, mapping.title, mapping.labels) if c
        }
        self.mapped = mapped
        self.meta_fixed = mapping.metadata
        # CSV/Parquet: the same columns on every row, so the metadata columns are fixed.
        if self.meta_fixed is None and columns:
            self.meta_fixed_star = tuple(c for c in columns if c not in mapped)
        else:
            self.meta_fixed_star = None

    def clean(self, row: dict, *, uniform_columns: bool) -> CleanRow | str:  # noqa: C901
        """The row ready to store, or the reason it is bad (hot path: kept flat on purpose)."""
        m = self.mapping
        raw_id = row.get(m.id)
        if type(raw_id) is str:
            external_id = raw_id.strip()
        elif type(raw_id) is int:
            external_id = str(raw_id)
        elif raw_id is None:
            external_id = ""
        else:
            return f"id must be a string or an integer, not {_type_name(raw_id)}"
        if not external_id:
            return f"missing id (column '{m.id}')"
        if len(external_id) > ID_MAX_CHARS:
            return f"id is longer than {ID_MAX_CHARS} characters"

        text = row.get(m.text)
        if type(text) is not str:
            if text is None:
                return f"missing text (column '{m.text}')"
            return f"text must be a string, not {_type_name(text)}"
        if len(text) > self.text_max:
            return f"text has {len(text):,} characters; the limit is {self.text_max:,}"
        if text.isspace() or not text:
            return f"empty text (column '{m.text}')"

        url = row.get(m.url, "") if m.url else ""
        if type(url) is not str:
            if url is not None:
                return f"url must be a string, not {_type_name(url)}"
            url = ""
        url = url.strip()
        title = row.get(m.title, "") if m.title else ""
        if type(title) is not str:
            if title is not None:
                return f"title must be a string, not {_type_name(title)}"
            title = ""

        if "\x00" in text or "\x00" in external_id or "\x00" in url or "\x00" in title:
            for name, value in (
                ("id", external_id),
                ("text", text),
                ("url", url),
                ("title", title),
            ):
                if "\x00" in value:
                    return f"a NUL byte (\\x00) in {name}, which the database cannot store"

        labels_json = None
        if m.labels:
            labels = self._labels(row.get(m.labels))
            if type(labels) is str:
                return labels
            if labels is not None:
                labels_json = _LABELS_ENCODER.encode(labels)

        meta = self._metadata(row, uniform_columns)
        if not meta:
            metadata_json = "{}"
        elif all(type(v) is str for v in meta.values()):
            # CSV: every value is a string; build the JSON without the general encoder.
            metadata_json = (
                "{" + ", ".join(f"{_quote(k)}: {_quote(v)}" for k, v in meta.items()) + "}"
            )
        else:
            try:
                metadata_json = _METADATA_ENCODER.encode(meta)
            except (TypeError, ValueError) as exc:
                return f"metadata that is not JSON serialisable ({exc})"
        if "\\u0000" in metadata_json:
            return "a NUL byte (\\x00) in metadata, which the database cannot store"
        return CleanRow(external_id, text, url, title, metadata_json, labels_json)

    def _metadata(self, row: dict, uniform_columns: bool) -> dict:
        if self.meta_fixed is not None:
            cols = self.meta_fixed
        elif uniform_columns and self.meta_fixed_star is not None:
            cols = self.meta_fixed_star
        else:
            mapped = self.mapped
            return {
                str(k): v for k, v in row.items() if k not in mapped and v is not None and v != ""
            }
        meta = {}
        for c in cols:
            v = row.get(c)
            if v is not None and v != "":
                meta[c] = v
        return meta

    def _labels(self, value: Any) -> list[str] | str | None:
        if value is None:
            return None
        if isinstance(value, str):
            stripped = value.strip()
            if not stripped:
                return None
            if stripped.startswith("["):
                try:
                    value = json.loads(stripped)
                except ValueError:
                    return "labels look like a JSON list but are not valid JSON"
            else:
                sep = "|" if "|" in stripped else ";"
                value = [part for part in stripped.split(sep)]
        if not isinstance(value, (list, tuple)):
            return (
                f"labels must be a list or a string like 'Hate|Violence', not {_type_name(value)}"
            )
        names: list[str] = []
        for label in value:
            if not isinstance(label, str):
                return f"labels must be category names, not {_type_name(label)}"
            label = label.strip()
            if not label:
                continue
            name = self.categories.get(label.lower())
            if name is None:
                return (
                    f"unknown category '{label}' in labels (the project has: {self.category_list})"
                )
            if name not in names:
                names.append(name)
        return names

"""File writers for exports: JSON Lines, CSV and Parquet, fed one canonical row at a time.

Every writer is deterministic: rows arrive in canonical order, the CSV and JSONL bytes follow
from the row values alone, and Parquet is written in fixed-size row groups with fixed options
(zstd, statistics on, no pandas metadata, no timestamps of our own), so the same version and
options give the same bytes. Parquet buffers one row group (BATCH rows) at a time.

Column conventions (docs/architecture.md):
- JSONL: the canonical record (nested values as JSON); with splits, a "split" key is added.
- CSV: the same fields, nested values (metadata, labels, annotations, soft_labels) as canonical
  JSON text, booleans true/false, missing values empty.
- Parquet: typed columns; metadata as JSON text (its keys vary per row), labels list<string>,
  annotations list<struct>, soft_labels struct<category: double>, gold_decided_at
  timestamp[us, UTC].
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.json as pajson
import pyarrow.parquet as pq

from ...canonical import EXPORT_FIELDS, iso

BATCH = 50_000
PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 3,
    "write_statistics": True,
    "use_dictionary": True,
    "version": "2.6",
    "data_page_version": "1.0",
}

ANNOTATION_TYPE = pa.struct(
    [
        ("annotator", pa.string()),
        ("labels", pa.list_(pa.string())),
        ("none_of_these", pa.bool_()),
        ("unsure", pa.bool_()),
    ]
)


def parquet_schema(category_names: list[str], *, split: bool) -> pa.Schema:
    soft = pa.struct([(name, pa.float64()) for name in category_names])
    fields = [
        ("id", pa.string()),
        ("text", pa.string()),
        ("url", pa.string()),
        ("title", pa.string()),
        ("metadata", pa.string()),
        ("labels", pa.list_(pa.string())),
        ("none_of_these", pa.bool_()),
        ("gold_source", pa.string()),
        ("gold_decided_by", pa.string()),
        ("gold_decided_at", pa.timestamp("us", tz="UTC")),
        ("gold_rationale", pa.string()),
        ("gold_guideline_ref", pa.string()),
        ("gold_guidelines_version", pa.int64()),
        ("annotations", pa.list_(ANNOTATION_TYPE)),
        ("soft_labels", soft),
        ("soft_none_of_these", pa.float64()),
        ("selection_reason", pa.string()),
        ("selection_run_id", pa.int64()),
        ("inclusion_probability", pa.float64()),
        ("weight", pa.float64()),
    ]
    if split:
        fields.append(("split", pa.string()))
    return pa.schema(fields)


class JsonlSink:
    def __init__(self, path: Path, *, split: bool):
        self._file = path.open("wb")
        self._split = split

    def add(self, row, line: str, split: str | None) -> None:
        if self._split:
            line = line[:-1] + ',"split":' + json.dumps(split) + "}"
        self._file.write(line.encode())
        self._file.write(b"\n")

    def close(self) -> None:
        self._file.close()


def _csv_value(value) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return float.__repr__(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    return iso(value)


class CsvSink:
    def __init__(self, path: Path, *, split: bool):
        self._file = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        self._split = split
        self._writer.writerow([*EXPORT_FIELDS, *(("split",) if split else ())])

    def add(self, row, line: str, split: str | None) -> None:
        # ROW_COLUMNS and EXPORT_FIELDS are in the same order; nested columns are JSON already.
        values = [_csv_value(v) for v in row]
        values[8] = values[8] or ""  # gold_decided_by: "" when consensus
        values[9] = iso(row[9])
        if self._split:
            values.append(split)
        self._writer.writerow(values)

    def close(self) -> None:
        self._file.close()


class ParquetSink:
    """Rows buffered as canonical JSON lines, parsed into Arrow by pyarrow's JSON reader (C++)
    against the explicit schema, one row group per BATCH rows. Only `metadata` (JSON text in
    Parquet, an object in the line) and `split` are added from Python."""

    def __init__(self, path: Path, *, category_names: list[str], split: bool):
        self.schema = parquet_schema(category_names, split=split)
        self._parsed = pa.schema([f for f in self.schema if f.name not in ("metadata", "split")])
        self._parse = pajson.ParseOptions(
            explicit_schema=self._parsed, unexpected_field_behavior="ignore"
        )
        self._writer = pq.ParquetWriter(str(path), self.schema, **PARQUET_OPTIONS)
        self._split = split
        self._lines: list[str] = []
        self._metadata: list[str] = []
        self._splits: list[str | None] = []
        self.rows = 0

    def add(self, row, line: str, split: str | None) -> None:
        self._lines.append(line)
        self._metadata.append(row[4])  # metadata_json, canonical already
        if self._split:
            self._splits.append(split)
        self.rows += 1
        if len(self._lines) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._lines:
            return
        data = ("\n".join(self._lines) + "\n").encode()
        parsed = pajson.read_json(
            io.BytesIO(data),
            read_options=pajson.ReadOptions(block_size=len(data) + 1),
            parse_options=self._parse,
        )
        columns = []
        for field in self.schema:
            if field.name == "metadata":
                columns.append(pa.array(self._metadata, type=pa.string()))
            elif field.name == "split":
                columns.append(pa.array(self._splits, type=pa.string()))
            else:
                columns.append(parsed.column(field.name).combine_chunks())
        self._writer.write_table(pa.Table.from_arrays(columns, schema=self.schema))
        self._lines, self._metadata, self._splits = [], [], []

    def close(self) -> None:
        self._flush()
        self._writer.close()

"""Streaming readers for import files: CSV, JSON Lines, Parquet, and rows already parsed.

Every reader yields `(line, row)` where `line` is what an error message should point at (CSV:
the physical line where the record starts, the header being line 1; JSONL: the line number;
Parquet and API rows: the row number from 1) and `row` is a dict of column → value, or a `str`
with the reason when the record itself cannot be read (bytes that are not UTF-8, malformed
JSON, …). Problems with the file as a whole raise `FileProblem`.

Nothing here holds more than one batch in memory.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

FORMATS_BY_EXTENSION = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
PARQUET_BATCH_ROWS = 10_000
# How far a JSON Lines file is read to find the first object (whose keys are the "columns").
JSONL_PEEK_LINES = 1000
# Largest CSV field accepted by the csv module; longer texts are caught by the text limit.
CSV_FIELD_LIMIT = 64 * 1024 * 1024


class FileProblem(Exception):
    """The file as a whole cannot be imported; `str(exc)` says why in plain English."""


def format_detect(*, name: str, explicit: str | None = None) -> str:
    """The format for `name`, or the explicit one; raises FileProblem for unknown types."""
    if explicit:
        explicit = explicit.lower().strip()
        if explicit in {"csv", "jsonl", "parquet"}:
            return explicit
        raise FileProblem(f"Unknown format '{explicit}'; use csv, jsonl or parquet.")
    lower = name.lower()
    for ext, fmt in FORMATS_BY_EXTENSION.items():
        if lower.endswith(ext):
            return fmt
    ext = "." + lower.rsplit(".", 1)[1] if "." in lower else "(none)"
    raise FileProblem(
        f"Unknown file type {ext}: upload a .csv, .jsonl (or .ndjson) or .parquet file, "
        "or choose the format."
    )


class Reader:
    """Base: `columns()` names the columns (for the mapping), `rows()` streams the records."""

    format = ""

    def columns(self) -> list[str]:
        raise NotImplementedError

    def rows(self) -> Iterator[tuple[int, dict | str]]:
        raise NotImplementedError

    def position(self) -> float | None:
        """Share of the input read so far (0..1), when the reader can tell."""
        return None


class CsvReader(Reader):
    format = "csv"

    def __init__(self, path: str, *, delimiter: str = ","):
        self.path = path
        self.delimiter = delimiter
        self._binary: IO[bytes] | None = None
        self._size = 0

    def _open(self) -> tuple[IO[bytes], Any]:
        csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
        binary = open(self.path, "rb")  # noqa: SIM115 (closed by the caller's generator)
        binary.seek(0, io.SEEK_END)
        self._size = binary.tell() or 1
        binary.seek(0)
        # surrogateescape keeps undecodable bytes as lone surrogates, so one bad row is
        # reported with its line number instead of failing the whole file.
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
        reader = csv.reader(text, delimiter=self.delimiter, strict=True)
        return binary, reader

    def _header(self, reader) -> list[str]:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                header = [cell.strip() for cell in row]
                break
        else:
            raise FileProblem("The file is empty.")
        if not "".join(header).isascii():
            for cell in header:
                _reject_surrogates(cell, "the header")
        seen: set[str] = set()
        for cell in header:
            if cell and cell in seen:
                raise FileProblem(f"The header names the column '{cell}' twice.")
            seen.add(cell)
        return header

    def columns(self) -> list[str]:
        binary, reader = self._open()
        try:
            return self._header(reader)
        except csv.Error as exc:
            raise FileProblem(f"line {reader.line_num}: malformed CSV ({exc}).") from exc
        finally:
            binary.close()

    def rows(self) -> Iterator[tuple[int, dict | str]]:
        binary, reader = self._open()
        self._binary = binary
        try:
            header = self._header(reader)
            width = len(header)
            previous_end = reader.line_num
            try:
                for record in reader:
                    start = previous_end + 1
                    previous_end = reader.line_num
                    if not record or (len(record) == 1 and not record[0]):
                        continue  # blank line
                    if len(record) != width:
                        yield start, f"has {len(record)} fields; the header has {width}"
                        continue
                    if not "".join(record).isascii():
                        problem = _surrogate_problem(header, record)
                        if problem:
                            yield start, problem
                            continue
                    yield start, dict(zip(header, record))  # noqa: B905 (lengths checked)
            except csv.Error as exc:
                raise FileProblem(
                    f"line {previous_end + 1}: malformed CSV ({exc}); nothing after it can be "
                    "read reliably."
                ) from exc
        finally:
            self._binary = None
            binary.close()

    def position(self) -> float | None:
        if self._binary is None or self._binary.closed:
            return None
        return min(1.0, self._binary.tell() / self._size)


def _reject_surrogates(value: str, where: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FileProblem(f"{where} contains bytes that are not UTF-8.") from exc


def _surrogate_problem(header: list[str], record: list[str]) -> str | None:
    for name, value in zip(header, record, strict=True):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return f"bytes that are not UTF-8 in column '{name}'"
    return None


class JsonlReader(Reader):
    format = "jsonl"

    def __init__(self, path: str):
        self.path = path
        self._binary: IO[bytes] | None = None
        self._size = 1

    def columns(self) -> list[str]:
        any_line = False
        with open(self.path, "rb") as f:
            for n, raw in enumerate(f, start=1):
                if n > JSONL_PEEK_LINES:
                    break
                if not raw.strip():
                    continue
                any_line = True
                parsed = _json_line(raw)
                if isinstance(parsed, dict):
                    return [str(k) for k in parsed]
        if not any_line:
            raise FileProblem("The file is empty.")
        raise FileProblem(
            f"None of the first {JSONL_PEEK_LINES} lines is a JSON object; a JSON Lines file "
            'has one object per line, like {"id": "1", "text": "..."}.'
        )

    def rows(self) -> Iterator[tuple[int, dict | str]]:
        with open(self.path, "rb") as f:
            f.seek(0, io.SEEK_END)
            self._size = f.tell() or 1
            f.seek(0)
            self._binary = f
            try:
                for n, raw in enumerate(f, start=1):
                    if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                        raw = raw[3:]
                    if not raw.strip():
                        continue
                    yield n, _json_line(raw)
            finally:
                self._binary = None

    def position(self) -> float | None:
        if self._binary is None or self._binary.closed:
            return None
        return min(1.0, self._binary.tell() / self._size)


def _json_line(raw: bytes) -> dict | str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "bytes that are not UTF-8"
    try:
        value = json.loads(text)
    except ValueError as exc:
        return f"not valid JSON ({_short(str(exc))})"
    if not isinstance(value, dict):
        return f"is a JSON {_json_kind(value)}, not an object"
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ParquetReader(Reader):
    format = "parquet"

    def __init__(self, path: str):
        self.path = path
        self._done = 0
        self._total = 1

    def _file(self):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(self.path)
        except (pa.ArrowException, OSError) as exc:
            raise FileProblem(f"This is not a valid Parquet file ({_short(str(exc))}).") from exc

    def columns(self) -> list[str]:
        return list(self._file().schema_arrow.names)

    def total_rows(self) -> int:
        return self._file().metadata.num_rows

    def rows(self) -> Iterator[tuple[int, dict | str]]:
        import pyarrow as pa

        pf = self._file()
        self._total = pf.metadata.num_rows or 1
        n = 0
        try:
            for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS):
                for row in batch.to_pylist():
                    n += 1
                    self._done = n
                    yield n, row
        except pa.ArrowException as exc:
            raise FileProblem(
                f"row {n + 1}: the Parquet file cannot be read ({_short(str(exc))})."
            ) from exc

    def position(self) -> float | None:
        return min(1.0, self._done / self._total)


class RowsReader(Reader):
    """Rows already parsed (the API's JSON bulk import); numbered from 1."""

    format = "jsonl"

    def __init__(self, rows: Iterable[Any]):
        self._rows = list(rows)

    def columns(self) -> list[str]:
        if not self._rows:
            raise FileProblem("There are no rows to import.")
        for row in self._rows:
            if isinstance(row, dict):
                return [str(k) for k in row]
        raise FileProblem("No row is a JSON object with fields like id and text.")

    def rows(self) -> Iterator[tuple[int, dict | str]]:
        for n, row in enumerate(self._rows, start=1):
            if isinstance(row, dict):
                yield n, row
            else:
                yield n, f"is a JSON {_json_kind(row)}, not an object"


def reader_open(*, path: str, fmt: str) -> Reader:
    if fmt == "csv":
        return CsvReader(path, delimiter="\t" if path.lower().endswith(".tsv") else ",")
    if fmt == "jsonl":
        return JsonlReader(path)
    if fmt == "parquet":
        return ParquetReader(path)
    raise FileProblem(f"Unknown format '{fmt}'.")

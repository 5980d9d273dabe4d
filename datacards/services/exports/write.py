"""Writing one export of a version into a folder: the data file(s), and for the Hugging Face
format the README.md card and croissant.json, zipped reproducibly.

Rows are streamed in canonical order. While they pass, their canonical lines are hashed again;
an export whose rows no longer give the version's content hash is refused (the stored rows were
changed behind the database's back). With splits, a first pass plans them (`splits.py`).

Zip: entries in sorted order, all dated 1980-01-01 00:00, mode 0644, Parquet stored (it is
compressed already), text deflated at level 9, no extra fields; with the same zlib the same
inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...canonical import canonical_line
from ...documents import DataFile, card_input, croissant_jsonld, readme_markdown
from ...models import DatasetVersion, ExportJob
from ..stream import rows_canonical
from .formats import CsvSink, JsonlSink, ParquetSink
from .splits import SplitPlanner

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
PROGRESS_EVERY = 20_000
Progress = Callable[[str, float], None]


class HashMismatch(Exception):
    """The stored rows do not give the version's content hash."""


@dataclass(frozen=True)
class ExportSpec:
    format: str
    split: str
    test_fraction: float
    seed: int

    @property
    def splits(self) -> bool:
        return self.split == ExportJob.Split.TRAIN_TEST


def file_name(version: DatasetVersion, spec: ExportSpec) -> str:
    base = f"{version.card.get('project', {}).get('slug', 'dataset')}-v{version.number}"
    if spec.splits:
        base += f"-split{round(spec.test_fraction * 100):02d}-seed{spec.seed}"
    extension = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet", "hf": "zip"}[spec.format]
    return f"{base}{'-hf' if spec.format == 'hf' else ''}.{extension}"


def _plan_splits(version: DatasetVersion, spec: ExportSpec, progress: Progress):
    positives = {
        (p["name"] if p.get("kind") == "category" else "__none__"): p["positives"]
        for p in version.card.get("prevalence", [])
    }
    planner = SplitPlanner(class_positives=positives)
    columns = ("external_id", "text", "labels_json", "none_of_these")
    total = max(1, version.item_count)
    for n, (external_id, text, labels_json, none) in enumerate(
        rows_canonical(version.pk, columns), 1
    ):
        planner.add(
            external_id=external_id, text=text, labels_json=labels_json, none_of_these=bool(none)
        )
        if n % PROGRESS_EVERY == 0:
            progress("planning splits", n / total)
    return planner.assign(test_fraction=spec.test_fraction, seed=spec.seed)


def _stream_into(version: DatasetVersion, sinks: Callable, is_test, progress: Progress) -> dict:
    """Every row into `sinks(split)`; returns rows per split. Checks the content hash."""
    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    total = max(1, version.item_count)
    for n, row in enumerate(rows_canonical(version.pk)):
        line = canonical_line(row)
        digest.update(line.encode())
        digest.update(b"\n")
        split = None if is_test is None else ("test" if is_test[n] else "train")
        sinks(split).add(row, line, split)
        key = split or "all"
        counts[key] = counts.get(key, 0) + 1
        if (n + 1) % PROGRESS_EVERY == 0:
            progress("writing", (n + 1) / total)
    if digest.hexdigest() != version.content_hash or sum(counts.values()) != version.item_count:
        raise HashMismatch(
            f"The stored rows of version {version.number} no longer give its content hash "
            f"{version.content_hash}; nothing was exported."
        )
    return counts


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_write(
    *, version: DatasetVersion, spec: ExportSpec, folder: Path, progress: Progress
) -> tuple[Path, dict]:
    """Write the export into `folder` (empty, on the final file system); returns the file to
    keep and the rows per split."""
    is_test = _plan_splits(version, spec, progress) if spec.splits else None
    target = folder / file_name(version, spec)
    if spec.format == "hf":
        return _write_hf(version, spec, folder, target, is_test, progress)
    sink_class = {"csv": CsvSink, "jsonl": JsonlSink}.get(spec.format)
    if sink_class is not None:
        sink = sink_class(target, split=spec.splits)
    else:
        names = [c["name"] for c in version.card.get("schema", [])]
        sink = ParquetSink(target, category_names=names, split=spec.splits)
    try:
        counts = _stream_into(version, lambda _split: sink, is_test, progress)
    finally:
        sink.close()
    return target, counts


def _write_hf(version, spec, folder: Path, target: Path, is_test, progress) -> tuple[Path, dict]:
    names = [c["name"] for c in version.card.get("schema", [])]
    data = folder / "data"
    data.mkdir()
    split_names = ["test"]
    if spec.splits:  # a split without rows gets no file: `datasets` refuses empty splits
        n_test = int(is_test.sum())
        split_names = [s for s, n in (("train", len(is_test) - n_test), ("test", n_test)) if n]
    sinks = {
        s: ParquetSink(data / f"{s}.parquet", category_names=names, split=False)
        for s in split_names
    }
    try:
        _stream_into(version, lambda split: sinks[split or "test"], is_test, progress)
        # (an empty version cannot be frozen, so at least one split has rows)
    finally:
        for sink in sinks.values():
            sink.close()
    progress("packing", 1.0)
    files = [
        DataFile(
            path=f"data/{s}.parquet",
            split=s,
            rows=sinks[s].rows,
            sha256=file_sha256(data / f"{s}.parquet"),
            encoding="application/x-parquet",
        )
        for s in split_names
    ]
    ci = card_input(version=version)
    readme = readme_markdown(ci, files, features=True)
    croissant = json.dumps(
        croissant_jsonld(ci, files), indent=2, sort_keys=True, ensure_ascii=False
    )
    root = ci.base_name
    entries = [("README.md", readme.encode(), zipfile.ZIP_DEFLATED)]
    entries.append(("croissant.json", (croissant + "\n").encode(), zipfile.ZIP_DEFLATED))
    with zipfile.ZipFile(target, "w", allowZip64=True) as archive:
        for name, payload, method in sorted(entries):
            _zip_bytes(archive, f"{root}/{name}", payload, method)
        for f in sorted(files, key=lambda f: f.path):
            _zip_file(archive, f"{root}/{f.path}", folder / f.path)
    return target, {s: sinks[s].rows for s in split_names}


def _info(name: str, method: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = method
    info.external_attr = 0o100644 << 16
    info.create_system = 3  # unix, whatever the machine
    return info


def _zip_bytes(archive: zipfile.ZipFile, name: str, payload: bytes, method: int) -> None:
    archive.writestr(_info(name, method), payload, compress_type=method, compresslevel=9)


def _zip_file(archive: zipfile.ZipFile, name: str, path: Path) -> None:
    info = _info(name, zipfile.ZIP_STORED)
    info.file_size = path.stat().st_size
    with path.open("rb") as src, archive.open(info, "w", force_zip64=True) as dst:
        for block in iter(lambda: src.read(1 << 20), b""):
            dst.write(block)

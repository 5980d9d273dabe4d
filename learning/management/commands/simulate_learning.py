"""`manage.py simulate_learning --dataset goemotions`: replay active learning with an oracle.

Reads a labeled file, splits it into a pool and a held-out test set, runs
`learning.ml.simulation.run_simulation` and writes curves.csv, curves.png, summary.json and
summary.md into --out. A development and benchmarking tool: the app never depends on these
datasets.

`--from-runs DIR,DIR,...` runs nothing: it merges the curves of earlier outputs of this command
on the same dataset and settings (e.g. seeds 0-4 and 5-9 run in two processes, one per core)
and writes the summary of all their seeds into --out.

Datasets (--dataset takes a name under --datasets-root, or a path):
- goemotions: a folder with train/dev/test.tsv.gz and labels.txt; multi-label, 28 categories.
  Pool = train (+ dev), test = the official test split.
- davidson_hate_offensive: labeled_data.csv.gz; single-label. Categories hate_speech and
  offensive_language; "neither" is the project's explicit "none of these" (an all-zero row).
  Test = a seeded 20 % of the rows.
- any .csv / .csv.gz with columns text, labels (names separated by "|"), optional url; rows
  without labels are "none of these"; multi-label when any row has two labels. Test as above.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from learning.ml import simulation_report as report
from learning.ml.features import FeatureConfig
from learning.ml.simulation import SimulationConfig, run_simulation

ALIASES = {"davidson": "davidson_hate_offensive"}


@dataclass
class Dataset:
    """texts, urls: n each; Y: (n, C) 0/1; names: C; test_mask: (n,) True = held out."""

    texts: list[str]
    urls: list[str]
    Y: np.ndarray
    names: list[str]
    multi_label: bool
    test_mask: np.ndarray


def _open(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def _random_test_mask(n: int, fraction: float = 0.2) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[np.random.default_rng(0).choice(n, round(n * fraction), replace=False)] = True
    return mask


def _goemotions(folder: Path) -> Dataset:
    names = (folder / "labels.txt").read_text(encoding="utf-8").split()
    texts, labels, test = [], [], []
    for split in ("train", "dev", "test"):
        with _open(folder / f"{split}.tsv.gz") as f:
            for line in f:
                text, ids, _ = line.rstrip("\n").split("\t")
                texts.append(text)
                labels.append([int(v) for v in ids.split(",")])
                test.append(split == "test")
    Y = np.zeros((len(texts), len(names)), dtype=np.int8)
    for i, ids in enumerate(labels):
        Y[i, ids] = 1
    return Dataset(texts, [""] * len(texts), Y, names, True, np.array(test))


def _davidson(path: Path) -> Dataset:
    texts, classes = [], []
    with _open(path) as f:
        for row in csv.DictReader(f):
            texts.append(row["tweet"])
            classes.append(int(row["class"]))
    Y = np.zeros((len(texts), 2), dtype=np.int8)
    for i, cls in enumerate(classes):
        if cls < 2:  # 2 = neither: "none of these"
            Y[i, cls] = 1
    names = ["hate_speech", "offensive_language"]
    return Dataset(texts, [""] * len(texts), Y, names, False, _random_test_mask(len(texts)))


def _generic_csv(path: Path) -> Dataset:
    texts, urls, labels = [], [], []
    with _open(path) as f:
        for row in csv.DictReader(f):
            texts.append(row["text"])
            urls.append(row.get("url") or "")
            labels.append([v.strip() for v in (row.get("labels") or "").split("|") if v.strip()])
    names = sorted({v for row in labels for v in row})
    index = {name: j for j, name in enumerate(names)}
    Y = np.zeros((len(texts), len(names)), dtype=np.int8)
    for i, row in enumerate(labels):
        Y[i, [index[v] for v in row]] = 1
    multi = bool((Y.sum(axis=1) > 1).any())
    return Dataset(texts, urls, Y, names, multi, _random_test_mask(len(texts)))


def load_dataset(spec: str, root: Path) -> tuple[str, Dataset]:
    path = Path(spec)
    if not path.exists():
        path = root / ALIASES.get(spec, spec)
    if (path / "labels.txt").exists() and (path / "test.tsv.gz").exists():
        return "goemotions", _goemotions(path)
    if path.is_dir() and (path / "labeled_data.csv.gz").exists():
        return "davidson_hate_offensive", _davidson(path / "labeled_data.csv.gz")
    if path.is_file() and path.name.endswith((".csv", ".csv.gz")):
        return path.name.split(".")[0], _generic_csv(path)
    raise CommandError(f"No dataset found at '{spec}' (looked in {path}).")


def _default_root() -> Path:
    """GOLDSET_SHARED_DATASETS, else ../shared/datasets beside the checkout, else /work/shared."""
    candidates = [Path(p) for p in (os.environ.get("GOLDSET_SHARED_DATASETS"),) if p] + [
        Path(settings.BASE_DIR).parent / "shared" / "datasets",
        Path("/work/shared/datasets"),
    ]
    return next((p for p in candidates if p.is_dir()), candidates[0])


def _ints(value: str) -> tuple[int, ...]:
    return tuple(int(v) for v in value.split(",") if v.strip())


class Command(BaseCommand):
    help = "Replay active learning on a labeled dataset and write learning curves and a summary."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True, help="name (goemotions, davidson) or path")
        parser.add_argument(
            "--datasets-root", type=Path, default=_default_root(),
            help="where dataset names are looked up (GOLDSET_SHARED_DATASETS, ../shared/datasets)",
        )  # fmt: skip
        parser.add_argument(
            "--strategies",
            default="uncertainty,margin,entropy,multilabel,rare,mixed",
            help="comma list (random is always run); multilabel:<modAL name> picks a variant; "
            "a+b splits the model share equally, a@2+b@1 in proportion 2:1",
        )
        parser.add_argument("--seeds", type=_ints, default=(0, 1, 2))
        parser.add_argument("--budget", type=int, default=2000, help="labels per run")
        parser.add_argument("--batch", type=int, default=100)
        parser.add_argument("--initial", type=int, default=100, help="random labels first")
        parser.add_argument("--audit", type=float, default=0.1, help="audit share per batch")
        parser.add_argument(
            "--spread", type=float, default=None, help="StrategyMix.spread (default: its own)"
        )
        parser.add_argument("--pool-size", type=int, default=0, help="cap the pool (0: all)")
        parser.add_argument("--rare", type=int, default=3, help="how many rarest categories")
        parser.add_argument("--out", type=Path, default=None, help="output folder")
        parser.add_argument(
            "--from-runs", default="",
            help="comma list of earlier --out folders of this dataset: merge their curves "
            "(disjoint seeds, the same settings) and summarize them; runs nothing",
        )  # fmt: skip

    def handle(self, *args, **opts):
        name, data = load_dataset(opts["dataset"], opts["datasets_root"])
        pool = np.flatnonzero(~data.test_mask)
        if opts["pool_size"] and opts["pool_size"] < len(pool):
            rng = np.random.default_rng(12345)
            pool = np.sort(rng.choice(pool, opts["pool_size"], replace=False))
        test = np.flatnonzero(data.test_mask)
        if opts["from_runs"]:
            folders = [Path(p.strip()) for p in opts["from_runs"].split(",") if p.strip()]
            try:
                result = _merged(folders, data, pool_size=len(pool), test_size=len(test),
                                 pool_positives=data.Y[pool].sum(axis=0))  # fmt: skip
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self._write(result, name, opts)
            return
        strategies = [s.strip() for s in opts["strategies"].split(",") if s.strip()]
        if not data.multi_label:  # the multi-label strategies need a multi-label project
            strategies = [
                s for s in strategies if not s.startswith("multilabel") and "boundary" not in s
            ]
        try:
            config = SimulationConfig(
                strategies=tuple(strategies),
                seeds=opts["seeds"],
                budget=opts["budget"],
                batch=opts["batch"],
                initial=opts["initial"],
                multi_label=data.multi_label,
                audit=opts["audit"],
                spread=opts["spread"],
                features=FeatureConfig(),
            )
            result = run_simulation(
                [data.texts[i] for i in pool], [data.urls[i] for i in pool], data.Y[pool],
                [data.texts[i] for i in test], [data.urls[i] for i in test], data.Y[test],
                config=config, category_names=data.names, progress=self.stdout.write,
            )  # fmt: skip
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self._write(result, name, opts)

    def _write(self, result, name: str, opts) -> None:
        out = opts["out"] or Path("simulation-out") / name
        out.mkdir(parents=True, exist_ok=True)
        summary = report.summarize(result, rare=opts["rare"], dataset=name)
        (out / "curves.csv").write_text(report.curves_csv(result, rare=opts["rare"]))
        (out / "curves.png").write_bytes(report.curves_png(result, rare=opts["rare"], title=name))
        (out / "summary.json").write_text(report.summary_json(summary))
        markdown = report.summary_markdown(summary)
        (out / "summary.md").write_text(markdown)
        self.stdout.write(markdown)
        self.stdout.write(f"Wrote {out}/curves.csv, curves.png, summary.json, summary.md")


SETTINGS = ("budget", "batch", "initial", "audit_share", "spread", "multi_label")


def _merged(folders: list[Path], data: Dataset, *, pool_size: int, test_size: int,
            pool_positives: np.ndarray):  # fmt: skip
    """One result from the curves.csv and summary.json of earlier outputs (see the module
    docstring): every folder must hold both, with the same settings, strategies and pool, and
    seeds no other folder holds."""
    if not folders:
        raise ValueError("--from-runs names no folder")
    summaries, texts = [], []
    for folder in folders:
        try:
            summaries.append(json.loads((folder / "summary.json").read_text(encoding="utf-8")))
            texts.append((folder / "curves.csv").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{folder}: no readable summary.json and curves.csv ({exc})") from exc
    first = summaries[0]
    seeds: list[int] = []
    for folder, summary in zip(folders, summaries, strict=True):
        differ = [k for k in SETTINGS if summary.get(k) != first.get(k)]
        if list(summary["strategies"]) != list(first["strategies"]):
            differ.append("strategies")
        if (summary["pool_size"], summary["test_size"]) != (pool_size, test_size):
            differ.append("pool or test size (another dataset or --pool-size?)")
        if differ:
            raise ValueError(f"{folder} differs from {folders[0]} in {', '.join(differ)}")
        repeated = set(seeds) & set(summary["seeds"])
        if repeated:
            raise ValueError(f"{folder} repeats seed(s) {sorted(repeated)}")
        seeds.extend(summary["seeds"])
    config = SimulationConfig(
        strategies=tuple(first["strategies"]),
        seeds=tuple(seeds),
        budget=first["budget"],
        batch=first["batch"],
        initial=first["initial"],
        multi_label=first["multi_label"],
        audit=first["audit_share"],
        spread=first["spread"],
    )
    return report.result_from_csv(
        texts, config=config, category_names=data.names,
        pool_positives=[int(v) for v in pool_positives], pool_size=pool_size,
        test_size=test_size,
    )  # fmt: skip

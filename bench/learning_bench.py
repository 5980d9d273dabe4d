"""Training and selection speed of the learning core (no database).

- fit_model on 50,000 GoEmotions comments (train + dev + test, multi-label, 28 categories), with
  the default vocabulary features and with hashing: featurize, classifier fit, predict_proba;
- the same on Davidson's 24,783 tweets (single-label, multinomial);
- select_batch and selection_design on a 1,000,000-item pool of 10 categories.

Median of --runs runs (default 3). Data from ../shared/datasets (see their READMEs).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/learning_bench.py
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from learning.ml.classifier import fit_linear  # noqa: E402
from learning.ml.features import FeatureConfig, fit_transform  # noqa: E402
from learning.ml.model import FittedModel  # noqa: E402
from learning.ml.strategies import StrategyMix, select_batch  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets"


def goemotions(n: int) -> tuple[list[str], np.ndarray]:
    texts, rows = [], []
    for split in ("train", "dev", "test"):
        with gzip.open(DATA / "goemotions" / f"{split}.tsv.gz", "rt", encoding="utf-8") as f:
            for line in f:
                text, ids, _ = line.rstrip("\n").split("\t")
                texts.append(text)
                rows.append([int(v) for v in ids.split(",")])
    Y = np.zeros((len(texts), 28), dtype=np.int8)
    for i, ids in enumerate(rows):
        Y[i, ids] = 1
    return texts[:n], Y[:n]


def davidson() -> tuple[list[str], np.ndarray]:
    path = DATA / "davidson_hate_offensive" / "labeled_data.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    Y = np.zeros((len(rows), 2), dtype=np.int8)
    for i, row in enumerate(rows):
        if int(row["class"]) < 2:
            Y[i, int(row["class"])] = 1
    return [r["tweet"] for r in rows], Y


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def bench_fit(name, texts, Y, multi_label, features, runs):
    urls = [""] * len(texts)
    phases: dict[str, list[float]] = {"featurize": [], "fit": [], "predict_proba": []}
    for _ in range(runs):
        (featurizer, X), t_feat = timed(fit_transform, texts, urls, features)
        weights, t_fit = timed(fit_linear, X, Y, multi_label=multi_label, seed=0)
        _, t_pred = timed(lambda f=featurizer, w=weights: w.full_proba(f.transform(texts, urls)))
        phases["featurize"].append(t_feat)
        phases["fit"].append(t_fit)
        phases["predict_proba"].append(t_pred)
    medians = {k: statistics.median(v) for k, v in phases.items()}
    total = medians["featurize"] + medians["fit"]
    model = FittedModel(
        featurizer=featurizer, weights=weights, categories=Y.shape[1], multi_label=multi_label
    )
    blob, t_save = timed(model.to_bytes)
    _, t_load = timed(FittedModel.from_bytes, blob)
    print(
        f"{name}: n={len(texts)} features={X.shape[1]} featurize {medians['featurize']:.1f} s, "
        f"fit {medians['fit']:.1f} s (train total {total:.1f} s), "
        f"predict_proba {medians['predict_proba']:.1f} s; artifact {len(blob) / 1e6:.1f} MB "
        f"(save {t_save:.1f} s, load {t_load:.1f} s)",
        flush=True,
    )


def bench_select(runs):
    rng = np.random.default_rng(0)
    proba = rng.beta(0.3, 3.0, size=(1_000_000, 10))
    counts = np.array([500, 200, 80, 40, 20, 10, 5, 3, 1, 0])
    mix = StrategyMix(uncertainty=0.2, entropy=0.1, multilabel=0.1, rare=0.4, audit=0.2)
    times = []
    for seed in range(runs):
        _, t = timed(
            select_batch, proba, multi_label=True, gold_positive_counts=counts, mix=mix,
            batch_size=500, seed=seed,
        )  # fmt: skip
        times.append(t)
    print(f"select_batch: pool 1,000,000 x 10, batch 500: {statistics.median(times):.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    texts, Y = goemotions(50_000)
    bench_fit("goemotions vocabulary", texts, Y, True, FeatureConfig(), args.runs)
    bench_fit("goemotions hashing", texts, Y, True, FeatureConfig(hashing=True), args.runs)
    texts, Y = davidson()
    bench_fit("davidson vocabulary", texts, Y, False, FeatureConfig(), args.runs)
    bench_select(args.runs)


if __name__ == "__main__":
    main()

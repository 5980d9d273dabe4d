"""Data for bench/noise_bench.py: the real datasets as gold-label arrays, and noise injection.

Reads ../shared/datasets (see their READMEs); never used by the application.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from learning.ml.classifier import single_label_targets  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
# Davidson classes: 0 hate, 1 offensive, 2 neither (= none of these).
DAVIDSON_CONFUSION = np.array([[0.0, 0.8, 0.2], [0.5, 0.0, 0.5], [0.2, 0.8, 0.0]])


# ---------------------------------------------------------------- data


def load_davidson() -> dict:
    df = pd.read_csv(DATASETS / "davidson_hate_offensive" / "labeled_data.csv.gz")
    Y = np.zeros((len(df), 2), dtype=np.int8)
    Y[df["class"].to_numpy() == 0, 0] = 1
    Y[df["class"].to_numpy() == 1, 1] = 1
    votes = df[["hate_speech", "offensive_language", "neither"]].to_numpy()
    unanimous = votes.max(axis=1) == df["count"].to_numpy()
    return {
        "name": "davidson",
        "multi_label": False,
        "texts": df["tweet"].astype(str).tolist(),
        "Y": Y,
        "names": ["hate", "offensive"],
        "disagreed": ~unanimous,
    }


def load_goemotions(splits: tuple[str, ...] = ("train",)) -> dict:
    folder = DATASETS / "goemotions"
    names = (folder / "labels.txt").read_text().split()
    frames = [
        pd.read_csv(
            folder / f"{s}.tsv.gz", sep="\t", header=None, quoting=3, names=["t", "l", "id"]
        )
        for s in splits
    ]
    df = pd.concat(frames, ignore_index=True)
    Y = np.zeros((len(df), len(names)), dtype=np.int8)
    for i, labels in enumerate(df["l"].astype(str)):
        Y[i, [int(j) for j in labels.split(",")]] = 1
    return {
        "name": "goemotions",
        "multi_label": True,
        "texts": df["t"].astype(str).tolist(),
        "Y": Y,
        "names": names,
        "disagreed": None,
    }


def subset(data: dict, rows: np.ndarray) -> dict:
    out = dict(data)
    out["texts"] = [data["texts"][i] for i in rows]
    out["Y"] = data["Y"][rows]
    if data["disagreed"] is not None:
        out["disagreed"] = data["disagreed"][rows]
    return out


# ---------------------------------------------------------------- noise


def noise_single(Y: np.ndarray, rate: float, kind: str, rng: np.random.Generator):
    """Noisy copy of a single-label Y and the (n, C) mask of the bits that changed."""
    C = Y.shape[1]
    y = single_label_targets(Y)
    chosen = rng.choice(len(y), size=round(rate * len(y)), replace=False)
    noisy = y.copy()
    for i in chosen:
        if kind == "uniform":
            others = [k for k in range(C + 1) if k != y[i]]
            noisy[i] = rng.choice(others)
        else:
            noisy[i] = rng.choice(C + 1, p=DAVIDSON_CONFUSION[y[i]])
    Yn = np.zeros_like(Y)
    rows = np.flatnonzero(noisy < C)
    Yn[rows, noisy[rows]] = 1
    return Yn, Yn != Y


def noise_multi(Y: np.ndarray, rate: float, kind: str, rng: np.random.Generator):
    """Noisy copy of a multi-label Y and the (n, C) mask of the bits that were flipped."""
    n, C = Y.shape
    Yn = Y.copy()
    if kind == "uniform":
        chosen = rng.choice(n, size=round(rate * n), replace=False)
        Yn[chosen, rng.integers(0, C, size=len(chosen))] ^= 1
        return Yn, Yn != Y
    weight = np.ones(C)
    weight[np.random.default_rng(12345).permutation(C)[: C // 2]] = 3.0  # the "hard" half
    candidates = np.flatnonzero(Y.sum(axis=1) > 0)
    chosen = rng.choice(candidates, size=min(round(rate * n), len(candidates)), replace=False)
    for i in chosen:
        positives = np.flatnonzero(Y[i])
        p = weight[positives] / weight[positives].sum()
        Yn[i, rng.choice(positives, p=p)] = 0
    return Yn, Yn != Y

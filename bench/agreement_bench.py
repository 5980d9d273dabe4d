"""Agreement statistics at scale: every metric with bootstrap 95% intervals, timed.

Target (issue 3): 100,000 items x 3 annotators x 10 categories, all metrics with bootstrap 95%
confidence intervals (1,000 replicates) in <= 10 s on the 2-core machine, OMP_NUM_THREADS=1.

Synthetic data (fixed seed): category prevalences spread geometrically from 0.1 % to 20 %; each
annotator has, per category, a sensitivity drawn from U(0.6, 0.95) and a false-positive rate of
U(0.05, 0.3) x the prevalence; each item is labeled by ``--annotators`` annotators drawn from a
pool of ``--pool`` (default: the same number, everyone labels everything), and ``--missing`` of
the annotations are dropped at random (so some items have fewer labels, a few only one).

Timed per run (median of ``--runs``): building the per-category matrices from long-form rows
(``data.category_matrices``), ``category_agreement`` for every category, building the label sets
(``data.label_sets``) and ``set_agreement`` with Jaccard and MASI distances. Pure numpy/scipy:
no database.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/agreement_bench.py
    .venv/bin/python bench/agreement_bench.py --items 1000000 --runs 3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402  (after the thread settings on purpose)

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from annotation.agreement import data, metrics  # noqa: E402
from bench.common import machine_info, md_table, write_report  # noqa: E402


def synthetic_rows(args: argparse.Namespace) -> dict[str, np.ndarray]:
    """Long-form annotation rows: item, annotator, (n_rows, n_categories) 0/1 labels."""
    rng = np.random.default_rng(args.seed)
    n, k, pool, c = args.items, args.annotators, args.pool or args.annotators, args.categories
    if k > pool:
        raise SystemExit("--annotators cannot exceed --pool")
    prevalence = np.geomspace(0.001, 0.2, c)
    truth = rng.random((n, c)) < prevalence
    sensitivity = rng.uniform(0.6, 0.95, (pool, c))
    false_positive = rng.uniform(0.05, 0.3, (pool, c)) * prevalence
    if pool == k:
        annotators = np.tile(np.arange(k), n)
    else:  # k distinct annotators per item, uniformly from the pool
        annotators = np.argsort(rng.random((n, pool)), axis=1)[:, :k].ravel()
    items = np.repeat(np.arange(n), k)
    keep = rng.random(items.size) >= args.missing
    items, annotators = items[keep], annotators[keep]
    true = truth[items]
    p_yes = np.where(true, sensitivity[annotators], false_positive[annotators])
    labels = (rng.random(p_yes.shape) < p_yes).astype(np.int8)
    return {"items": items, "annotators": annotators, "labels": labels, "prevalence": prevalence}


def one_run(rows: dict, args: argparse.Namespace, seed: int) -> tuple[dict, list]:
    n, pool = args.items, args.pool or args.annotators
    times = {}
    t0 = time.perf_counter()
    matrices = data.category_matrices(rows["items"], rows["annotators"], rows["labels"], n, pool)
    times["build matrices"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    results = [
        metrics.category_agreement(R, n_boot=args.boot, seed=seed + i)
        for i, R in enumerate(matrices)
    ]
    times["category_agreement x categories"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    sets = data.label_sets(rows["items"], rows["labels"], n)
    times["build label sets"] = time.perf_counter() - t0
    set_results = []
    for distance in ("jaccard", "masi"):
        t0 = time.perf_counter()
        set_results.append(
            metrics.set_agreement(sets, distance=distance, n_boot=args.boot, seed=seed)
        )
        times[f"set_agreement ({distance})"] = time.perf_counter() - t0
    times["total"] = sum(times.values())
    return times, [results, set_results]


def _fmt(e: metrics.Estimate) -> str:
    if e.value is None:
        return "n/a"
    if e.low is None:
        return f"{e.value:.3f}"
    return f"{e.value:.3f} [{e.low:.3f}, {e.high:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--annotators", type=int, default=3, help="annotations per item")
    parser.add_argument("--pool", type=int, default=0, help="annotator pool (default: same)")
    parser.add_argument("--categories", type=int, default=10)
    parser.add_argument("--missing", type=float, default=0.05, help="share of labels dropped")
    parser.add_argument("--boot", type=int, default=1000, help="bootstrap replicates")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--out", default="agreement_bench.md", help="report name in bench/out/")
    args = parser.parse_args()

    rows = synthetic_rows(args)
    runs = []
    for run in range(args.runs):
        times, last = one_run(rows, args, seed=run)
        runs.append(times)
        print(f"run {run + 1}: {times['total']:.2f} s", flush=True)
    medians = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    load = os.getloadavg()[0]

    timing = md_table(
        ["part", "median s", *[f"run {i + 1}" for i in range(args.runs)]],
        [[key, f"{medians[key]:.2f}", *[f"{r[key]:.2f}" for r in runs]] for key in medians],
    )
    results, set_results = last
    values = md_table(
        ["category", "prevalence", "pairable", "alpha", "Cohen", "Fleiss", "AC1", "pos. agr."],
        [
            [
                f"c{i} ({p:.1%})",
                f"{r.prevalence:.4f}",
                r.n_pairable_items,
                _fmt(r.alpha),
                _fmt(r.cohen),
                _fmt(r.fleiss),
                _fmt(r.ac1),
                _fmt(r.positive),
            ]
            for i, (p, r) in enumerate(zip(rows["prevalence"], results, strict=True))
        ],
    )
    machine = machine_info()
    report = "\n".join(
        [
            "# Agreement statistics benchmark",
            "",
            f"Machine: {machine}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}; "
            f"1-min load average after the runs: {load:.1f}",
            f"Data: {args.items:,} items x {args.annotators} annotators (pool "
            f"{args.pool or args.annotators}) x {args.categories} categories, {args.missing:.0%} "
            f"labels dropped, {rows['items'].size:,} annotations; {args.boot} bootstrap "
            f"replicates; {args.runs} runs",
            "",
            timing,
            "",
            f"**Median total: {medians['total']:.2f} s** (target <= 10 s)",
            "",
            "Values of the last run (95 % bootstrap intervals):",
            "",
            values,
            "",
            f"Set-level alpha: Jaccard {_fmt(set_results[0])}, MASI {_fmt(set_results[1])}",
        ]
    )
    print(report)
    path = write_report(args.out, report + "\n")
    print(f"\nreport: {path}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "machine": machine,
                    "load_average": load,
                    "runs": runs,
                    "median": medians,
                    "categories": [r.as_dict() for r in results],
                    "set_alpha": {
                        "jaccard": set_results[0].as_dict(),
                        "masi": set_results[1].as_dict(),
                    },
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()

"""Label-noise detection on real data with injected noise: precision, recall, F1, AUROC, time.

Runs `learning.ml.noise.find_label_issues` (5-fold out-of-fold probabilities of the project
model, then cleanlab) on gold labels into which known noise was injected, and scores the flags
against the injected flips. Datasets (from ../shared/datasets, see their READMEs):

- Davidson (single-label: categories hate, offensive; "neither" = none of these). Bases:
  "full" (24,783 tweets, majority labels) and "unanimous" (17,482 tweets every worker agreed on).
- GoEmotions train.tsv.gz (multi-label, 28 categories). Bases: "full" (43,410 comments; the
  rater-agreement-filtered release) and "clean": the full set minus the items the detector
  itself flags on the original labels (seed 1000, never a noise seed); `--bases strict`: minus
  the items the more permissive prune_by_noise_rate rule flags. GoEmotions has no per-rater
  file here, so the detector is the only judge of a clean base; such bases are optimistic (they
  remove the items this model finds hardest), the full set is the pessimistic side.

Noise, at each rate (share of items that get a wrong label) and seed:

- single-label uniform: the chosen items move to a uniformly random other class;
- single-label class-conditional: along the confusion structure hate <-> offensive
  (hate -> offensive 0.8 / neither 0.2; offensive -> hate 0.5 / neither 0.5;
  neither -> offensive 0.8 / hate 0.2);
- multi-label uniform: one uniformly random category bit of each chosen item is flipped;
- multi-label class-conditional: missed labels: each chosen item (among items with a positive)
  loses one positive, categories of a fixed "hard" half weighing 3x more than the others.

Scored per item (flagged vs. noised; AUROC of the item quality score against noised) and, for
multi-label, per category (the category bits flagged vs. flipped; AUROC of the per-category
score). With no injected noise, the full sets report how many items are flagged and, for
Davidson, how often the flagged tweets are ones the workers disagreed on.

Featurization is unsupervised and identical for every noisy copy of a base, so the bench
memoises `evaluation.fit_transform` per base (the library path is otherwise exactly the app's).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/noise_bench.py
    .venv/bin/python bench/noise_bench.py --datasets davidson --seeds 0 --rates 0.1 --quick
    .venv/bin/python bench/noise_bench.py --timing-only --timing-runs 3
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
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from learning.ml import evaluation  # noqa: E402
from learning.ml.features import FeatureConfig  # noqa: E402
from learning.ml.noise import find_label_issues  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from noise_data import (  # noqa: E402
    load_davidson,
    load_goemotions,
    noise_multi,
    noise_single,
    subset,
)

OUT = ROOT / "bench" / "out"
CLEAN_BASE_SEED = 1000
STRICT_BASE = "prune_by_noise_rate/prior/none"  # flags more items: a stricter clean base


# ---------------------------------------------------------------- scoring


def scores(truth: np.ndarray, flagged: np.ndarray, quality: np.ndarray) -> dict:
    p, r, f, _ = precision_recall_fscore_support(truth, flagged, average="binary", zero_division=0)
    auroc = roc_auc_score(truth, -quality) if 0 < truth.sum() < len(truth) else float("nan")
    return {"precision": p, "recall": r, "f1": f, "auroc": auroc, "flagged": int(flagged.sum())}


def category_flags(report, n: int, C: int) -> np.ndarray:
    mask = np.zeros((n, C), dtype=bool)
    for finding in report.findings:
        mask[finding.index, list(finding.suspected)] = True
    return mask


_FEATURE_CACHE: dict = {}


def memoise_featurization() -> None:
    """Featurize each base once: the featurizer never sees labels, so noisy copies share it."""
    original = evaluation.fit_transform

    def cached(texts, urls, config):
        key = (id(texts), config)
        if key not in _FEATURE_CACHE:
            _FEATURE_CACHE[key] = (texts, original(texts, urls, config))
        return _FEATURE_CACHE[key][1]

    evaluation.fit_transform = cached


def detect(data: dict, Y: np.ndarray, args, seed: int, method: str = "default", P=None):
    """One check; `method` is "default" or "<filter_by>/<calibration>/<quality calibration>"."""
    filter_by, calibration, quality = (
        (None, "prior", None) if method == "default" else method.split("/")
    )
    return find_label_issues(
        data["texts"],
        data["urls"],
        Y,
        multi_label=data["multi_label"],
        features=args.features,
        seed=seed,
        folds=args.folds,
        c=args.c,
        filter_by=filter_by,
        calibration=calibration,
        quality_calibration=quality,
        pred_proba=P,
    )


def score_report(report, data: dict, flipped: np.ndarray) -> dict:
    n, C = flipped.shape
    row = {"item": scores(flipped.any(axis=1), report.flagged, report.quality)}
    if data["multi_label"]:
        flags = category_flags(report, n, C)
        row["category"] = [
            scores(flipped[:, j], flags[:, j], report.per_category_quality[:, j])
            | {
                "name": data["names"][j],
                "bits": int(flipped[:, j].sum()),
                "positives": int(data["Y"][:, j].sum()),
            }
            for j in range(C)
        ]
    return row


def run_injected(data: dict, base: str, args, results: list) -> None:
    """Every noise kind x rate x seed; the out-of-fold probabilities of each noisy copy are
    computed once and reused for the alternative methods (`--compare`)."""
    n = len(data["texts"])
    for kind in args.kinds:
        for rate in args.rates:
            for seed in args.seeds:
                rng = np.random.default_rng(seed)
                noisy, flipped = (noise_multi if data["multi_label"] else noise_single)(
                    data["Y"], rate, kind, rng
                )
                P = None
                for method in ["default", *args.compare]:
                    report = detect(data, noisy, args, seed, method, P)
                    P = report.pred_proba
                    row = {"dataset": data["name"], "base": base, "kind": kind, "rate": rate}
                    row |= {"seed": seed, "n": n, "noised": int(flipped.any(axis=1).sum())}
                    row |= {"method": method, "filter_by": report.params["filter_by"]}
                    row |= score_report(report, data, flipped)
                    row["seconds"] = report.timings
                    results.append(row)
                    item = row["item"]
                    print(
                        f"{data['name']:10} {base:9} {kind:17} {rate:.2f} seed {seed} "
                        f"{method:31}: P {item['precision']:.3f} R {item['recall']:.3f} "
                        f"F1 {item['f1']:.3f} AUROC {item['auroc']:.3f} "
                        f"flagged {item['flagged']} ({report.timings['total']:.0f} s)",
                        flush=True,
                    )


def run_clean_labels(data: dict, args) -> dict:
    """The full set as given (no injected noise): how many flagged, and who disagreed."""
    report = detect(data, data["Y"], args, CLEAN_BASE_SEED)
    flagged = report.flagged
    strict = detect(data, data["Y"], args, CLEAN_BASE_SEED, STRICT_BASE, report.pred_proba)
    out = {"dataset": data["name"], "n": len(flagged), "flagged": int(flagged.sum())}
    out["flagged_by_" + STRICT_BASE] = int(strict.flagged.sum())
    disagreed = data["disagreed"]
    if disagreed is not None:
        out |= {
            "disagreed_items": int(disagreed.sum()),
            "flagged_disagreed": int((flagged & disagreed).sum()),
            "as_predictor_of_disagreement": scores(disagreed, flagged, report.quality),
        }
    print(f"{data['name']} as given: {out}", flush=True)
    return {"summary": out, "flagged": flagged, "strict": strict.flagged}


def clean_base(data: dict, as_given: dict, name: str) -> dict:
    """unanimous: the tweets every worker agreed on; clean: the items the default check does
    not flag on the labels as given; strict: those the more permissive rule does not flag."""
    if name == "unanimous":
        return subset(data, np.flatnonzero(~data["disagreed"]))
    return subset(data, np.flatnonzero(~as_given["flagged" if name == "clean" else "strict"]))


# ---------------------------------------------------------------- timing


def run_timing(args) -> list[dict]:
    """50k gold items, 5-fold out-of-fold probabilities + cleanlab, nothing memoised."""
    data = load_goemotions(("train", "dev", "test"))
    texts, Y = data["texts"][: args.timing_items], data["Y"][: args.timing_items]
    single = np.zeros_like(Y)
    single[np.arange(len(Y)), Y.argmax(axis=1)] = 1  # first label: a 28-class single-label set
    rows = []
    for multi_label, labels in ((True, Y), (False, single)):
        for run in range(args.timing_runs):
            load = os.getloadavg()[0]
            cpu, wall = time.process_time(), time.perf_counter()
            report = find_label_issues(
                list(texts),
                [""] * len(texts),
                labels,
                multi_label=multi_label,
                features=args.features,
                seed=run,
                folds=5,
                c=args.c,
                threads=args.threads,
            )
            row = {
                "multi_label": multi_label,
                "run": run,
                "items": len(texts),
                "threads": args.threads,
                "categories": Y.shape[1],
                "wall": time.perf_counter() - wall,
                "cpu": time.process_time() - cpu,
                "load_before": load,
                **{f"{k}_s": v for k, v in report.timings.items()},
                "flagged": len(report.findings),
            }
            print(f"timing: {row}", flush=True)
            rows.append(row)
    return rows


# ---------------------------------------------------------------- report


def _ms(values: list[float]) -> str:
    values = [v for v in values if v == v]  # drop NaN
    if not values:
        return "–"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {sd:.3f}"


def _groups(results: list[dict]) -> dict:
    groups: dict = {}
    for r in results:
        key = (r["dataset"], r["base"], r["kind"], r["rate"], r["method"])
        groups.setdefault(key, []).append(r)
    return groups


def _cells(items: list[dict]) -> str:
    return " | ".join(_ms([x[m] for x in items]) for m in ("precision", "recall", "f1", "auroc"))


def markdown(results: list[dict], given: list[dict], timing: list[dict], args) -> str:
    lines = [
        "# Label-noise detection bench",
        "",
        f"Command: `{' '.join(sys.argv)}`  ",
        f"C={args.c}, folds={args.folds}, seeds={list(args.seeds)}, "
        f"features={args.features.as_dict()}; method default = find_label_issues defaults "
        "(single-label prune_by_noise_rate, multi-label confident_learning; prior calibration; "
        "quality scores prior-calibrated for single-label, uncalibrated for multi-label)",
        "",
        "## Injected noise, per item (mean ± std over seeds)",
        "",
        "| dataset | base | n | noise | rate | method | precision | recall | F1 | AUROC | "
        "flagged | noised |",
        "|---|---|---:|---|---:|---|---|---|---|---|---:|---:|",
    ]
    groups = _groups(results)
    for (ds, base, kind, rate, method), rs in groups.items():
        it = [r["item"] for r in rs]
        lines.append(
            f"| {ds} | {base} | {rs[0]['n']} | {kind} | {rate:.0%} | {method} | {_cells(it)} | "
            f"{statistics.mean(x['flagged'] for x in it):.0f} | "
            f"{statistics.mean(r['noised'] for r in rs):.0f} |"
        )
    multi = {k: rs for k, rs in groups.items() if "category" in rs[0]}
    if multi:
        lines += [
            "",
            "## Multi-label, per category: macro average over categories (mean ± std over seeds)",
            "",
            "| dataset | base | noise | rate | method | precision | recall | F1 | AUROC |",
            "|---|---|---|---:|---|---|---|---|---|",
        ]
        for (ds, base, kind, rate, method), rs in multi.items():
            macro = [
                {m: np.nanmean([c[m] for c in r["category"]]) for m in ("precision", "recall")}
                | {m: np.nanmean([c[m] for c in r["category"]]) for m in ("f1", "auroc")}
                for r in rs
            ]
            lines.append(f"| {ds} | {base} | {kind} | {rate:.0%} | {method} | {_cells(macro)} |")
        for (ds, base, kind, rate, method), rs in multi.items():
            if kind != "uniform" or abs(rate - 0.1) > 1e-9 or method != "default":
                continue
            lines += [
                "",
                f"### {ds} {base}, {kind} {rate:.0%}, default method: each category "
                "(mean ± std over seeds)",
                "",
                "| category | positives | flipped bits | precision | recall | F1 | AUROC |",
                "|---|---:|---:|---|---|---|---|",
            ]
            for j, cat in enumerate(rs[0]["category"]):
                vals = [r["category"][j] for r in rs]
                lines.append(
                    f"| {cat['name']} | {cat['positives']} | "
                    f"{statistics.mean(v['bits'] for v in vals):.0f} | {_cells(vals)} |"
                )
    if given:
        lines += ["", "## Labels as given (no injected noise)", ""]
        lines += [f"- {json.dumps(g, default=float)}" for g in given]
    if timing:
        lines += [
            "",
            "## Timing: 5-fold OOF + cleanlab, nothing memoised",
            "",
            "| labels | items | categories | run | wall s | CPU s | OOF s | cleanlab s | "
            "load avg before |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for t in timing:
            lines.append(
                f"| {'multi' if t['multi_label'] else 'single'} | {t['items']} | "
                f"{t['categories']} | {t['run']} | {t['wall']:.1f} | {t['cpu']:.1f} | "
                f"{t['oof_s']:.1f} | {t['cleanlab_s']:.2f} | {t['load_before']:.1f} |"
            )
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--datasets", nargs="+", default=["davidson", "goemotions"])
    ap.add_argument("--bases", nargs="+", default=["full", "clean"])
    ap.add_argument("--kinds", nargs="+", default=["uniform", "class_conditional"])
    ap.add_argument("--rates", nargs="+", type=float, default=[0.05, 0.1, 0.2])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--c", type=float, default=1.0)
    ap.add_argument(
        "--compare",
        nargs="*",
        default=[
            "prune_by_noise_rate/prior/prior",
            "confident_learning/prior/prior",
            "prune_by_noise_rate/none/none",
            "confident_learning/none/none",
        ],
        help="alternative <filter_by>/<calibration>/<quality calibration> on the same "
        "out-of-fold probabilities",
    )
    ap.add_argument("--limit", type=int, default=0, help="first N items of each dataset (0: all)")
    ap.add_argument("--char-ngrams", type=int, nargs=2, default=None)
    ap.add_argument("--timing", action="store_true", help="also time 50k items (no memo)")
    ap.add_argument("--timing-only", action="store_true")
    ap.add_argument("--timing-items", type=int, default=50_000)
    ap.add_argument("--timing-runs", type=int, default=3)
    ap.add_argument(
        "--threads", type=int, default=2, help="folds fitted at once in the timing (the app's "
        "GOLDSET_LEARNING_THREADS default)",
    )  # fmt: skip
    ap.add_argument("--out", default="noise_bench")
    args = ap.parse_args()
    extra = {"char_ngrams": tuple(args.char_ngrams)} if args.char_ngrams else {}
    args.features = FeatureConfig(**extra)
    return args


def main() -> None:
    args = parse_args()
    timing = run_timing(args) if args.timing or args.timing_only else []
    results: list[dict] = []
    given: list[dict] = []
    if not args.timing_only:
        memoise_featurization()
        for name in args.datasets:
            data = load_davidson() if name == "davidson" else load_goemotions()
            if args.limit:
                data = subset(data, np.arange(min(args.limit, len(data["texts"]))))
            data["urls"] = [""] * len(data["texts"])
            as_given = run_clean_labels(data, args)
            given.append(as_given["summary"])
            for base in args.bases:
                if base == "full":
                    base_name, base_data = "full", data
                else:
                    base_name = "unanimous" if (name, base) == ("davidson", "clean") else base
                    base_data = clean_base(data, as_given, base_name)
                base_data["urls"] = [""] * len(base_data["texts"])
                run_injected(base_data, base_name, args, results)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.out}.json").write_text(
        json.dumps({"results": results, "given": given, "timing": timing}, default=float)
    )
    (OUT / f"{args.out}.md").write_text(markdown(results, given, timing, args))
    print(f"wrote {OUT / args.out}.md and .json")


if __name__ == "__main__":
    main()

"""Learning curves and the summary of a simulation, as strings and PNG bytes (no file I/O).

Summary figures, per strategy, over the seeds (mean, sample standard deviation, worst seed):

- labels needed to reach random sampling's final macro-F1, two ways:
  - on the mean curves (the verdict): the first label count at which the strategy's macro-F1,
    averaged over the seeds, reaches random's final macro-F1 averaged over the seeds, with a
    90 % bootstrap interval over the seeds (seeds resampled with replacement, strategy and
    random together, since a seed's runs share their initial set) and the share of resamples
    in which it is within 60 % of the budget. A single seed's first crossing is a coin toss
    where a strategy's curve runs flat near random's final value (one noisy curve against one
    noisy number); averaging over seeds shrinks both noises by √seeds;
  - per seed, the first point of the strategy's curve at or above the final macro-F1 of
    "random" with the same seed and initial set; "not reached" when the budget runs out first;
- positives found of the rarest categories (`rarest_categories`: the `rare` categories with the
  fewest positives in the pool) per 1,000 labels at the budget, and the ratio to random's.
"""

from __future__ import annotations

import csv
import io
import json
from statistics import mean, stdev
from typing import Any

import numpy as np

from learning.ml.simulation import CurvePoint, SimulationConfig, SimulationResult
from learning.ml.strategies import StrategyMix

TARGET_FRACTION = 0.6  # the label-efficiency target: random's final macro-F1 within 60 % of it
BOOTSTRAP_RESAMPLES = 2000


def rarest_categories(result: SimulationResult, k: int) -> list[int]:
    """The k categories with the fewest (but at least one) positives in the pool.

    At most a third of the categories count as rare (at least one): with Davidson's two
    categories that is hate speech alone, not the 77 % offensive class.
    """
    counts = np.array(result.pool_positives)
    present = np.flatnonzero(counts > 0)
    k = min(k, max(1, len(counts) // 3))
    return [int(c) for c in present[np.argsort(counts[present], kind="stable")][:k]]


def _curves(result: SimulationResult) -> dict[tuple[str, int], list[CurvePoint]]:
    curves: dict[tuple[str, int], list[CurvePoint]] = {}
    for p in result.points:
        curves.setdefault((p.strategy, p.seed), []).append(p)
    return curves


def _spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "std": None, "min": None, "max": None}
    return {
        "mean": mean(values),
        "std": stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def curves_csv(result: SimulationResult, *, rare: int = 3) -> str:
    """One row per (strategy, seed, labels): macro/micro-F1 and positives found per category."""
    rarest = rarest_categories(result, rare)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = [f"positives_{n}" for n in result.category_names]
    writer.writerow(
        ["strategy", "seed", "labels", "macro_f1", "micro_f1", "rare_positives", *names]
    )
    for p in result.points:
        writer.writerow(
            [p.strategy, p.seed, p.labels, repr(p.macro_f1), repr(p.micro_f1),
             sum(p.positives[c] for c in rarest), *p.positives]
        )  # fmt: skip
    return out.getvalue()


def result_from_csv(
    texts: list[str],
    *,
    config: SimulationConfig,
    category_names: list[str],
    pool_positives: list[int],
    pool_size: int,
    test_size: int,
) -> SimulationResult:
    """A result back from the CSVs `curves_csv` wrote (several: e.g. seeds run in parallel
    processes), so it can be summarized again. `config` must name the strategies and seeds the
    CSVs hold (random included); a (strategy, seed) run found twice, or a run `config` expects
    and no CSV holds, is an error."""
    points: list[CurvePoint] = []
    seen: set[tuple[str, int, int]] = set()
    columns = [f"positives_{n}" for n in category_names]
    for text in texts:
        for row in csv.DictReader(io.StringIO(text)):
            missing = [c for c in ("strategy", "seed", "labels", "macro_f1", "micro_f1", *columns)
                       if c not in row]  # fmt: skip
            if missing:
                raise ValueError(f"curves CSV lacks column(s) {', '.join(missing)}")
            key = (row["strategy"], int(row["seed"]), int(row["labels"]))
            if key in seen:
                raise ValueError(f"curves CSVs repeat {key[0]} seed {key[1]} at {key[2]} labels")
            seen.add(key)
            points.append(
                CurvePoint(
                    key[0], key[1], key[2], float(row["macro_f1"]), float(row["micro_f1"]),
                    tuple(int(row[c]) for c in columns),
                )
            )  # fmt: skip
    runs = {(p.strategy, p.seed) for p in points}
    expected = {(name, seed) for name in config.strategies for seed in config.seeds}
    if runs != expected:
        raise ValueError(
            f"curves CSVs hold runs {sorted(runs)}, the configuration expects {sorted(expected)}"
        )
    points.sort(key=lambda p: (config.seeds.index(p.seed), config.strategies.index(p.strategy),
                               p.labels))  # fmt: skip
    return SimulationResult(
        config=config,
        category_names=tuple(category_names),
        pool_size=pool_size,
        test_size=test_size,
        pool_positives=tuple(pool_positives),
        points=points,
    )


def curve_grid(config: Any) -> np.ndarray:
    """The label counts every curve is read at: rounds of some runs end an item or two short
    of initial + k·batch (see simulation.py), so curves are interpolated onto this grid."""
    return np.unique(np.r_[config.initial : config.budget : config.batch, config.budget])


def _on_grid(runs: list[list[CurvePoint]], grid: np.ndarray, value) -> np.ndarray:
    """(runs, grid) values of each run's curve interpolated at the grid's label counts."""
    return np.array([np.interp(grid, [p.labels for p in r], [value(p) for p in r]) for r in runs])


def _first_crossing(curves: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per row of curves (k, G), the first grid index where it is >= that row's target (k,);
    G where it never is."""
    above = curves >= targets[:, np.newaxis]
    return np.where(above.any(axis=1), above.argmax(axis=1), curves.shape[1])


def mean_curve_crossing(
    curves: dict[tuple[str, int], list[CurvePoint]],
    name: str,
    config: Any,
    *,
    budget: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Labels at which `name`'s mean macro-F1 curve (over the seeds) first reaches random's
    mean final macro-F1, as a count and a fraction of the budget (None: not within the budget),
    with a 90 % bootstrap interval of the fraction over the seeds (None at an end: not reached
    in over 5 % of the resamples) and the share of resamples within TARGET_FRACTION.
    `budget` (a grid point): the same for the curves cut at a shorter budget."""
    budget = budget or config.budget
    grid = curve_grid(config)
    grid = grid[grid <= budget]
    seeds = list(config.seeds)
    f1 = _on_grid([curves[(name, s)] for s in seeds], grid, lambda p: p.macro_f1)
    random_final = _on_grid([curves[("random", s)] for s in seeds], grid[-1:],
                            lambda p: p.macro_f1)[:, 0]  # fmt: skip
    at = _first_crossing(f1.mean(axis=0)[np.newaxis, :], np.array([random_final.mean()]))[0]
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(seeds), size=(BOOTSTRAP_RESAMPLES, len(seeds)))
    boot = _first_crossing(f1[draws].mean(axis=1), random_final[draws].mean(axis=1))
    # Not reached within the budget counts as beyond it (an infinite number of labels).
    fractions = np.where(boot < len(grid), grid[np.minimum(boot, len(grid) - 1)], np.inf)
    fractions = fractions / budget
    # Quantiles that are sample values (no interpolation towards an infinite one).
    low = np.quantile(fractions, 0.05, method="lower")
    high = np.quantile(fractions, 0.95, method="higher")

    def finite(v: float) -> float | None:
        return float(v) if np.isfinite(v) else None

    labels = int(grid[at]) if at < len(grid) else None
    return {
        "labels": labels,
        "fraction": labels / budget if labels is not None else None,
        "target": float(random_final.mean()),
        "interval_90": [finite(low), finite(high)],
        "share_within_target": float((fractions <= TARGET_FRACTION).mean()),
    }


def summarize(result: SimulationResult, *, rare: int = 3, dataset: str = "") -> dict[str, Any]:
    """The summary (JSON-ready dict); see the module docstring."""
    config = result.config
    curves = _curves(result)
    rarest = rarest_categories(result, rare)
    random_final = {s: curves[("random", s)][-1] for s in config.seeds}
    random_rare = [sum(random_final[s].positives[c] for c in rarest) for s in config.seeds]
    strategies: dict[str, Any] = {}
    for name in config.strategies:
        finals = [curves[(name, s)][-1] for s in config.seeds]
        needed = []
        for s in config.seeds:
            target = random_final[s].macro_f1
            hit = next((p.labels for p in curves[(name, s)] if p.macro_f1 >= target), None)
            needed.append(hit)
        reached = [float(v) for v in needed if v is not None]
        found = [sum(f.positives[c] for c in rarest) for f in finals]
        per_1000 = [1000.0 * v / f.labels for v, f in zip(found, finals, strict=True)]
        per_category = {
            result.category_names[c]: {
                "pool_positives": result.pool_positives[c],
                "found_mean": mean(f.positives[c] for f in finals),
                "random_found_mean": mean(random_final[s].positives[c] for s in config.seeds),
            }
            for c in rarest
        }
        strategies[name] = {
            "final_labels": finals[0].labels,
            "labels_fraction_at_checkpoints": _checkpoints(curves, name, config),
            "final_macro_f1": _spread([f.macro_f1 for f in finals]),
            "labels_to_random_final_mean_curve": mean_curve_crossing(curves, name, config),
            "labels_to_random_final": {
                **_spread(reached),
                "reached_seeds": len(reached),
                "per_seed": needed,
            },
            "rare_positives_found": _spread([float(v) for v in found]),
            "rare_positives_per_1000_labels": _spread(per_1000),
            "rare_ratio_vs_random": (mean(found) / mean(random_rare))
            if mean(random_rare)
            else None,
            "rare_per_category": per_category,
        }
    return {
        "dataset": dataset,
        "pool_size": result.pool_size,
        "test_size": result.test_size,
        "budget": config.budget,
        "batch": config.batch,
        "initial": config.initial,
        "audit_share": config.audit,
        "spread": config.spread if config.spread is not None else StrategyMix().spread,
        "seeds": list(config.seeds),
        "multi_label": config.multi_label,
        "rarest_categories": [result.category_names[c] for c in rarest],
        "strategies": strategies,
        "targets": _targets(strategies, config.budget, len(config.seeds)),
    }


def checkpoints(config: Any) -> list[int]:
    """Shorter budgets read off the same curves: a quarter, half, three quarters, all."""
    grid = [*range(config.initial + config.batch, config.budget, config.batch), config.budget]

    def nearest(share: float) -> int:
        return min(grid, key=lambda b: abs(b - share * config.budget))

    picks = {nearest(q) for q in (0.25, 0.5, 0.75)}
    return sorted(picks | {config.budget})


def _checkpoints(
    curves: dict[tuple[str, int], list[CurvePoint]], name: str, config: Any
) -> dict[str, Any]:
    """Per shorter budget B: labels the strategy needs to reach random's macro-F1 at B, as a
    fraction of B (mean over the seeds that reach it; None if none does).

    A run with budget B is exactly the first part of a run with a larger budget (same seeds,
    same rounds), so these are the results of those shorter simulations.
    """
    out = {}
    for budget in checkpoints(config):
        fractions = []
        for s in config.seeds:
            random_curve = [p for p in curves[("random", s)] if p.labels <= budget]
            target = random_curve[-1].macro_f1
            hit = next(
                (
                    p.labels
                    for p in curves[(name, s)]
                    if p.labels <= budget and p.macro_f1 >= target
                ),
                None,
            )
            if hit is not None:
                fractions.append(hit / budget)
        on_mean = mean_curve_crossing(curves, name, config, budget=budget)
        out[str(budget)] = {
            "mean": mean(fractions) if fractions else None,
            "max": max(fractions) if len(fractions) == len(config.seeds) else None,
            "reached_seeds": len(fractions),
            "mean_curve": on_mean["fraction"],
            "mean_curve_interval_90": on_mean["interval_90"],
        }
    return out


def _targets(strategies: dict[str, Any], budget: int, seeds: int) -> dict[str, Any]:
    """Which strategies meet both targets: random's final macro-F1 with <= 60 % of the budget
    on the mean curves, and >= 2x random's positives of the rarest categories. The per-seed
    figures (mean over seeds, worst seed) are reported beside the verdict."""
    rows = {}
    for name, s in strategies.items():
        if name == "random":
            continue
        labels = s["labels_to_random_final"]
        worst = labels["max"] if labels["reached_seeds"] == seeds else None
        on_mean = s["labels_to_random_final_mean_curve"]
        ratio = s["rare_ratio_vs_random"]
        rows[name] = {
            "labels_fraction_mean_curve": on_mean["fraction"],
            "labels_fraction_mean": labels["mean"] / budget if labels["mean"] else None,
            "labels_fraction_worst_seed": worst / budget if worst else None,
            "f1_target_met": on_mean["fraction"] is not None
            and on_mean["fraction"] <= TARGET_FRACTION,
            "rare_ratio": ratio,
            "rare_target_met": ratio is not None and ratio >= 2.0,
        }
    both = [n for n, r in rows.items() if r["f1_target_met"] and r["rare_target_met"]]
    return {"per_strategy": rows, "strategies_meeting_both": both}


def _fmt(spread: dict[str, Any], pattern: str = "{:.3f}") -> str:
    if spread["mean"] is None:
        return "not reached"
    return f"{pattern.format(spread['mean'])} ± {pattern.format(spread['std'])}"


def _fraction(value: float | None) -> str:
    return "beyond the budget" if value is None else f"{value:.0%}"


def summary_markdown(summary: dict[str, Any]) -> str:
    """A Markdown table of the summary (mean ± standard deviation over the seeds)."""
    seeds = len(summary["seeds"])
    lines = [
        f"Dataset {summary['dataset']}: pool {summary['pool_size']}, test {summary['test_size']}, "
        f"budget {summary['budget']} labels ({summary['initial']} random first, batches of "
        f"{summary['batch']}), audit share {summary['audit_share']}, spread "
        f"{summary.get('spread')}, seeds {summary['seeds']}. "
        f"Rarest categories: {', '.join(summary['rarest_categories'])}.",
        "",
        "| strategy | final macro-F1 | labels to random's final macro-F1, mean curves "
        "(90 % bootstrap interval; P(≤ 60 %)) | per seed: mean ± sd (seeds reached) "
        "| rarest positives per 1,000 labels | × random |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in summary["strategies"].items():
        labels = s["labels_to_random_final"]
        reached = f"{_fmt(labels, '{:.0f}')} ({labels['reached_seeds']}/{seeds})"
        on_mean = s["labels_to_random_final_mean_curve"]
        low, high = on_mean["interval_90"]
        mean_cell = (
            f"{on_mean['labels'] if on_mean['labels'] is not None else 'not reached'} = "
            f"{_fraction(on_mean['fraction'])} ({_fraction(low)}–{_fraction(high)}; "
            f"{on_mean['share_within_target']:.2f})"
        )
        ratio = "–" if s["rare_ratio_vs_random"] is None else f"{s['rare_ratio_vs_random']:.2f}"
        lines.append(
            f"| {name} | {_fmt(s['final_macro_f1'])} | {mean_cell} | {reached} "
            f"| {_fmt(s['rare_positives_per_1000_labels'], '{:.1f}')} | {ratio} |"
        )
    both = summary["targets"]["strategies_meeting_both"]
    lines += [
        "",
        f"Strategies meeting both targets (random's mean final macro-F1 reached by the mean "
        f"curve within 60 % of the budget; ≥ 2× random's rarest positives): "
        f"{', '.join(both) if both else 'none'}.",
    ]
    budgets = list(next(iter(summary["strategies"].values()))["labels_fraction_at_checkpoints"])
    lines += [
        "",
        "Labels needed to reach random's macro-F1 at a shorter budget B (the same curves cut at "
        "B), as a share of B: on the mean curves (90 % bootstrap interval); then per seed, the "
        "mean over the seeds that reach it (worst seed, or how many seeds reach it).",
        "",
        "| strategy | " + " | ".join(f"B = {b}" for b in budgets) + " |",
        "|---|" + "---|" * len(budgets),
    ]
    for name, s in summary["strategies"].items():
        if name == "random":
            continue
        cells = []
        for b in budgets:
            c = s["labels_fraction_at_checkpoints"][b]
            low, high = c["mean_curve_interval_90"]
            cell = f"{_fraction(c['mean_curve'])} ({_fraction(low)}–{_fraction(high)}); "
            if c["mean"] is None:
                cell += "not reached"
            elif c["max"] is None:  # some seeds never reached it within B
                cell += f"{c['mean']:.0%} ({c['reached_seeds']}/{len(summary['seeds'])} seeds)"
            else:
                cell += f"{c['mean']:.0%} ({c['max']:.0%})"
            cells.append(cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def summary_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, sort_keys=False) + "\n"


def curves_png(result: SimulationResult, *, rare: int = 3, title: str = "") -> bytes:
    """Two panels: macro-F1 and rarest-category positives found vs labels (mean, min–max band);
    the macro-F1 panel marks random's mean final macro-F1 and 60 % of the budget."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rarest = rarest_categories(result, rare)
    figure = Figure(figsize=(11, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    f1_axes, rare_axes = figure.subplots(1, 2)
    curves = _curves(result)
    config = result.config
    labels = curve_grid(config)
    for name in config.strategies:
        runs = [curves[(name, s)] for s in config.seeds]
        f1 = _on_grid(runs, labels, lambda p: p.macro_f1)
        found = _on_grid(runs, labels, lambda p: sum(p.positives[c] for c in rarest))
        for axes, values in ((f1_axes, f1), (rare_axes, found)):
            (line,) = axes.plot(labels, values.mean(axis=0), label=name)
            axes.fill_between(labels, values.min(axis=0), values.max(axis=0), alpha=0.15,
                              color=line.get_color())  # fmt: skip
    target = mean(curves[("random", s)][-1].macro_f1 for s in config.seeds)
    f1_axes.axhline(target, color="grey", linestyle="--", linewidth=0.8,
                    label="random's final (mean)")  # fmt: skip
    f1_axes.axvline(TARGET_FRACTION * config.budget, color="grey", linestyle=":", linewidth=0.8,
                    label="60 % of the budget")  # fmt: skip
    f1_axes.set(xlabel="labels", ylabel="macro-F1 (held-out test set)", title="Learning curve")
    rare_names = ", ".join(result.category_names[c] for c in rarest)
    rare_axes.set(xlabel="labels", ylabel="positives found", title=f"Rarest: {rare_names}")
    f1_axes.legend(fontsize="small")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()

"""The simulation: the loop replayed with an oracle, its curves and summary."""

import csv
import io
import json

import numpy as np
import pytest

from learning.ml import simulation_report as report
from learning.ml.features import FeatureConfig
from learning.ml.simulation import BASIC, SimulationConfig, run_simulation, strategy_mix
from tests.learning.ml.synthetic import make_dataset
from tests.shared_data import shared_datasets

SMALL = FeatureConfig(min_df=1, char_ngrams=(3, 4))
GOEMOTIONS = shared_datasets() / "goemotions"


def test_strategy_names_map_to_mixes():
    assert strategy_mix("random", audit=0.1).audit == 1.0
    rare = strategy_mix("rare", audit=0.1)
    assert rare.rare == pytest.approx(0.9) and rare.uncertainty == 0 and rare.audit == 0.1
    variant = strategy_mix("multilabel:max_score", audit=0.2)
    assert variant.multilabel == pytest.approx(0.8) and variant.multilabel_strategy == "max_score"
    assert strategy_mix("mixed", audit=0.1).rare == 0.5
    both = strategy_mix("entropy+rare", audit=0.1)
    assert both.entropy == pytest.approx(0.45) and both.rare == pytest.approx(0.45)
    weighted = strategy_mix("margin@3+rare@1", audit=0.2)
    assert weighted.margin == pytest.approx(0.6) and weighted.rare == pytest.approx(0.2)
    assert weighted.audit == 0.2 and sum(weighted.as_dict()[k] for k in BASIC) == pytest.approx(0.8)
    for bad in ("bogus", "rare:x", "multilabel:bogus", "rare+rare", "rare+", "rare@0", "rare@x"):
        with pytest.raises(ValueError):
            strategy_mix(bad, audit=0.1)


def test_config_validates_and_always_runs_random():
    config = SimulationConfig(
        strategies=("rare",), seeds=(0,), budget=50, batch=10, initial=10, multi_label=True
    )
    assert config.strategies == ("random", "rare")
    with pytest.raises(ValueError, match="initial"):
        SimulationConfig(
            strategies=(), seeds=(0,), budget=5, batch=10, initial=10, multi_label=True
        )


@pytest.fixture(scope="module")
def tiny_result():
    texts, urls, Y = make_dataset(500, [0.3, 0.1, 0.04], multi_label=True, seed=5)
    config = SimulationConfig(
        strategies=("rare", "uncertainty"), seeds=(0, 1), budget=60, batch=20, initial=20,
        multi_label=True, features=SMALL,
    )  # fmt: skip
    return run_simulation(
        texts[:400], urls[:400], Y[:400], texts[400:], urls[400:], Y[400:], config=config,
        category_names=["common", "uncommon", "rare"],
    )  # fmt: skip


def test_a_tiny_simulation_runs_end_to_end(tiny_result):
    result = tiny_result
    runs = {(p.strategy, p.seed) for p in result.points}

    assert runs == {(s, seed) for s in ("random", "rare", "uncertainty") for seed in (0, 1)}
    for key in runs:
        curve = [p for p in result.points if (p.strategy, p.seed) == key]
        labels = [p.labels for p in curve]
        assert labels[0] == 20 and labels[-1] == 60  # rounds short by an item are made up
        assert labels == sorted(set(labels)) and all(
            20 - v % 20 <= 3 or v % 20 == 0 for v in labels
        )
        assert all(0 <= p.macro_f1 <= 1 for p in curve)
        assert [sum(p.positives) for p in curve] == sorted(sum(p.positives) for p in curve)
    first = [p for p in result.points if p.labels == 20 and p.seed == 0]
    assert len({p.positives for p in first}) == 1  # one shared initial set per seed
    assert result.pool_size == 400 and result.test_size == 100


def test_the_rare_hunt_finds_more_rare_positives_than_random(tiny_result):
    summary = report.summarize(tiny_result, rare=1, dataset="tiny")

    assert summary["rarest_categories"] == ["rare"]
    assert summary["strategies"]["rare"]["rare_ratio_vs_random"] > 1.5
    assert summary["strategies"]["random"]["rare_ratio_vs_random"] == pytest.approx(1.0)


def test_summary_outputs(tiny_result):
    summary = report.summarize(tiny_result, rare=1, dataset="tiny")
    labels = summary["strategies"]["random"]["labels_to_random_final"]

    assert labels["reached_seeds"] == 2 and all(v <= 60 for v in labels["per_seed"])
    assert set(summary["targets"]["per_strategy"]) == {"rare", "uncertainty"}
    assert json.loads(report.summary_json(summary))["dataset"] == "tiny"
    markdown = report.summary_markdown(summary)
    assert "| rare |" in markdown and "Strategies meeting both targets" in markdown
    rows = list(csv.DictReader(io.StringIO(report.curves_csv(tiny_result, rare=1))))
    assert len(rows) == len(tiny_result.points) and rows[0]["positives_rare"].isdigit()
    assert rows[0].keys() >= {"strategy", "seed", "labels", "macro_f1", "rare_positives"}
    assert report.curves_png(tiny_result, rare=1, title="tiny")[:8] == b"\x89PNG\r\n\x1a\n"


def test_shorter_budgets_are_read_off_the_same_curves(tiny_result):
    assert report.checkpoints(tiny_result.config) == [40, 60]
    config = SimulationConfig(
        strategies=(), seeds=(0,), budget=2000, batch=100, initial=100, multi_label=True
    )
    assert report.checkpoints(config) == [500, 1000, 1500, 2000]

    summary = report.summarize(tiny_result, rare=1)

    for name, s in summary["strategies"].items():
        cells = s["labels_fraction_at_checkpoints"]
        assert list(cells) == ["40", "60"]
        for cell in cells.values():
            assert cell["mean"] is None or 0 < cell["mean"] <= 1, name
    random_cells = summary["strategies"]["random"]["labels_fraction_at_checkpoints"]
    assert all(c["reached_seeds"] == 2 for c in random_cells.values())
    assert "B = 40" in report.summary_markdown(summary)


def test_labels_to_reach_random_is_none_when_never_reached(tiny_result):
    summary = report.summarize(tiny_result, rare=1)
    for name, s in summary["strategies"].items():
        for hit in s["labels_to_random_final"]["per_seed"]:
            assert hit is None or 20 <= hit <= 60, name


def test_a_slice_of_goemotions_runs():
    if not (GOEMOTIONS / "test.tsv.gz").exists():
        pytest.skip(f"the shared GoEmotions dataset is not at {GOEMOTIONS}")
    from learning.management.commands.simulate_learning import load_dataset

    name, data = load_dataset(str(GOEMOTIONS), GOEMOTIONS.parent)
    assert name == "goemotions" and data.Y.shape[1] == 28 and data.multi_label
    pool = np.flatnonzero(~data.test_mask)[:600]
    test = np.flatnonzero(data.test_mask)[:200]
    config = SimulationConfig(
        strategies=("rare",), seeds=(0,), budget=90, batch=30, initial=30, multi_label=True,
        features=SMALL,
    )  # fmt: skip

    result = run_simulation(
        [data.texts[i] for i in pool], [""] * 600, data.Y[pool],
        [data.texts[i] for i in test], [""] * 200, data.Y[test],
        config=config, category_names=data.names,
    )  # fmt: skip

    summary = report.summarize(result, dataset=name)
    assert len(summary["rarest_categories"]) == 3
    assert summary["strategies"]["rare"]["final_labels"] == 90


def _curve(strategy, seed, values, labels=(10, 20, 30, 40)):
    from learning.ml.simulation import CurvePoint

    return [CurvePoint(strategy, seed, n, v, v, (0,)) for n, v in zip(labels, values, strict=True)]


def test_labels_to_random_final_on_the_mean_curves_computed_by_hand():
    config = SimulationConfig(
        strategies=("margin",), seeds=(0, 1), budget=40, batch=10, initial=10, multi_label=True
    )
    curves = {
        ("random", 0): _curve("random", 0, [0.3, 0.4, 0.45, 0.5]),
        ("random", 1): _curve("random", 1, [0.3, 0.5, 0.6, 0.7]),  # mean final: 0.6
        ("margin", 0): _curve("margin", 0, [0.4, 0.55, 0.65, 0.7]),
        ("margin", 1): _curve("margin", 1, [0.5, 0.6, 0.62, 0.7]),  # mean: .45 .575 .635 .7
    }

    out = report.mean_curve_crossing(curves, "margin", config)

    assert out["labels"] == 30 and out["fraction"] == pytest.approx(0.75)
    assert out["target"] == pytest.approx(0.6)
    # Resamples: both seeds 0 -> target 0.5, reached at 20; both 1 -> 0.7 at 40; one of each
    # -> as above, 30. So the interval spans 50 %..100 %, and P(<= 60 %) is P(both seed 0).
    assert out["interval_90"] == [0.5, 1.0]
    assert out["share_within_target"] == pytest.approx(0.25, abs=0.03)
    never = report.mean_curve_crossing(curves, "random", config)  # random vs its own final
    assert never["labels"] == 40 and never["fraction"] == 1.0


def test_a_mean_curve_that_never_reaches_random_says_so():
    config = SimulationConfig(
        strategies=("rare",), seeds=(0,), budget=40, batch=10, initial=10, multi_label=True
    )
    curves = {
        ("random", 0): _curve("random", 0, [0.3, 0.4, 0.45, 0.5]),
        ("rare", 0): _curve("rare", 0, [0.3, 0.35, 0.4, 0.45]),
    }

    out = report.mean_curve_crossing(curves, "rare", config)

    assert out["labels"] is None and out["fraction"] is None
    assert out["interval_90"] == [None, None] and out["share_within_target"] == 0.0


def test_the_verdict_uses_the_mean_curves(tiny_result):
    summary = report.summarize(tiny_result, rare=1)

    for name, row in summary["targets"]["per_strategy"].items():
        on_mean = summary["strategies"][name]["labels_to_random_final_mean_curve"]
        assert row["labels_fraction_mean_curve"] == on_mean["fraction"]
        met = on_mean["fraction"] is not None and on_mean["fraction"] <= 0.6
        assert row["f1_target_met"] is met
    assert "mean curves" in report.summary_markdown(summary)


def test_curves_read_back_from_csv_summarize_the_same(tiny_result):
    text = report.curves_csv(tiny_result, rare=1)
    seed0 = "\n".join(line for line in text.splitlines() if ",1," not in line[:30]) + "\n"
    seed1 = "\n".join(
        [text.splitlines()[0], *(line for line in text.splitlines()[1:] if ",1," in line[:30])]
    )

    back = report.result_from_csv(
        [seed0, seed1], config=tiny_result.config, category_names=["common", "uncommon", "rare"],
        pool_positives=list(tiny_result.pool_positives), pool_size=400, test_size=100,
    )  # fmt: skip

    assert report.summarize(back, rare=1) == report.summarize(tiny_result, rare=1)
    with pytest.raises(ValueError, match="repeat"):
        report.result_from_csv(
            [text, seed1], config=tiny_result.config, category_names=["common", "uncommon", "rare"],
            pool_positives=list(tiny_result.pool_positives), pool_size=400, test_size=100,
        )  # fmt: skip
    with pytest.raises(ValueError, match="expects"):
        report.result_from_csv(
            [seed0], config=tiny_result.config, category_names=["common", "uncommon", "rare"],
            pool_positives=list(tiny_result.pool_positives), pool_size=400, test_size=100,
        )  # fmt: skip
    with pytest.raises(ValueError, match="lacks column"):
        report.result_from_csv(
            [text], config=tiny_result.config, category_names=["common", "other", "rare"],
            pool_positives=list(tiny_result.pool_positives), pool_size=400, test_size=100,
        )  # fmt: skip


def test_a_shorter_budget_on_the_mean_curves_cuts_the_curves_there():
    config = SimulationConfig(
        strategies=("margin",), seeds=(0, 1), budget=40, batch=10, initial=10, multi_label=True
    )
    curves = {
        ("random", 0): _curve("random", 0, [0.3, 0.4, 0.45, 0.5]),
        ("random", 1): _curve("random", 1, [0.3, 0.5, 0.6, 0.7]),  # mean at 30: 0.525
        ("margin", 0): _curve("margin", 0, [0.4, 0.55, 0.65, 0.7]),
        ("margin", 1): _curve("margin", 1, [0.5, 0.6, 0.62, 0.7]),  # mean: .45 .575 ...
    }

    out = report.mean_curve_crossing(curves, "margin", config, budget=30)

    assert out["labels"] == 20 and out["fraction"] == pytest.approx(2 / 3)
    assert out["target"] == pytest.approx(0.525)

"""`manage.py simulate_learning` on a tiny CSV (no database: the command reads files only)."""

import csv
import json

import pytest
from django.core.management import CommandError, call_command

from tests.learning.ml.synthetic import make_dataset


def write_csv(path, n=300):
    texts, urls, Y = make_dataset(n, [0.3, 0.1, 0.03], multi_label=True, seed=9)
    names = ["common", "uncommon", "rare"]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "url", "labels"])
        for text, url, row in zip(texts, urls, Y, strict=True):
            writer.writerow([text, url, "|".join(n for n, v in zip(names, row, strict=True) if v)])


def test_the_command_writes_curves_and_a_summary(tmp_path, capsys):
    data = tmp_path / "tiny.csv"
    write_csv(data)
    out = tmp_path / "out"

    call_command(
        "simulate_learning", "--dataset", str(data), "--strategies", "rare,entropy,multilabel",
        "--seeds", "0,1", "--budget", "60", "--batch", "20", "--initial", "20",
        "--rare", "1", "--out", str(out),
    )  # fmt: skip

    summary = json.loads((out / "summary.json").read_text())
    assert summary["dataset"] == "tiny" and summary["multi_label"] is True
    assert set(summary["strategies"]) == {"random", "rare", "entropy", "multilabel"}
    assert summary["rarest_categories"] == ["rare"]
    assert (out / "curves.csv").read_text().startswith("strategy,seed,labels,macro_f1")
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "| rare |" in (out / "summary.md").read_text()
    assert "seed 1 multilabel" in capsys.readouterr().out


def test_a_missing_dataset_or_a_bad_strategy_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="No dataset found"):
        call_command("simulate_learning", "--dataset", str(tmp_path / "nothing.csv"))
    data = tmp_path / "tiny.csv"
    write_csv(data, n=60)
    with pytest.raises(CommandError, match="unknown strategy"):
        call_command(
            "simulate_learning", "--dataset", str(data), "--strategies", "bogus",
            "--out", str(tmp_path / "out"),
        )  # fmt: skip
    assert not (tmp_path / "out").exists()  # nothing written


def test_runs_of_disjoint_seeds_merge_into_one_summary(tmp_path):
    data = tmp_path / "tiny.csv"
    write_csv(data)
    common = ["--dataset", str(data), "--strategies", "rare", "--budget", "60", "--batch", "20",
              "--initial", "20", "--rare", "1"]  # fmt: skip
    for seeds, folder in (("0", "0"), ("1", "1"), ("0,1", "both")):
        call_command(
            "simulate_learning", *common, "--seeds", seeds, "--out", str(tmp_path / folder)
        )

    call_command(
        "simulate_learning", "--dataset", str(data), "--rare", "1",
        "--from-runs", f"{tmp_path / '0'},{tmp_path / '1'}", "--out", str(tmp_path / "merged"),
    )  # fmt: skip

    merged = json.loads((tmp_path / "merged" / "summary.json").read_text())
    both = json.loads((tmp_path / "both" / "summary.json").read_text())
    assert merged == both  # the same seeds run in one process
    assert (tmp_path / "merged" / "curves.csv").read_text() == (
        tmp_path / "both" / "curves.csv"
    ).read_text()

    with pytest.raises(CommandError, match="repeats seed"):
        call_command(
            "simulate_learning", "--dataset", str(data),
            "--from-runs", f"{tmp_path / '0'},{tmp_path / 'both'}", "--out", str(tmp_path / "x"),
        )  # fmt: skip
    call_command("simulate_learning", *common, "--seeds", "2", "--audit", "0.3",
                 "--out", str(tmp_path / "other"))  # fmt: skip
    with pytest.raises(CommandError, match="differs .* audit_share"):
        call_command(
            "simulate_learning", "--dataset", str(data),
            "--from-runs", f"{tmp_path / '0'},{tmp_path / 'other'}", "--out", str(tmp_path / "x"),
        )  # fmt: skip
    with pytest.raises(CommandError, match="no readable"):
        call_command(
            "simulate_learning", "--dataset", str(data), "--from-runs", str(tmp_path / "none"),
        )  # fmt: skip
    assert not (tmp_path / "x").exists()

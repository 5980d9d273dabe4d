"""One model run end to end on PostgreSQL: seconds per phase, and the length of the one write
transaction that puts the picks into the queue.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/learning_run_bench.py
    .venv/bin/python bench/learning_run_bench.py --gold 5000 --runs 3 --batch 200

A project `bench-learning-<gold>` holds GoEmotions' training comments (43,410, 28 categories;
../shared/datasets/goemotions): the first `--gold` get a current gold label with their
dataset labels, the rest are the unlabeled pool. Each run is requested and executed in this
process exactly as a worker would (`model_run_request`, `model_run_execute`); its `timings` are
what the run recorded. Prints a table per run and the median, and writes
bench/out/learning_run_bench.md.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from bench import common  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "goemotions"
PHASES = ["reading", "cross-validating", "training", "scoring", "selecting", "saving", "total"]


def _load() -> tuple[list[str], list[str]]:
    labels = (DATA / "labels.txt").read_text().split()
    with gzip.open(DATA / "train.tsv.gz", "rt", encoding="utf-8") as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle]
    return labels, rows


def _project(gold: int):
    from annotation.models import Category, GoldLabel, Item, Project

    slug = f"bench-learning-{gold}"
    project = Project.objects.filter(slug=slug).first()
    if project is not None:
        return project
    labels, rows = _load()
    project = Project.objects.create(slug=slug, name=f"Bench learning {gold}")
    keys = "123456789abcdefhijklmnopqtvwxy"
    categories = [
        Category.objects.create(project=project, name=name, hotkey=keys[i], order=i)
        for i, name in enumerate(labels)
    ]
    items = Item.objects.bulk_create(
        [
            Item(
                project=project,
                external_id=f"go-{i}",
                text=text,
                content_hash=hashlib.sha256(text.encode()).hexdigest(),
                priority=(i * 0.6180339887) % 1.0,
                open_slots=project.overlap,
            )
            for i, (text, *_rest) in enumerate(rows)
        ],
        batch_size=5000,
    )
    golds = GoldLabel.objects.bulk_create(
        [GoldLabel(project=project, item=item, source="consensus") for item in items[:gold]],
        batch_size=5000,
    )
    link = GoldLabel.categories.through
    link.objects.bulk_create(
        [
            link(goldlabel_id=g.pk, category_id=categories[int(c)].pk)
            for g, row in zip(golds, rows, strict=False)
            for c in row[1].split(",")
        ],
        batch_size=5000,
    )
    Item.objects.filter(pk__in=[i.pk for i in items[:gold]]).update(
        label_state=Item.LabelState.GOLD, annotation_count=project.overlap, open_slots=0
    )
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gold", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument(
        "--db-url", default=os.environ.get("BENCH_DATABASE_URL", common.DEFAULT_DB_URL)
    )
    args = parser.parse_args()

    common.ensure_database(args.db_url)
    common.setup_django(args.db_url)
    from django.conf import settings

    from learning.services.config import learning_config_update
    from learning.services.execute import model_run_execute
    from learning.services.runs import model_run_request

    # The task is called directly below, as a worker would; never also on commit.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from learning import tasks

    tasks.model_run_task.delay = lambda run_id: None

    project = _project(args.gold)
    learning_config_update(project=project, batch_size=args.batch)
    rows = []
    for _ in range(args.runs):
        run, _created = model_run_request(project=project, trigger="manual")
        start = time.monotonic()
        run = model_run_execute(run_id=run.pk)
        wall = time.monotonic() - start
        if run.status != "done":
            raise SystemExit(f"run {run.number} {run.status}: {run.error}")
        rows.append(
            [run.number, run.gold_count, run.pool_size, run.picked_count, run.metrics["released"]]
            + [run.timings.get(p, float("nan")) for p in PHASES]
            + [wall, run.artifact_size / 1024**2, round(run.metrics["macro_f1"], 3)]
        )
        print(rows[-1])
    headers = ["run", "gold", "pool", "picked", "released", *PHASES, "wall s", "artifact MB",
               "macro-F1"]  # fmt: skip
    medians = ["median", "", "", "", ""] + [
        common.median([r[i] for r in rows]) for i in range(5, len(headers) - 1)
    ]
    medians.append(f"{common.median([r[-1] for r in rows]):.3f}")
    info = common.machine_info()
    text = (
        f"# One model run, GoEmotions, {args.gold} gold labels, batch {args.batch}\n\n"
        f"{info['cores']} cores, {info['ram_gb']} GB, {info['cpu']}; PostgreSQL; seconds.\n\n"
        + common.md_table(headers, [[*r[:-1], f"{r[-1]:.3f}"] for r in rows] + [medians])
        + "\n"
    )
    print(text)
    print("written to", common.write_report("learning_run_bench.md", text))


if __name__ == "__main__":
    main()

"""One model run end to end on PostgreSQL: seconds per phase, the time until the queue has the
run's picks, and the peak memory of the process running it.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/learning_run_bench.py
    .venv/bin/python bench/learning_run_bench.py --gold 5000 --runs 3 --batch 200
    .venv/bin/python bench/learning_run_bench.py --gold 10000 --pool 100000 --runs 3
    .venv/bin/python bench/learning_run_bench.py --gold 10000 --pool 1000000 --runs 1

Without `--pool`, a project `bench-learning-<gold>` holds GoEmotions' training comments
(43,410, 28 categories; ../shared/datasets/goemotions): the first `--gold` get a current gold
label with their dataset labels, the rest are the unlabeled pool.

With `--pool N`, a project `bench-learning-<gold>-pool<N>` has the same gold labels and an
unlabeled pool of exactly N items: the remaining GoEmotions training comments, padded with
synthetic items recombined from sentences of the shared datasets (`bench/learning_pool.py`).
Everything is loaded with COPY (about 1 min per million items); the project is reused by later
invocations.

Each run is requested and executed in this process exactly as a worker would
(`model_run_request`, `model_run_execute`; the label-noise check a finished run asks for is
not part of it and is switched off here). Per run it reports:

- the seconds per phase as the run recorded them (`ModelRun.timings`);
- "picks saved": seconds from the start of the run until its picks were committed to the queue,
  as the run recorded it (`timings["picks saved at"]`; code that saved the picks last did not
  record it, and the total stands in);
- "picks seen": the same, observed from another database connection that polls for the run's
  pick rows every 0.1 s (the wall clock of the bench, so it includes claiming the run);
- "CPU s": CPU time of this process during the run (one thread: on a busy machine the wall
  times exceed it by the time the run waited for a core; PostgreSQL's own work is not in it);
- the peak RSS of this process during the run (the kernel's high-water mark, VmHWM, reset
  before each run), and the same sampled every 0.2 s as a cross-check. Load a large pool with
  `--runs 0` first: the loader's own memory then stays out of the measuring process.

Prints a table per run and the median, and writes bench/out/learning_run_bench[-<gold>-<N>].md.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import random
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("DJANGO_DEBUG", "0")  # as a worker runs: no query log kept in memory

from bench import common  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "goemotions"
# Known phases in the order runs go through them (older and newer orders); others are appended.
PHASE_ORDER = [
    "reading", "cross-validating", "training", "scoring", "selecting", "saving picks",
    "saving", "storing the model", "total",
]  # fmt: skip
HOTKEYS = "123456789abcdefhijklmnopqtvwxy"


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
    categories = [
        Category.objects.create(project=project, name=name, hotkey=HOTKEYS[i], order=i)
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


# ---------------------------------------------------------------- large pools (COPY)


def _copy_line(project_id: int, external_id: str, text: str, url: str, priority: float,
               gold: bool, overlap: int) -> str:  # fmt: skip
    text = text.replace("\x00", "")
    digest = hashlib.sha256(text.encode()).hexdigest()
    state, count, slots = ("gold", overlap, 0) if gold else ("pending", 0, overlap)
    return (
        f"{project_id}\t{external_id}\t{common._copy_escape(text)}\t{common._copy_escape(url)}\t"
        f"\t{{}}\t{digest}\t{priority:.9f}\t{count}\t{slots}\t2026-01-01 00:00:00+00\t{state}\n"
    )


def _pool_project(db_url: str, gold: int, pool: int, seed: int):
    """The project with `gold` gold-labeled GoEmotions comments and a pool of exactly `pool`
    unlabeled items (the other GoEmotions comments, then synthetic ones), loaded with COPY."""
    from annotation.models import Category, Item, Project
    from bench.learning_pool import Generator, describe

    slug = f"bench-learning-{gold}-pool{pool}"
    project = Project.objects.filter(slug=slug).first()
    if project is not None:
        if Item.objects.filter(project=project).count() == gold + pool:
            return project
        raise SystemExit(f"{slug} is incomplete (an interrupted load?); delete the project.")
    labels, rows = _load()
    if gold > len(rows):
        raise SystemExit(f"--gold is at most {len(rows)} (GoEmotions training comments)")
    project = Project.objects.create(slug=slug, name=f"Bench learning {gold} + {pool}")
    category_ids = [
        Category.objects.create(project=project, name=name, hotkey=HOTKEYS[i], order=i).pk
        for i, name in enumerate(labels)
    ]
    real_pool = rows[gold : gold + pool]
    synthetic = pool - len(real_pool)
    print(f"loading {gold} gold + {len(real_pool)} real + {synthetic} synthetic items …")
    started = time.perf_counter()
    rng = random.Random(seed)
    generator = Generator(seed)
    cols = (
        "project_id, external_id, text, url, title, metadata, content_hash, priority, "
        "annotation_count, open_slots, created_at, label_state"
    )
    with common.pg_connect(db_url) as conn:
        with conn.cursor() as cur, cur.copy(f"COPY annotation_item ({cols}) FROM STDIN") as copy:
            buf = []
            for i, (text, *_rest) in enumerate(rows[: gold + len(real_pool)]):
                buf.append(_copy_line(project.pk, f"go-{i}", text, "", rng.random(), i < gold,
                                      project.overlap))  # fmt: skip
            for j in range(synthetic):
                text, url = generator.item()
                buf.append(_copy_line(project.pk, f"syn-{j}", text, url, rng.random(), False,
                                      project.overlap))  # fmt: skip
                if len(buf) >= 50_000:
                    copy.write("".join(buf))
                    buf = []
            copy.write("".join(buf))
        conn.execute(
            "INSERT INTO annotation_goldlabel (project_id, item_id, none_of_these, source, current,"
            " rationale, guideline_ref, guidelines_version, annotation_ids, created_at)"
            " SELECT project_id, id, false, 'consensus', true, '', '', 1, '[]', created_at"
            " FROM annotation_item WHERE project_id = %s AND label_state = 'gold'",
            [project.pk],
        )
        conn.execute("CREATE TEMP TABLE bench_links (external_id text, category_id bigint)")
        with conn.cursor() as cur, cur.copy("COPY bench_links FROM STDIN") as copy:
            copy.write(
                "".join(
                    f"go-{i}\t{category_ids[int(c)]}\n"
                    for i, row in enumerate(rows[:gold])
                    for c in row[1].split(",")
                )
            )
        conn.execute(
            "INSERT INTO annotation_goldlabel_categories (goldlabel_id, category_id)"
            " SELECT g.id, l.category_id FROM bench_links l"
            " JOIN annotation_item i ON i.project_id = %s AND i.external_id = l.external_id"
            " JOIN annotation_goldlabel g ON g.item_id = i.id AND g.current",
            [project.pk],
        )
        conn.commit()
    with common.pg_connect(db_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE annotation_item")
        conn.execute("VACUUM ANALYZE annotation_goldlabel")
        conn.execute("VACUUM ANALYZE annotation_goldlabel_categories")
    print(f"loaded in {time.perf_counter() - started:.1f} s; {describe(seed=seed)}")
    return project


# ---------------------------------------------------------------- measuring one run


def _vm_hwm() -> int:
    """Peak RSS of this process since the last reset (bytes); 0 where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _reset_vm_hwm() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class _PicksWatch:
    """Polls, from its own connection, for the first pick row of a run; records when it is
    visible (committed) relative to `start`."""

    def __init__(self, db_url: str, run_id: int, start: float):
        self.db_url, self.run_id, self.start = db_url, run_id, start
        self.seen: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with common.pg_connect(self.db_url, autocommit=True) as conn:
            while not self._stop.is_set():
                row = conn.execute(
                    "SELECT 1 FROM learning_pickeditem WHERE run_id = %s LIMIT 1", [self.run_id]
                ).fetchone()
                if row:
                    self.seen = time.monotonic() - self.start
                    return
                self._stop.wait(0.1)

    def __enter__(self) -> _PicksWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        # Picks committed at the very end of a run are seen within a poll or two.
        self._thread.join(timeout=1.0)
        self._stop.set()
        self._thread.join()


def _measure(db_url: str, project) -> dict:
    from learning.services.execute import model_run_execute
    from learning.services.runs import model_run_request

    run, _created = model_run_request(project=project, trigger="manual")
    before = psutil.Process().memory_info().rss
    exact = _reset_vm_hwm()
    cpu_start = time.process_time()
    start = time.monotonic()
    with (
        common.PeakRss(os.getpid(), interval=0.2) as sampled,
        _PicksWatch(db_url, run.pk, start) as watch,
    ):
        run = model_run_execute(run_id=run.pk)
        wall = time.monotonic() - start
        cpu = time.process_time() - cpu_start
    if run.status != "done":
        raise SystemExit(f"run {run.number} {run.status}: {run.error}")
    timings = dict(run.timings)
    return {
        "run": run.number,
        "gold": run.gold_count,
        "pool": run.pool_size,
        "picked": run.picked_count,
        "released": run.metrics.get("released"),
        "timings": timings,
        "picks saved": timings.get("picks saved at", timings["total"]),
        "picks seen": watch.seen if watch.seen is not None else float("nan"),
        "wall": wall,
        "cpu": cpu,
        "before MB": before / 1024**2,
        "peak MB": (_vm_hwm() if exact else sampled.peak) / 1024**2,
        "sampled MB": sampled.peak / 1024**2,
        "artifact MB": run.artifact_size / 1024**2,
        "macro-F1": run.metrics.get("macro_f1", float("nan")),
        "features": "hashed" if run.features.get("hashing") else "vocabulary",
    }


def _report(args, rows: list[dict]) -> str:
    keys = [p for p in PHASE_ORDER if any(p in r["timings"] for r in rows)]
    keys += sorted({k for r in rows for k in r["timings"]} - set(keys) - {"picks saved at"})
    headers = [
        "run", "gold", "pool", "picked", "released", *keys, "picks saved", "picks seen",
        "wall s", "CPU s", "RSS before MB", "peak RSS MB", "sampled MB", "artifact MB", "macro-F1",
    ]  # fmt: skip
    table = []
    for r in rows:
        table.append(
            [r["run"], r["gold"], r["pool"], r["picked"], r["released"]]
            + [r["timings"].get(k, float("nan")) for k in keys]
            + [
                r["picks saved"],
                r["picks seen"],
                r["wall"],
                r["cpu"],
                r["before MB"],
                r["peak MB"],
                r["sampled MB"],
                r["artifact MB"],
                f"{r['macro-F1']:.3f}",
            ]  # fmt: skip
        )
    medians = ["median", "", "", "", ""] + [
        common.median([row[i] for row in table]) for i in range(5, len(headers) - 1)
    ]
    medians.append(f"{common.median([r['macro-F1'] for r in rows]):.3f}")
    info = common.machine_info()
    pool = f"pool {args.pool:,}" if args.pool else "the rest of GoEmotions train as pool"
    load = os.getloadavg()
    return (
        f"# One model run, GoEmotions, {args.gold:,} gold labels, {pool}, batch {args.batch}\n\n"
        f"{info['cores']} cores, {info['ram_gb']} GB, {info['cpu']}; PostgreSQL; "
        f"{rows[0]['features']} features; seconds; load average after the runs "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.\n\n"
        f"Command: `{' '.join(sys.argv)}`\n\n" + common.md_table(headers, table + [medians]) + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gold", type=int, default=5000)
    parser.add_argument("--pool", type=int, default=0,
                        help="unlabeled pool size, padded with synthetic items (default: the "
                        "GoEmotions training comments without a gold label)")  # fmt: skip
    parser.add_argument("--runs", type=int, default=3, help="0: only load the project")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic items")
    parser.add_argument(
        "--db-url", default=os.environ.get("BENCH_DATABASE_URL", common.DEFAULT_DB_URL)
    )
    args = parser.parse_args()

    common.ensure_database(args.db_url)
    common.setup_django(args.db_url)
    from django.conf import settings

    from learning.services.config import learning_config_update

    # The task is called directly below, as a worker would; never also on commit. The
    # label-noise check a finished run requests is a run of its own, not measured here.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.GOLDSET["LEARNING_NOISE_AFTER_MODEL_RUN"] = False
    from learning import tasks

    tasks.model_run_task.delay = lambda run_id: None

    if args.pool:
        project = _pool_project(args.db_url, args.gold, args.pool, args.seed)
    else:
        project = _project(args.gold)
    learning_config_update(project=project, batch_size=args.batch)
    rows = []
    for _ in range(args.runs):
        rows.append(_measure(args.db_url, project))
        r = rows[-1]
        print(
            f"run {r['run']}: picks saved {r['picks saved']:.1f} s (seen {r['picks seen']:.1f}),"
            f" total {r['timings']['total']:.1f} s, peak {r['peak MB']:.0f} MB, {r['timings']}",
            flush=True,
        )
    if not rows:
        return
    text = _report(args, rows)
    print(text)
    name = f"learning_run_bench-{args.gold}-{args.pool}.md" if args.pool else (
        "learning_run_bench.md"
    )  # fmt: skip
    print("written to", common.write_report(name, text))


if __name__ == "__main__":
    main()

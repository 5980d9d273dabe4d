"""Freeze and Parquet export of a 1M-item version on PostgreSQL: seconds and peak memory.

    .venv/bin/python bench/datacards_bench.py                    # 1M items, 3 runs
    .venv/bin/python bench/datacards_bench.py --items 10000 --runs 1   # quick check

1. Creates/migrates the bench database (`goldset_dcbench`; --db-url or BENCH_DATABASE_URL) and
   a project `dcbench-<items>` with 5 categories and 20 annotators, reused when it exists:
   <items> synthetic items loaded with COPY (label state gold, 10% picked by "uncertainty" with
   an inclusion probability of 0.2), then set-based INSERT … SELECT: one current gold label per
   item (10% none of these, else one category), two annotations per item by different
   annotators with their category links (one annotator in ten disagrees).
2. Each run starts from no versions (TRUNCATE of the datacards tables; TRUNCATE is not stopped by
   the row triggers), runs `VACUUM ANALYZE`, then in a child process (the Celery worker's role):
   the freeze (`version_freeze_start` + `version_freeze_run`), publish, and the Parquet export
   (`export_job_create` + `export_job_run`, which re-hashes every row while writing).
   Peak RSS of the child's process tree is sampled every 0.2 s (PostgreSQL's own memory is not
   in it); the child reports its own timings.
3. Writes bench/out/datacards_bench.md: machine, dataset, per-run figures and the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    ROOT,
    PeakRss,
    bench_env,
    ensure_database,
    machine_info,
    md_table,
    median,
    pg_connect,
    setup_django,
    synthetic_text,
    write_report,
)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/goldset_dcbench"
CATEGORIES = ["Adult Content", "Violence", "Self-Harm", "Hate", "Social Media"]
ANNOTATORS = 20


# --------------------------------------------------------------------------- data


def _ensure_project(n_items: int):
    from django.contrib.auth import get_user_model

    from annotation.models import Category, Item, Membership, Project

    User = get_user_model()
    slug = f"dcbench-{n_items}"
    project = Project.objects.filter(slug=slug).first()
    if project is not None and Item.objects.filter(project=project).count() == n_items:
        return project, False
    if project is not None:
        raise SystemExit(f"{slug} exists with another item count; drop the bench database.")
    project = Project.objects.create(name=f"Datacards bench {n_items}", slug=slug, overlap=2)
    for i, name in enumerate(CATEGORIES):
        Category.objects.create(project=project, name=name, hotkey=str(i + 1), order=i)
    for i in range(ANNOTATORS):
        user, _ = User.objects.get_or_create(username=f"dcbench-a{i:02d}")
        Membership.objects.get_or_create(user=user, project=project, role="annotator")
    User.objects.get_or_create(username="dcbench-scientist")
    return project, True


def _load(db_url: str, project_id: int, n_items: int) -> float:
    started = time.perf_counter()
    rng = random.Random(7)
    null = "\\N"
    cols = (
        "project_id, external_id, text, url, title, metadata, content_hash, priority, "
        "annotation_count, open_slots, created_at, label_state, selection_reason, "
        "inclusion_probability"
    )
    with pg_connect(db_url) as conn:
        with conn.cursor() as cur, cur.copy(f"COPY annotation_item ({cols}) FROM STDIN") as copy:
            batch = []
            for i in range(n_items):
                text = synthetic_text(rng, i).replace("\t", " ")
                picked = i % 10 == 0
                batch.append(
                    f"{project_id}\tdc-{i:07d}\t{text}\thttps://site{i % 997}.example/p/{i}\t\t"
                    f'{{"source": "bench", "n": {i}}}\t{i:064x}\t{rng.random():.9f}\t2\t0\t'
                    f"2026-01-01 00:00:00+00\tgold\t{'uncertainty' if picked else 'random'}\t"
                    f"{'0.2' if picked else null}\n"
                )
                if len(batch) == 50_000:
                    copy.write("".join(batch))
                    batch = []
            copy.write("".join(batch))
        cats = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM annotation_category WHERE project_id = %s ORDER BY id",
                [project_id],
            )
        ]
        users = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM auth_user WHERE username LIKE 'dcbench-a%%' ORDER BY id"
            )
        ]
        conn.execute(
            "INSERT INTO annotation_goldlabel (project_id, item_id, none_of_these, source, current,"
            " rationale, guideline_ref, guidelines_version, annotation_ids, created_at)"
            " SELECT project_id, id, id %% 10 = 3, 'consensus', true, '', '', 1, '[]',"
            " TIMESTAMPTZ '2026-02-01' + (id %% 1000) * INTERVAL '1 minute'"
            " FROM annotation_item WHERE project_id = %s",
            [project_id],
        )
        conn.execute(
            "INSERT INTO annotation_goldlabel_categories (goldlabel_id, category_id)"
            " SELECT g.id, (%s::bigint[])[1 + (g.item_id * 7) %% 5] FROM annotation_goldlabel g"
            " WHERE g.project_id = %s AND NOT g.none_of_these",
            [cats, project_id],
        )
        for slot in (0, 1):
            conn.execute(
                "INSERT INTO annotation_annotation (item_id, annotator_id, none_of_these, unsure,"
                " comment, time_spent_ms, idempotency_key, created_at)"
                " SELECT i.id, (%s::bigint[])[1 + (i.id + %s) %% %s], i.id %% 10 = 3, false, '',"
                " 3000, md5(i.id::text || '-' || %s), TIMESTAMPTZ '2026-01-15'"
                " + (i.id %% 5000) * INTERVAL '1 minute'"
                " FROM annotation_item i WHERE i.project_id = %s",
                [users, slot, len(users), slot, project_id],
            )
        conn.execute(
            "INSERT INTO annotation_annotation_categories (annotation_id, category_id)"
            " SELECT a.id, CASE WHEN a.id %% 10 = 0 THEN (%s::bigint[])[1 + (a.item_id * 3) %% 5]"
            " ELSE (%s::bigint[])[1 + (a.item_id * 7) %% 5] END"
            " FROM annotation_annotation a JOIN annotation_item i ON i.id = a.item_id"
            " WHERE i.project_id = %s AND NOT a.none_of_these",
            [cats, cats, project_id],
        )
        conn.commit()
    return time.perf_counter() - started


def _reset(db_url: str) -> None:
    with pg_connect(db_url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE datacards_exportjob, datacards_curationnote, datacards_versionitem,"
            " datacards_datasetversion, datacards_annotatorpseudonym"
        )
        conn.execute("VACUUM ANALYZE")


# --------------------------------------------------------------------------- child


def child(project_id: int) -> None:
    """Freeze, publish, export to Parquet; print timings as JSON (runs in its own process)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from annotation.models import Project
    from datacards.services.exports import export_job_create, export_job_run
    from datacards.services.freeze import version_freeze_run
    from datacards.services.versions import version_freeze_start, version_publish

    user = get_user_model().objects.get(username="dcbench-scientist")
    project = Project.objects.get(pk=project_id)
    started, cpu = time.perf_counter(), time.process_time()
    with transaction.atomic():
        version = version_freeze_start(project=project, user=user)
    version = version_freeze_run(version_id=version.pk)
    frozen, frozen_cpu = time.perf_counter(), time.process_time()
    assert version.status == "draft", version.error
    version = version_publish(version=version, user=user)
    export_started = time.perf_counter()
    # With eager tasks (no broker) the export runs when its job is committed, inside create.
    job, _ = export_job_create(version=version, user=user, format="parquet")
    job = export_job_run(job_id=job.pk)
    done, done_cpu = time.perf_counter(), time.process_time()
    assert job.status == "done", job.error
    print(
        json.dumps(
            {
                "freeze_s": frozen - started,
                "freeze_cpu_s": frozen_cpu - cpu,
                "export_s": done - export_started,
                "export_cpu_s": done_cpu - frozen_cpu,
                "items": version.item_count,
                "annotations": version.annotation_count,
                "parquet_mb": job.file_size / 1024**2,
                "hash": version.content_hash,
            }
        )
    )


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--out", default="datacards_bench.md")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        setup_django(args.db_url)
        child(args.child)
        return

    ensure_database(args.db_url)
    setup_django(args.db_url)
    project, created = _ensure_project(args.items)
    load_s = _load(args.db_url, project.pk, args.items) if created else None
    if load_s is not None:
        print(f"loaded {args.items} items with gold labels and 2 annotations in {load_s:.0f} s")
    media = Path(tempfile.mkdtemp(prefix="dcbench-media-"))
    env = bench_env(
        args.db_url, DJANGO_SETTINGS_MODULE="config.settings.local", GOLDSET_MEDIA_ROOT=str(media)
    )
    results = []
    for run in range(1, args.runs + 1):
        _reset(args.db_url)
        load = os.getloadavg()[0]
        proc = subprocess.Popen(
            [sys.executable, __file__, "--db-url", args.db_url, "--child", str(project.pk)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        with PeakRss(proc.pid, interval=0.2) as rss:
            out, _ = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"run {run} failed")
        figures = json.loads(out.strip().splitlines()[-1])
        figures.update(peak_mb=rss.peak / 1024**2, load=load)
        results.append(figures)
        print(
            f"run {run}: freeze {figures['freeze_s']:.1f} s (CPU {figures['freeze_cpu_s']:.1f}),"
            f" parquet export {figures['export_s']:.1f} s (CPU {figures['export_cpu_s']:.1f}),"
            f" peak {figures['peak_mb']:.0f} MB (load {load:.1f})"
        )
    _report(args, results, load_s)


def _report(args, results: list[dict], load_s) -> None:
    info = machine_info()
    keys = ("freeze_s", "freeze_cpu_s", "export_s", "export_cpu_s", "peak_mb", "parquet_mb", "load")
    rows = [[i + 1, *(r[k] for k in keys)] for i, r in enumerate(results)]
    rows.append(["median", *(median([r[k] for r in results]) for k in keys)])
    hashes = {r["hash"] for r in results}
    text = "\n".join(
        [
            "# datacards benchmark: freeze and Parquet export",
            "",
            f"Machine: {info['cores']} cores, {info['ram_gb']} GB, {info['cpu']}, Python "
            f"{info['python']}; PostgreSQL on the same machine (shared with other work).",
            f"Dataset: {results[0]['items']} items with gold labels, {results[0]['annotations']} "
            "annotations (2 per item, 20 annotators), 10% picked by uncertainty (π = 0.2).",
            f"Command: `.venv/bin/python bench/datacards_bench.py --items {args.items} "
            f"--runs {args.runs}`",
            "",
            md_table(
                [
                    "run",
                    "freeze s",
                    "(worker CPU s)",
                    "parquet export s",
                    "(worker CPU s)",
                    "peak RSS MB",
                    "parquet MB",
                    "load 1m",
                ],
                rows,
            ),
            "",
            f"Content hash identical in every run: {len(hashes) == 1} (`{sorted(hashes)[0]}`).",
            "",
        ]
    )
    path = write_report(args.out, text)
    print(f"report: {path}")


if __name__ == "__main__":
    main()

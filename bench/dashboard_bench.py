"""Lead dashboard at 1M annotations: the agreement snapshot's computation time and memory, then
the dashboard page and the agreement / annotator API timed warm (median of N requests).

Dataset (project `bench-dashboard` in the bench database, built once and reused while its
annotation count matches): 333,334 items × 3 annotators = 1,000,002 annotations over 10
categories with prevalences from 0.1 % to 20 %, drawn from a pool of 12 annotators of varying
care (one sloppy); 50 gold questions answered by all 12; consensus gold where the three agree,
adjudicated gold for 5 % of the disagreements and open adjudication cases for the rest; 1 %
skipped leases. Everything is loaded with COPY.

Steps:
1. Build the dataset (first run: about a minute).
2. `agreement_snapshot_compute` in this process, `--snapshot-runs` times: seconds (load and
   computation separately) and peak RSS.
3. Django test client, logged in as the project's lead, with Redis (db 12) as cache and
   broker like production, `--requests` requests each after 3 warm-up requests: the dashboard
   page with the progress figures fresh in the cache; with them older than 30 s (the page
   shows them and queues one background refresh); a first view with nothing cached (every
   progress aggregate computed in the request: once per project after a cache flush); the
   agreement API and the annotator API. Median and p95 in ms. Redis db 12 is emptied at the
   end.

    .venv/bin/python bench/dashboard_bench.py            # full (1M annotations)
    .venv/bin/python bench/dashboard_bench.py --items 10000 --requests 10   # quick check
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

SLUG = "bench-dashboard"
CATEGORIES = [
    ("Adult Content", 0.20), ("Social Media", 0.12), ("Violence", 0.06), ("Hate", 0.03),
    ("Gambling", 0.02), ("Drugs", 0.01), ("Weapons", 0.005), ("Extremism", 0.003),
    ("Self-Harm", 0.002), ("Child Safety", 0.001),
]  # fmt: skip
POOL = 12
BROKER_URL = "redis://127.0.0.1:6379/12"
PER_ITEM = 3
GOLD_QUESTIONS = 50


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--db-url", default=os.environ.get("BENCH_DATABASE_URL", common.DEFAULT_DB_URL)
    )
    parser.add_argument("--items", type=int, default=333_334, help="items with 3 annotations")
    parser.add_argument("--snapshot-runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--out", default="dashboard_bench.md")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


# ---------------------------------------------------------------- dataset


def _copy(conn, table: str, columns: list[str], lines) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        buf = io.StringIO()
        for n, line in enumerate(lines, 1):
            buf.write(line)
            if n % 100_000 == 0:
                cp.write(buf.getvalue())
                buf = io.StringIO()
        cp.write(buf.getvalue())


def _reserve_ids(conn, table: str, n: int) -> int:
    """First of `n` consecutive ids for explicit-id COPY (the table is locked meanwhile)."""
    conn.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
    seq = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table]).fetchone()[0]
    start = conn.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}").fetchone()[0]  # noqa: S608
    conn.execute("SELECT setval(%s, %s)", [seq, start + n])
    return start


def _ts(seconds_ago: np.ndarray, now: float) -> list[str]:
    return [
        time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(now - s)) for s in seconds_ago.tolist()
    ]


def simulate(n_items: int, seed: int) -> dict:
    """Annotators' labels from true labels with per-annotator misses and false alarms."""
    rng = np.random.default_rng(seed)
    prevalence = np.array([p for _, p in CATEGORIES])
    truth = rng.random((n_items, len(CATEGORIES))) < prevalence
    who = rng.random((n_items, POOL)).argsort(axis=1)[:, :PER_ITEM]
    miss = np.linspace(0.08, 0.3, POOL)
    false_alarm = np.linspace(0.001, 0.01, POOL)
    miss[-1], false_alarm[-1] = 0.5, 0.05  # one sloppy annotator
    labels = np.empty((n_items, PER_ITEM, len(CATEGORIES)), dtype=bool)
    for s in range(PER_ITEM):
        a = who[:, s]
        r = rng.random((n_items, len(CATEGORIES)))
        labels[:, s] = np.where(truth, r >= miss[a, None], r < false_alarm[a, None])
    return {"truth": truth, "who": who, "labels": labels, "rng": rng}


def ensure_database(db_url: str) -> None:
    """Create the bench database if missing and migrate the apps this bench reads (annotation
    and what its pages need: sessions, tokens), not every app: a half-finished migration of
    an unrelated app must not stop it."""
    import subprocess

    name = common._db_name(db_url)
    with common.pg_connect(common._admin_url(db_url), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            print(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')
    env = common.bench_env(db_url, DJANGO_SETTINGS_MODULE="config.settings.local")
    for app in ("annotation", "sessions", "authtoken"):
        subprocess.run(
            [sys.executable, "manage.py", "migrate", app, "--noinput", "-v", "0"],
            cwd=common.ROOT, env=env, check=True,
        )  # fmt: skip


def build_dataset(db_url: str, n_items: int, seed: int) -> dict:
    ensure_database(db_url)
    common.setup_django(db_url)
    from django.contrib.auth import get_user_model

    from annotation.models import Annotation, Category, Membership, Project, Role

    User = get_user_model()
    project, _ = Project.objects.get_or_create(
        slug=SLUG, defaults={"name": "Dashboard bench", "overlap": PER_ITEM}
    )
    for i, (name, _) in enumerate(CATEGORIES):
        Category.objects.get_or_create(
            project=project, name=name, defaults={"hotkey": "1234567890"[i], "order": i}
        )
    lead, _ = User.objects.get_or_create(username="bench-dashboard-lead")
    Membership.objects.get_or_create(user=lead, project=project, defaults={"role": Role.LEAD})
    names = [f"bench-dash-annotator-{i:02d}" for i in range(POOL)]
    for name in names:
        User.objects.get_or_create(username=name)
    users = list(User.objects.filter(username__in=names).order_by("username"))
    want = n_items * PER_ITEM + GOLD_QUESTIONS * POOL
    have = Annotation.objects.filter(item__project=project).count()
    info = {"project_id": project.pk, "lead_id": lead.pk, "annotations": want, "built_s": None}
    if have == want:
        return info
    print(f"building the dataset: {n_items} items, {want} annotations (had {have}) …", flush=True)
    started = time.perf_counter()
    cat_ids = [Category.objects.get(project=project, name=name).pk for name, _ in CATEGORIES]
    with common.pg_connect(db_url) as conn:
        _load(conn, project.pk, lead.pk, [u.pk for u in users], cat_ids, n_items, seed)
        conn.commit()
    with common.pg_connect(db_url, autocommit=True) as conn:
        for table in (
            "annotation_item", "annotation_annotation", "annotation_annotation_categories",
            "annotation_goldlabel", "annotation_goldlabel_categories",
            "annotation_adjudicationcase", "annotation_assignment",
        ):  # fmt: skip
            conn.execute(f"VACUUM ANALYZE {table}")
    info["built_s"] = time.perf_counter() - started
    print(f"built in {info['built_s']:.0f} s", flush=True)
    return info


CLEAR_PROJECT_SQL = [
    "DELETE FROM annotation_annotation_categories WHERE annotation_id IN "
    "(SELECT a.id FROM annotation_annotation a JOIN annotation_item i ON i.id = a.item_id "
    "WHERE i.project_id = %s)",
    "DELETE FROM annotation_adjudicationcase_categories WHERE adjudicationcase_id IN "
    "(SELECT id FROM annotation_adjudicationcase WHERE project_id = %s)",
    "DELETE FROM annotation_goldlabel_categories WHERE goldlabel_id IN "
    "(SELECT id FROM annotation_goldlabel WHERE project_id = %s)",
    "DELETE FROM annotation_adjudicationcase WHERE project_id = %s",
    "DELETE FROM annotation_goldlabel WHERE project_id = %s",
    "DELETE FROM annotation_assignment WHERE project_id = %s",
    "DELETE FROM annotation_annotation WHERE item_id IN "
    "(SELECT id FROM annotation_item WHERE project_id = %s)",
    "DELETE FROM annotation_agreementsnapshot WHERE project_id = %s",
    "DELETE FROM annotation_item WHERE project_id = %s",
]


def _load(conn, project_id, lead_id, user_ids, cat_ids, n_items, seed) -> None:
    # Django cascades deletes in Python, not in the database: delete the link tables first.
    for statement in CLEAR_PROJECT_SQL:
        conn.execute(statement, [project_id])
    common.copy_items(conn, project_id=project_id, n=n_items + GOLD_QUESTIONS, overlap=PER_ITEM,
                      seed=seed, prefix=SLUG)  # fmt: skip
    item_ids = np.array(
        conn.execute(
            "SELECT id FROM annotation_item WHERE project_id = %s ORDER BY id", [project_id]
        ).fetchall(),
        dtype=np.int64,
    ).ravel()
    items, questions = item_ids[:n_items], item_ids[n_items:]
    sim = simulate(n_items, seed)
    rng, labels, who, truth = sim["rng"], sim["labels"], sim["who"], sim["truth"]
    users = np.array(user_ids, dtype=np.int64)
    cats = np.array(cat_ids, dtype=np.int64)
    now = time.time()

    # Annotations: the regular items (3 each), then every annotator on every gold question.
    q_truth = rng.random((GOLD_QUESTIONS, len(cats))) < 0.15
    q_labels = np.where(
        q_truth[:, None, :], rng.random((GOLD_QUESTIONS, POOL, len(cats))) > 0.1,
        rng.random((GOLD_QUESTIONS, POOL, len(cats))) < 0.02,
    )  # fmt: skip
    ann_item = np.concatenate([np.repeat(items, PER_ITEM), np.repeat(questions, POOL)])
    ann_user = np.concatenate([users[who].ravel(), np.tile(users, GOLD_QUESTIONS)])
    ann_labels = np.concatenate([labels.reshape(-1, len(cats)), q_labels.reshape(-1, len(cats))])
    n = ann_item.size
    start = _reserve_ids(conn, "annotation_annotation", n)
    ids = np.arange(start, start + n)
    none = ~ann_labels.any(axis=1)
    spent = np.clip(rng.lognormal(np.log(8000), 0.6, n), 500, 600_000).astype(np.int64)
    when = _ts(rng.random(n) * 30 * 86400, now)
    cols = ["id", "item_id", "annotator_id", "none_of_these", "unsure", "comment",
            "time_spent_ms", "idempotency_key", "created_at"]  # fmt: skip
    _copy(
        conn, "annotation_annotation", cols,
        (f"{i}\t{it}\t{u}\t{'t' if nn else 'f'}\tf\t\t{t}\tbd-{i}\t{w}\n"
         for i, it, u, nn, t, w in zip(ids.tolist(), ann_item.tolist(), ann_user.tolist(),
                                      none.tolist(), spent.tolist(), when, strict=True)),
    )  # fmt: skip
    rows, cols_ = np.nonzero(ann_labels)
    _copy(
        conn, "annotation_annotation_categories", ["annotation_id", "category_id"],
        (f"{a}\t{c}\n" for a, c in zip(ids[rows].tolist(), cats[cols_].tolist(), strict=True)),
    )  # fmt: skip
    conn.execute(
        "UPDATE annotation_item SET annotation_count = %s, open_slots = 0 WHERE project_id = %s",
        [PER_ITEM, project_id],
    )
    conn.execute(
        "UPDATE annotation_item SET is_gold_question = true, annotation_count = %s "
        "WHERE id = ANY(%s)",
        [POOL, questions.tolist()],
    )
    _load_gold(conn, project_id, lead_id, items, questions, labels, truth, q_truth, cats, rng, now)
    _load_skips(conn, project_id, items, users, rng, now)


def _load_gold(conn, project_id, lead_id, items, questions, labels, truth, q_truth, cats, rng, now):
    agree = (labels == labels[:, :1]).all(axis=(1, 2))
    adjudicated = ~agree & (rng.random(items.size) < 0.05)
    open_cases = ~agree & ~adjudicated
    gold_items = np.concatenate([items[agree], items[adjudicated], questions])
    gold_labels = np.concatenate([labels[agree, 0], truth[adjudicated], q_truth])
    source = (["consensus"] * int(agree.sum()) + ["adjudication"] * int(adjudicated.sum())
              + ["known"] * questions.size)  # fmt: skip
    n = gold_items.size
    start = _reserve_ids(conn, "annotation_goldlabel", n)
    ids = np.arange(start, start + n)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(now))
    cols = [
        "id", "project_id", "item_id", "none_of_these", "source", "current", "decided_by_id",
        "rationale", "guideline_ref", "guidelines_version", "annotation_ids", "created_at",
    ]  # fmt: skip
    none = ~gold_labels.any(axis=1)
    _copy(
        conn, "annotation_goldlabel", cols,
        (f"{i}\t{project_id}\t{it}\t{'t' if nn else 'f'}\t{s}\tt\t"
         f"{lead_id if s != 'consensus' else chr(92) + 'N'}\t\t\t1\t[]\t{stamp}\n"
         for i, it, nn, s in zip(ids.tolist(), gold_items.tolist(), none.tolist(), source,
                                 strict=True)),
    )  # fmt: skip
    rows, cols_ = np.nonzero(gold_labels)
    _copy(
        conn, "annotation_goldlabel_categories", ["goldlabel_id", "category_id"],
        (f"{g}\t{c}\n" for g, c in zip(ids[rows].tolist(), cats[cols_].tolist(), strict=True)),
    )  # fmt: skip
    case_items = items[open_cases]
    when = _ts(rng.random(case_items.size) * 14 * 86400, now)
    cols = ["project_id", "item_id", "reason", "status", "priority", "details", "created_at",
            "note"]  # fmt: skip
    _copy(
        conn, "annotation_adjudicationcase", cols,
        (f"{project_id}\t{it}\tdisagreement\topen\t{p:.4f}\t{{}}\t{w}\t\n"
         for it, p, w in zip(case_items.tolist(), rng.random(case_items.size).tolist(), when,
                             strict=True)),
    )  # fmt: skip


def _load_skips(conn, project_id, items, users, rng, now) -> None:
    n = items.size * PER_ITEM // 100
    picked_items = rng.choice(items, n)
    picked_users = rng.choice(users, n)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(now))
    cols = ["project_id", "item_id", "annotator_id", "state", "skip_reason", "created_at",
            "expires_at", "closed_at"]  # fmt: skip
    _copy(
        conn, "annotation_assignment", cols,
        (f"{project_id}\t{it}\t{u}\tskipped\tnot sure\t{stamp}\t{stamp}\t{stamp}\n"
         for it, u in zip(picked_items.tolist(), picked_users.tolist(), strict=True)),
    )  # fmt: skip


# ---------------------------------------------------------------- measuring


def time_snapshots(project_id: int, runs: int) -> list[dict]:
    from annotation.services.agreement import agreement_snapshot_compute

    results = []
    for run in range(runs):
        with common.PeakRss(os.getpid(), interval=0.2) as rss:
            started = time.perf_counter()
            snapshot = agreement_snapshot_compute(project_id=project_id)
            seconds = time.perf_counter() - started
        if snapshot.status != "done":
            raise SystemExit(f"snapshot failed: {snapshot.error}")
        t = snapshot.data["timings"]
        results.append(
            {"run": run + 1, "total_s": seconds, "load_s": t["load_s"],
             "categories_s": t["categories_s"], "set_level_s": t["set_level_s"],
             "annotators_s": t["annotators_s"], "peak_rss": rss.peak,
             "annotations": snapshot.annotation_count,
             "json_kb": len(json.dumps(snapshot.data)) / 1024}
        )  # fmt: skip
        print(
            f"snapshot run {run + 1}: {seconds:.1f} s, peak RSS {common.mb(rss.peak)}", flush=True
        )
    return results


def time_requests(project_id: int, lead_id: int, n: int) -> list[list]:
    import dataclasses
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.test import Client

    from annotation import stats
    from annotation.models import Project

    project = Project.objects.get(pk=project_id)
    key = stats.dashboard_cache_key(project)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(pk=lead_id))

    def age_progress() -> None:
        # Figures older than 30 s: the page shows them and queues one background refresh.
        cached = cache.get(key)
        if cached is not None:
            old = dataclasses.replace(cached, as_of=cached.as_of - timedelta(minutes=5))
            cache.set(key, old, 3600)
        cache.delete(f"dashboard:refreshing:{project_id}")

    page = f"/p/{project.slug}/"
    cases = [
        ("dashboard page, progress figures fresh in the cache", page, None),
        ("dashboard page, progress figures stale (refresh queued)", page, age_progress),
        ("dashboard page, first view (nothing cached)", page, lambda: cache.delete(key)),
        ("GET /api/projects/{slug}/agreement/", f"/api/projects/{project.slug}/agreement/", None),
        ("GET /api/projects/{slug}/annotators/", f"/api/projects/{project.slug}/annotators/", None),
    ]
    rows = []
    for label, url, before in cases:
        for _ in range(3):
            assert client.get(url).status_code == 200
        seconds, size = [], 0
        runs = n if before is None or before is age_progress else max(3, n // 4)
        for _ in range(runs):
            if before is not None:
                before()
            started = time.perf_counter()
            response = client.get(url)
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
            size = len(response.content)
        s = common.latency_summary(seconds)
        rows.append([label, s["n"], common.median([x * 1000 for x in seconds]), s["p95"],
                     f"{size / 1024:.0f} KB"])  # fmt: skip
        print(f"{label}: median {rows[-1][2]:.1f} ms, p95 {s['p95']:.1f} ms", flush=True)
    return rows


def main() -> int:
    args = parse_args()
    os.environ.setdefault("DJANGO_DEBUG", "0")  # no query log, as in production
    # Production-like: Redis as cache and broker, so the dashboard's background refresh is
    # queued (nothing consumes it here; the queue is emptied at the end).
    os.environ.setdefault("CELERY_BROKER_URL", BROKER_URL)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    load_before = os.getloadavg()[0]
    info = build_dataset(args.db_url, args.items, args.seed)
    snaps = time_snapshots(info["project_id"], args.snapshot_runs)
    try:
        requests = time_requests(info["project_id"], info["lead_id"], args.requests)
    finally:
        import redis

        redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).flushdb()
    machine = common.machine_info()
    med = {k: common.median([r[k] for r in snaps]) for k in snaps[0] if k != "run"}
    text = "\n\n".join(
        [
            "# Dashboard bench",
            f"Machine: {machine['cores']} cores, {machine['ram_gb']} GB, {machine['cpu']}; "
            f"Python {machine['python']}; 1-min load average before: {load_before:.1f} "
            "(shared with other work).",
            f"Dataset: `{SLUG}`, {args.items:,} items × {PER_ITEM} annotators from a pool of "
            f"{POOL} + {GOLD_QUESTIONS} gold questions × {POOL} = {info['annotations']:,} "
            f"annotations, {len(CATEGORIES)} categories (prevalence 0.1 %–20 %)."
            + (f" Built in {info['built_s']:.0f} s." if info["built_s"] else ""),
            f"Command: `.venv/bin/python bench/dashboard_bench.py --items {args.items} "
            f"--snapshot-runs {args.snapshot_runs} --requests {args.requests}`",
            "## Snapshot computation (in-process, 1000 bootstrap replicates)",
            common.md_table(
                [
                    "run",
                    "total s",
                    "load s",
                    "per-category s",
                    "set-level s",
                    "annotators s",
                    "peak RSS",
                    "snapshot JSON",
                ],
                [
                    [
                        r["run"],
                        r["total_s"],
                        r["load_s"],
                        r["categories_s"],
                        r["set_level_s"],
                        r["annotators_s"],
                        common.mb(r["peak_rss"]),
                        f"{r['json_kb']:.0f} KB",
                    ]
                    for r in snaps
                ]
                + [
                    [
                        "median",
                        med["total_s"],
                        med["load_s"],
                        med["categories_s"],
                        med["set_level_s"],
                        med["annotators_s"],
                        common.mb(med["peak_rss"]),
                        f"{med['json_kb']:.0f} KB",
                    ]
                ],
            ),  # fmt: skip
            "## Requests (Django test client, lead, warm)",
            common.md_table(["request", "n", "median ms", "p95 ms", "body"], requests),
        ]
    )
    path = common.write_report(args.out, text + "\n")
    print(f"\n{text}\n\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

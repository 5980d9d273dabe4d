"""Queue benchmark: claim-next and submit over HTTP on PostgreSQL + gunicorn.

Simulated annotators (aiohttp, one process) call the REST API exactly as a client would:
POST /api/projects/{slug}/next/ then POST /api/projects/{slug}/items/{id}/submit/ with a random
category and a unique idempotency key.

  scenario A: 200 annotators who think ~2 s (with jitter) between claim and submit
  scenario B: 20 annotators with no think time (throughput)

Afterwards the database is checked (no item over its overlap, no duplicate annotator per item,
every submit the client saw succeed is stored, annotations + active leases never exceed the
overlap) and the report goes to bench/out/queue_bench.md.

    .venv/bin/python bench/queue_bench.py --items 1000000 --runs 3 --duration 60
    .venv/bin/python bench/queue_bench.py --items 10000 --duration 15 --runs 1   # quick
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import runpy
import shlex
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, fmt, latency_summary, md_table, median  # noqa: E402

CATEGORIES = ["Adult Content", "Violence", "Self-Harm", "Hate", "Social Media"]
CACHE_URL = "redis://127.0.0.1:6379/10"


# ---------------------------------------------------------------- dataset and users


def prepare_dataset(db_url: str, n_items: int, overlap: int, n_users: int) -> dict:
    """The bench project of `n_items` items (reused when the count matches) and its users."""
    common.ensure_database(db_url)
    common.setup_django(db_url)
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from annotation.models import Category, Item, Membership, Project, Role

    slug = f"bench-{n_items}"
    project, _ = Project.objects.get_or_create(
        slug=slug, defaults={"name": f"Queue bench {n_items}", "overlap": overlap}
    )
    Project.objects.filter(pk=project.pk).update(overlap=overlap, lease_minutes=10)
    for i, name in enumerate(CATEGORIES):
        Category.objects.get_or_create(
            project=project, name=name, defaults={"hotkey": str(i + 1), "order": i}
        )
    category_ids = list(Category.objects.filter(project=project).values_list("pk", flat=True))

    load_seconds = None
    have = Item.objects.filter(project=project).count()
    if have != n_items:
        print(f"loading {n_items} items with COPY (had {have}) …", flush=True)
        with common.pg_connect(db_url) as conn:
            conn.execute("DELETE FROM annotation_item WHERE project_id = %s", [project.pk])
            load_seconds = common.copy_items(
                conn, project_id=project.pk, n=n_items, overlap=overlap, prefix=slug
            )
            conn.commit()
        with common.pg_connect(db_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE annotation_item")
        print(f"loaded in {load_seconds:.1f} s", flush=True)

    User = get_user_model()
    names = [f"bench-annotator-{i:03d}" for i in range(n_users)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    User.objects.bulk_create(
        [User(username=n, password="!") for n in names if n not in existing]  # noqa: S106
    )
    users = list(User.objects.filter(username__in=names).order_by("username"))
    member_ids = set(
        Membership.objects.filter(project=project, user__in=users).values_list("user_id", flat=True)
    )
    Membership.objects.bulk_create(
        [
            Membership(user=u, project=project, role=Role.ANNOTATOR)
            for u in users
            if u.pk not in member_ids
        ]
    )
    have_token = set(Token.objects.filter(user__in=users).values_list("user_id", flat=True))
    Token.objects.bulk_create(
        [Token(key=Token.generate_key(), user=u) for u in users if u.pk not in have_token]
    )
    tokens = list(
        Token.objects.filter(user__in=users)
        .order_by("user__username")
        .values_list("key", flat=True)
    )
    return {
        "slug": slug,
        "project_id": project.pk,
        "category_ids": category_ids,
        "tokens": tokens,
        "load_seconds": load_seconds,
    }


def reset_queue(db_url: str, project_id: int, overlap: int) -> None:
    """Empty annotations, leases and the audit log; reopen every slot touched by earlier runs."""
    with common.pg_connect(db_url) as conn:
        conn.execute(
            "TRUNCATE annotation_annotation_categories, annotation_annotation, "
            "annotation_assignment, annotation_labelevent"
        )
        conn.execute(
            "UPDATE annotation_item SET annotation_count = 0, open_slots = %s "
            "WHERE project_id = %s AND (annotation_count <> 0 OR open_slots <> %s)",
            [overlap, project_id, overlap],
        )
        conn.commit()
    with common.pg_connect(db_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE annotation_item")
    try:
        import redis

        redis.Redis.from_url(CACHE_URL).flushdb()
    except Exception as exc:  # noqa: BLE001 - the cache only holds a progress figure
        print(f"(could not clear the cache: {exc})")


# ---------------------------------------------------------------- gunicorn


def start_gunicorn(db_url: str, port: int, extra_env: dict) -> subprocess.Popen:
    env = common.bench_env(
        db_url,
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY="bench-only-secret-key-not-for-production-0123456789",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_COOKIES="0",
        DJANGO_LOG_LEVEL="WARNING",
        CACHE_URL=CACHE_URL,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_ACCESSLOG="",
        GUNICORN_LOGLEVEL="warning",
        **extra_env,
    )
    env.pop("CELERY_BROKER_URL", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    return subprocess.Popen(
        [str(gunicorn), "-c", "config/gunicorn.conf.py", "config.wsgi:application"],
        cwd=ROOT,
        env=env,
    )


async def wait_ready(base: str, slug: str, token: str, proc: subprocess.Popen) -> None:
    import aiohttp

    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("gunicorn exited during start-up")
            try:
                async with session.get(
                    f"{base}/api/projects/{slug}/", headers={"Authorization": f"Token {token}"}
                ) as r:
                    if r.status == 200:
                        return
                    raise RuntimeError(f"GET project: {r.status} {await r.text()}")
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.3)
    raise RuntimeError("gunicorn did not answer within 60 s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------- simulated annotators


@dataclass
class Stats:
    measure_from: float
    measure_to: float
    claim: list = field(default_factory=list)
    submit: list = field(default_factory=list)
    submitted_in_window: int = 0
    ok_keys: set = field(default_factory=set)  # every submit the client saw succeed
    errors: int = 0
    error_samples: list = field(default_factory=list)
    empty_claims: int = 0
    retries: int = 0  # requests re-sent once after a dropped keep-alive connection

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(what[:200])

    def measured(self, started: float) -> bool:
        return self.measure_from <= started < self.measure_to


async def _post(session, url: str, payload: dict, headers: dict, stats: Stats):
    """POST and read the answer; one retry when the server dropped a kept-alive connection
    (the same body again: a submit carries its idempotency key, so the retry is safe)."""
    import aiohttp

    for attempt in (1, 2):
        try:
            async with session.post(url, json=payload, headers=headers) as r:
                body = await r.json() if r.status in (200, 201) else await r.text()
                return r.status, body
        except aiohttp.ClientConnectionError:
            if attempt == 2:
                raise
            stats.retries += 1
    raise AssertionError("unreachable")


async def annotator(session, base, slug, token, category_ids, think, stats, stop_at, seed):
    rng = random.Random(seed)
    headers = {"Authorization": f"Token {token}"}
    await asyncio.sleep(rng.random() * min(think, 1.0))  # do not all start on the same tick
    while time.monotonic() < stop_at:
        t0 = time.monotonic()
        try:
            status, body = await _post(
                session, f"{base}/api/projects/{slug}/next/", {}, headers, stats
            )
        except Exception as exc:  # noqa: BLE001 - counted as an error of the run
            stats.error(f"next: {exc!r}")
            await asyncio.sleep(0.5)
            continue
        if stats.measured(t0):
            stats.claim.append(time.monotonic() - t0)
        if status == 204:
            stats.empty_claims += 1
            await asyncio.sleep(1.0)
            continue
        if status != 200:
            stats.error(f"next {status}: {body}")
            await asyncio.sleep(0.5)
            continue
        item_id = body["item"]["id"]
        if think:
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))
        key = uuid.uuid4().hex
        payload = {
            "categories": [rng.choice(category_ids)],
            "idempotency_key": key,
            "time_spent_ms": int(think * 1000),
        }
        t1 = time.monotonic()
        url = f"{base}/api/projects/{slug}/items/{item_id}/submit/"
        try:
            status, body = await _post(session, url, payload, headers, stats)
        except Exception as exc:  # noqa: BLE001
            stats.error(f"submit: {exc!r}")
            continue
        done = time.monotonic()
        if status in (200, 201):
            stats.ok_keys.add(key)
            if stats.measured(t1):
                stats.submit.append(done - t1)
            if stats.measure_from <= done < stats.measure_to:
                stats.submitted_in_window += 1
        else:
            stats.error(f"submit {status}: {body}")


async def run_scenario(base, data, n_annotators, think, warmup, duration) -> Stats:
    import aiohttp

    start = time.monotonic()
    stats = Stats(measure_from=start + warmup, measure_to=start + warmup + duration)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(
            *(
                annotator(
                    session,
                    base,
                    data["slug"],
                    data["tokens"][i],
                    data["category_ids"],
                    think,
                    stats,
                    stats.measure_to,
                    seed=i,
                )
                for i in range(n_annotators)
            )
        )
    return stats


# ---------------------------------------------------------------- database checks


def db_checks(db_url: str, project_id: int, overlap: int, ok_keys: set) -> dict:
    with common.pg_connect(db_url) as conn:
        over = conn.execute(
            "SELECT count(*) FROM annotation_item WHERE project_id = %s AND annotation_count > %s",
            [project_id, overlap],
        ).fetchone()[0]
        dupes = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM annotation_annotation a "
            "JOIN annotation_item i ON i.id = a.item_id WHERE i.project_id = %s "
            "GROUP BY a.item_id, a.annotator_id HAVING count(*) > 1) d",
            [project_id],
        ).fetchone()[0]
        stored = {
            k
            for (k,) in conn.execute(
                "SELECT a.idempotency_key FROM annotation_annotation a "
                "JOIN annotation_item i ON i.id = a.item_id WHERE i.project_id = %s",
                [project_id],
            )
        }
        held_over = conn.execute(
            """
            WITH a AS (SELECT item_id, count(*) n FROM annotation_annotation GROUP BY item_id),
                 l AS (SELECT item_id, count(*) n FROM annotation_assignment
                       WHERE state = 'active' GROUP BY item_id),
                 t AS (SELECT coalesce(a.item_id, l.item_id) item_id,
                              coalesce(a.n, 0) + coalesce(l.n, 0) n
                       FROM a FULL JOIN l ON a.item_id = l.item_id)
            SELECT count(*) FROM t JOIN annotation_item i ON i.id = t.item_id
            WHERE i.project_id = %s AND t.n > %s
            """,
            [project_id, overlap],
        ).fetchone()[0]
    return {
        "items over overlap": over,
        "duplicate (item, annotator)": dupes,
        "client-confirmed submits missing": len(ok_keys - stored),
        "annotations stored": len(stored),
        "items with annotations + active leases > overlap": held_over,
    }


# The claim query as item_claim_next sends it (parameters: project id, annotator id).
CLAIM_SQL = (
    "SELECT i.* FROM annotation_item i WHERE i.project_id = %s AND i.open_slots > 0 "
    "AND NOT EXISTS (SELECT 1 FROM annotation_assignment u WHERE u.item_id = i.id "
    "AND u.annotator_id = %s) ORDER BY i.priority DESC, i.id ASC LIMIT 1 "
    "FOR UPDATE SKIP LOCKED"
)


def explain_claim(db_url: str, project_id: int) -> str:
    """EXPLAIN ANALYZE of the claim query for one bench annotator (rolled back)."""
    with common.pg_connect(db_url) as conn:
        user_id = conn.execute(
            "SELECT min(user_id) FROM annotation_membership WHERE project_id = %s", [project_id]
        ).fetchone()[0]
        rows = conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS) " + CLAIM_SQL, [project_id, user_id]
        ).fetchall()
        conn.rollback()
    return "\n".join(r[0] for r in rows)


def claim_cost_vs_seen(db_url: str, project_id: int, ns=(0, 1000, 5000, 20000)) -> list[list]:
    """Execution time of the claim query for an annotator who was already assigned the `n`
    highest-priority items while their other slot is still open (the claim must walk past
    them). Each case runs in a transaction that is rolled back."""
    rows = []
    for n in ns:
        with common.pg_connect(db_url) as conn:
            user_id = conn.execute(
                "SELECT min(user_id) FROM annotation_membership WHERE project_id = %s",
                [project_id],
            ).fetchone()[0]
            conn.execute(
                """
                INSERT INTO annotation_assignment
                  (project_id, item_id, annotator_id, state, skip_reason, created_at, expires_at)
                SELECT %(p)s, id, %(u)s, 'submitted', '', now(), now() FROM annotation_item
                WHERE project_id = %(p)s AND open_slots > 0
                ORDER BY priority DESC, id LIMIT %(n)s
                """,
                {"p": project_id, "u": user_id, "n": n},
            )
            conn.execute(
                "UPDATE annotation_item SET open_slots = 1 WHERE id IN (SELECT item_id FROM "
                "annotation_assignment WHERE annotator_id = %s AND state = 'submitted')",
                [user_id],
            )
            conn.execute("ANALYZE annotation_assignment")
            plan = conn.execute(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + CLAIM_SQL, [project_id, user_id]
            ).fetchone()[0][0]
            conn.rollback()
        rows.append([n, round(plan["Execution Time"], 2)])
    return rows


# ---------------------------------------------------------------- one full run


def _gunicorn_env(args) -> dict:
    chosen = {
        "GUNICORN_WORKER_CLASS": args.worker_class,
        "GUNICORN_WORKERS": args.workers,
        "GUNICORN_THREADS": args.threads,
    }
    return {k: str(v) for k, v in chosen.items() if v}


def gunicorn_effective(args) -> str:
    """The worker set-up config/gunicorn.conf.py gives with this run's overrides."""
    saved = dict(os.environ)
    os.environ.update(_gunicorn_env(args))
    try:
        conf = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    threads = f" × {conf['threads']} threads" if conf["worker_class"] == "gthread" else ""
    return f"{conf['workers']} {conf['worker_class']} workers{threads}"


def one_run(args, data, scenario: str, n_annotators: int, think: float) -> dict:
    reset_queue(args.db_url, data["project_id"], args.overlap)
    base = f"http://127.0.0.1:{args.port}"
    gunicorn_env = _gunicorn_env(args)
    load_before = os.getloadavg()[0]
    proc = start_gunicorn(args.db_url, args.port, gunicorn_env)
    try:
        asyncio.run(wait_ready(base, data["slug"], data["tokens"][0], proc))
        with common.PeakRss(proc.pid) as server_mem, common.PeakRss(os.getpid()) as client_mem:
            stats = asyncio.run(
                run_scenario(base, data, n_annotators, think, args.warmup, args.duration)
            )
    finally:
        stop(proc)
    checks = db_checks(args.db_url, data["project_id"], args.overlap, stats.ok_keys)
    claim = latency_summary(stats.claim)
    submit = latency_summary(stats.submit)
    result = {
        "scenario": scenario,
        "claim": claim,
        "submit": submit,
        "throughput": stats.submitted_in_window / args.duration,
        "errors": stats.errors,
        "error_samples": stats.error_samples,
        "empty_claims": stats.empty_claims,
        "retries": stats.retries,
        "checks": checks,
        "server_peak_rss": server_mem.peak,
        "client_peak_rss": client_mem.peak,
        "load_before": load_before,
        "server_cpu_ms_per_annotation": server_mem.cpu_seconds
        * 1000
        / max(1, checks["annotations stored"]),
    }
    print(
        f"  {scenario}: claim p50 {claim['p50']:.1f} p95 {claim['p95']:.1f} "
        f"p99 {claim['p99']:.1f} ms | submit p50 {submit['p50']:.1f} p95 {submit['p95']:.1f} "
        f"p99 {submit['p99']:.1f} ms | {result['throughput']:.1f} annotations/s | "
        f"errors {stats.errors} | checks {checks} | server {common.mb(server_mem.peak)}",
        flush=True,
    )
    for sample in stats.error_samples[:3]:
        print(f"    error: {sample}")
    return result


def summarise(runs: list[dict]) -> list[list]:
    def med(path):
        values = []
        for r in runs:
            v = r
            for p in path:
                v = v[p]
            values.append(v)
        return values, median(values)

    rows = []
    for label, path in [
        ("claim p50 (ms)", ("claim", "p50")),
        ("claim p95 (ms)", ("claim", "p95")),
        ("claim p99 (ms)", ("claim", "p99")),
        ("submit p50 (ms)", ("submit", "p50")),
        ("submit p95 (ms)", ("submit", "p95")),
        ("submit p99 (ms)", ("submit", "p99")),
        ("claims measured", ("claim", "n")),
        ("submits measured", ("submit", "n")),
        ("throughput (annotations/s)", ("throughput",)),
        ("errors", ("errors",)),
        ("empty claims (204)", ("empty_claims",)),
        ("requests retried after a dropped connection", ("retries",)),
        ("gunicorn CPU per annotation, claim + submit (ms)", ("server_cpu_ms_per_annotation",)),
        ("1-min load average before the run", ("load_before",)),
    ]:
        values, m = med(path)
        rows.append([label, *[fmt(v) for v in values], fmt(m)])
    for label, key in [
        ("gunicorn peak RSS (master + workers)", "server_peak_rss"),
        ("client peak RSS", "client_peak_rss"),
    ]:
        values = [r[key] for r in runs]
        rows.append([label, *[common.mb(v) for v in values], common.mb(median(values))])
    return rows


def report(args, data, results: dict, explain: str, seen_rows: list) -> str:
    m = common.machine_info()
    lines = [
        "# Queue benchmark",
        "",
        f"- machine: {m['cores']} cores, {m['ram_gb']} GB RAM, {m['cpu']}; Python {m['python']}",
        f"- dataset: {args.items:,} items, overlap {args.overlap}, 5 categories, "
        f"{len(data['tokens'])} annotator accounts with API tokens",
        f"- items loaded with COPY in {data['load_seconds']:.1f} s"
        if data["load_seconds"] is not None
        else "- items reused from an earlier run (annotations, leases and audit log reset)",
        f"- server: gunicorn, {gunicorn_effective(args)} (config/gunicorn.conf.py), "
        "config.settings.production, PostgreSQL 15 and Redis on the same machine",
        f"- each scenario: {args.warmup} s warm-up (excluded), {args.duration} s measured, "
        f"{args.runs} run(s); the last column is the median of the runs",
        f"- command: `{' '.join(shlex.quote(a) for a in [sys.executable, *sys.argv])}`",
        "",
    ]
    titles = {
        "A": f"## Scenario A: {args.annotators} annotators, think {args.think} s ± 50 %",
        "B": f"## Scenario B: {args.fast_annotators} annotators, no think time",
    }
    for scenario, runs in results.items():
        lines += [titles[scenario], ""]
        headers = ["metric", *[f"run {i + 1}" for i in range(len(runs))], "median"]
        lines += [md_table(headers, summarise(runs)), ""]
        lines += ["Database checks after each run (all must be 0 but the stored count):", ""]
        keys = list(runs[0]["checks"])
        lines += [
            md_table(
                ["check", *[f"run {i + 1}" for i in range(len(runs))]],
                [[k, *[r["checks"][k] for r in runs]] for k in keys],
            ),
            "",
        ]
        samples = [s for r in runs for s in r["error_samples"]][:5]
        if samples:
            lines += ["Error samples:", "", *[f"- `{s}`" for s in samples], ""]
    if seen_rows:
        lines += [
            "## Claim cost when the annotator has already handled the top items",
            "",
            "The claim walks the queue index in priority order and skips items this annotator "
            "was already assigned. When they are far ahead of the others (e.g. the first to "
            "label an overlap-2 project), those items keep an open slot and sit above every "
            "item they may take, so the walk grows with their number "
            "(EXPLAIN ANALYZE execution time, rolled back):",
            "",
            md_table(["items already handled, slot still open", "claim query (ms)"], seen_rows),
            "",
        ]
    if explain:
        lines += [
            "## The claim query (EXPLAIN ANALYZE, after the runs)",
            "",
            "```",
            explain,
            "```",
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--annotators", type=int, default=200)
    parser.add_argument("--fast-annotators", type=int, default=20)
    parser.add_argument("--think", type=float, default=2.0)
    parser.add_argument("--overlap", type=int, default=2)
    parser.add_argument("--port", type=int, default=8811)
    parser.add_argument("--scenarios", default="AB")
    parser.add_argument(
        "--db-url", default=os.environ.get("BENCH_DATABASE_URL", common.DEFAULT_DB_URL)
    )
    parser.add_argument("--out", default="queue_bench.md")
    parser.add_argument("--worker-class", default="", help="gunicorn: sync or gthread")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=0, help="gunicorn threads per process")
    args = parser.parse_args()

    data = prepare_dataset(args.db_url, args.items, args.overlap, args.annotators)
    plan = {"A": (args.annotators, args.think), "B": (args.fast_annotators, 0.0)}
    results: dict = {}
    for scenario in args.scenarios:
        n, think = plan[scenario]
        results[scenario] = []
        for run in range(args.runs):
            print(f"scenario {scenario}, run {run + 1}/{args.runs} …", flush=True)
            results[scenario].append(one_run(args, data, scenario, n, think))
    explain = explain_claim(args.db_url, data["project_id"])
    seen_rows = claim_cost_vs_seen(args.db_url, data["project_id"]) if args.items >= 20000 else []
    text = report(args, data, results, explain, seen_rows)
    path = common.write_report(args.out, text)
    print(text)
    print(f"written to {path}")
    failed = any(
        v
        for runs in results.values()
        for r in runs
        for k, v in r["checks"].items()
        if k != "annotations stored"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

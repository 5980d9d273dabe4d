"""Import benchmark: items/s and peak memory of `manage.py import_items` on PostgreSQL.

    .venv/bin/python bench/import_bench.py              # 1M rows, 3 runs
    .venv/bin/python bench/import_bench.py --rows 10000 # quick check

Generates (once, cached in bench/out/) a CSV of synthetic items with a fixed seed: id, text of
100-400 characters from a word list, url, title and a metadata column. Each run imports it into
a fresh project on the PostgreSQL given by DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/goldset_bench; the database is created and migrated if
missing) in a subprocess, measuring wall time and the subprocess's peak RSS (psutil polling).
The previous run's items are deleted first, so every run starts from the same table.
Prints items/s per run and the median, and writes bench/out/import_bench.md.
"""

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/goldset_bench"
SEED = 20240601
SLUG_PREFIX = "bench-import-"

_WORD_TEXT = (
    "the a of and to in is that it for on with as was at by this be from or an are have not "
    "but they you he she we his her their our your my post page site forum thread reply link "
    "video photo image comment review message chat group channel news story report update "
    "game music movie film show series episode season player team match score win lose fight "
    "weapon blood gun knife attack war army police crime arrest court law judge prison "
    "health doctor hospital pain sad alone tired sleep help hope friend family love hate "
    "angry people group city country world local today tomorrow yesterday night morning shop "
    "buy sell price deal offer free sale money bank card pay account login password school "
    "student teacher class exam study learn book read write word language english food "
    "recipe cook kitchen dinner lunch coffee tea water travel hotel flight trip beach car "
    "bike train bus road street house home garden dog cat pet animal nature weather social "
    "media follow like share subscribe profile account online internet web app phone"
)
WORDS = _WORD_TEXT.split()


def _text(rng: random.Random) -> str:
    target = rng.randint(100, 400)
    words: list[str] = []
    length = 0
    while length < target:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:target].strip().capitalize() + "."


def dataset(rows: int) -> Path:
    """The cached CSV for `rows` rows (generated on first use)."""
    import csv

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"items_{rows}.csv"
    if path.exists():
        return path
    rng = random.Random(SEED)
    tmp = path.with_suffix(".tmp")
    sources = ["forum", "chat", "news", "social", "search"]
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text", "url", "title", "source"])
        for i in range(rows):
            writer.writerow(
                [
                    f"item-{i:08d}",
                    _text(rng),
                    f"https://{rng.choice(WORDS)}{rng.randint(1, 999)}.example/{i}",
                    " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))).title(),
                    rng.choice(sources),
                ]
            )
    tmp.rename(path)
    return path


def _env(database_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "GOLDSET_MEDIA_ROOT": str(OUT / "media"),
        "CELERY_BROKER_URL": "",
    }


def database_prepare(database_url: str) -> None:
    import psycopg

    base, name = database_url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=_env(database_url),
        check=True,
    )


def project_fresh(database_url: str, run: int) -> str:
    """Delete earlier benchmark projects (items by plain SQL) and their stored uploads, and
    create a new project."""
    import psycopg

    shutil.rmtree(OUT / "media", ignore_errors=True)
    slug = f"{SLUG_PREFIX}{os.getpid()}-{run}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        old = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM annotation_project WHERE slug LIKE %s", [SLUG_PREFIX + "%"]
            )
        ]
        for pid in old:
            conn.execute("DELETE FROM annotation_item WHERE project_id = %s", [pid])
            conn.execute("DELETE FROM annotation_importjob WHERE project_id = %s", [pid])
            conn.execute("DELETE FROM annotation_category WHERE project_id = %s", [pid])
            conn.execute("DELETE FROM annotation_membership WHERE project_id = %s", [pid])
            conn.execute("DELETE FROM annotation_project WHERE id = %s", [pid])
        if old:
            conn.execute("VACUUM ANALYZE annotation_item")
    # Through the ORM, so every column of the current schema gets its default.
    code = (
        "from annotation.models import Project; "
        f"Project.objects.create(name='Import bench {run}', slug='{slug}', overlap=2)"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=_env(database_url),
        check=True,
    )
    return slug


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_run(database_url: str, slug: str, path: Path) -> tuple[float, int, float, str]:
    """Wall seconds, peak RSS bytes, CPU seconds and output of one `import_items` subprocess."""
    cpu_before = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "import_items", slug, str(path)],
        cwd=ROOT,
        env=_env(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    watched = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    output = proc.stdout.read() if proc.stdout else ""
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"import_items failed ({proc.returncode}):\n{output[-3000:]}")
    return seconds, peak, _children_cpu() - cpu_before, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DB)
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("The import benchmark runs on PostgreSQL (COPY); set DATABASE_URL.")

    started = time.perf_counter()
    path = dataset(args.rows)
    print(
        f"dataset {path.name}: {path.stat().st_size / 1024**2:.0f} MB "
        f"({time.perf_counter() - started:.0f} s to prepare)"
    )
    database_prepare(args.database_url)
    results = []
    for run in range(1, args.runs + 1):
        slug = project_fresh(args.database_url, run)
        load = os.getloadavg()[0]
        seconds, peak, cpu, output = import_run(args.database_url, slug, path)
        rate = args.rows / seconds
        results.append((seconds, rate, peak, cpu, load))
        print(
            f"run {run}: {seconds:.1f} s, {rate:,.0f} items/s, peak RSS {peak / 1024**2:.0f} MB, "
            f"importer CPU {cpu:.1f} s, load average before {load:.1f}"
        )
        if run == 1:
            print("  " + output.strip().splitlines()[-1])
    median_rate = statistics.median(r[1] for r in results)
    print(f"median: {median_rate:,.0f} items/s")

    lines = [
        f"### Import: {args.rows:,} CSV rows into PostgreSQL ({path.stat().st_size / 1024**2:.0f}"
        " MB file)",
        "",
        f"`manage.py import_items` in a subprocess, {os.cpu_count()} CPU cores. Wall time "
        "includes storing and hashing the upload, validating every row and COPY in one "
        "transaction (into an empty project validation and COPY run at the same time: the "
        "importer on one core, PostgreSQL on the other). Fresh project per run; generated by "
        "`bench/import_bench.py`. The load average is the machine's before the run: other "
        "work on these 2 cores slows the import roughly in proportion.",
        "",
        "| run | seconds | items/s | peak RSS | importer CPU s | load avg |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for i, (seconds, rate, peak, cpu, load) in enumerate(results, start=1):
        lines.append(
            f"| {i} | {seconds:.1f} | {rate:,.0f} | {peak / 1024**2:.0f} MB | {cpu:.1f} "
            f"| {load:.1f} |"
        )
    lines += ["", f"Median: **{median_rate:,.0f} items/s**.", ""]
    (OUT / "import_bench.md").write_text("\n".join(lines))
    print(f"wrote {OUT / 'import_bench.md'}")


if __name__ == "__main__":
    main()

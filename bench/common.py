"""Helpers shared by the benchmark scripts: the bench database, a fast COPY loader of synthetic
items, process-tree memory sampling, percentiles and Markdown output.

Benchmarks run against PostgreSQL (the production database); nothing here is imported by the
application. Run scripts from the project root with the virtualenv's Python.
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench" / "out"
DEFAULT_DB_URL = "postgres://postgres@127.0.0.1:5432/goldset_bench"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Synthetic text: neutral words only (the benchmark measures the queue, not the content).
_WORDS_TEXT = (
    "the a of to and in is it for on with as at by this that from or be are was page post "
    "site link video photo news sport game music shop price free online forum comment reply "
    "user account login share follow friend group chat message review guide recipe travel "
    "weather school work health film book story people city world today week"
)
WORDS = _WORDS_TEXT.split()


# ---------------------------------------------------------------- machine and environment


def machine_info() -> dict:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": psutil.cpu_count(logical=True),
        "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "cpu": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def bench_env(db_url: str, **extra: str) -> dict:
    """Environment for child processes (manage.py, gunicorn) pointed at the bench database."""
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def _db_name(db_url: str) -> str:
    return urlsplit(db_url).path.lstrip("/")


def _admin_url(db_url: str) -> str:
    parts = urlsplit(db_url)
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, parts.fragment))


def pg_connect(db_url: str, **kwargs):
    import psycopg

    return psycopg.connect(db_url.replace("postgres://", "postgresql://", 1), **kwargs)


def ensure_database(db_url: str) -> None:
    """Create the bench database if missing and apply migrations (quick when up to date)."""
    name = _db_name(db_url)
    with pg_connect(_admin_url(db_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            print(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=bench_env(db_url, DJANGO_SETTINGS_MODULE="config.settings.local"),
        check=True,
    )


def setup_django(db_url: str) -> None:
    """Use the ORM in this process (creating users, tokens, projects)."""
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()


# ---------------------------------------------------------------- data loading


def synthetic_text(rng: random.Random, n: int) -> str:
    words = rng.choices(WORDS, k=rng.randint(8, 30))
    return f"Post {n}: " + " ".join(words)


def _copy_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def copy_items(
    conn,
    *,
    project_id: int,
    n: int,
    overlap: int,
    seed: int = 1,
    batch: int = 50_000,
    prefix: str = "bench",
) -> float:
    """Load `n` synthetic items with COPY (uniform random priority, open_slots = overlap).

    Returns the seconds taken. The caller commits.
    """
    rng = random.Random(seed)
    started = time.perf_counter()
    cols = (
        "project_id, external_id, text, url, title, metadata, content_hash, priority, "
        "annotation_count, open_slots, created_at"
    )
    with conn.cursor() as cur, cur.copy(f"COPY annotation_item ({cols}) FROM STDIN") as copy:
        for start in range(0, n, batch):
            buf = io.StringIO()
            for i in range(start, min(n, start + batch)):
                text = synthetic_text(rng, i)
                digest = hashlib.sha256(text.encode()).hexdigest()
                url = f"https://site{i % 997}.example/p/{i}"
                buf.write(
                    f"{project_id}\t{prefix}-{i}\t{_copy_escape(text)}\t{url}\t\t{{}}\t{digest}\t"
                    f"{rng.random():.9f}\t0\t{overlap}\t2026-01-01 00:00:00+00\n"
                )
            copy.write(buf.getvalue())
    return time.perf_counter() - started


# ---------------------------------------------------------------- measuring


class PeakRss:
    """Samples the summed RSS of a process and its children every `interval` seconds, and
    remembers the CPU time (user + system) each of them had used when last seen."""

    def __init__(self, pid: int, interval: float = 0.5):
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self._cpu: dict[int, float] = {}
        self._cpu_start: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        try:
            proc = psutil.Process(self.pid)
            procs = [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
                times = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            self._cpu[p.pid] = times.user + times.system
            self._cpu_start.setdefault(p.pid, self._cpu[p.pid])
        return total

    @property
    def cpu_seconds(self) -> float:
        """CPU time the process tree used while sampled (processes born later count fully)."""
        return sum(v - self._cpu_start.get(pid, 0.0) for pid, v in self._cpu.items())

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_summary(seconds: list[float]) -> dict:
    """p50/p95/p99/max in milliseconds and the count."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else float("nan"),
    }


def median(values: list[float]) -> float:
    clean = [v for v in values if v == v]  # drop NaN
    return statistics.median(clean) if clean else float("nan")


def mb(n_bytes: float) -> str:
    return f"{n_bytes / 1024**2:.0f} MB"


def fmt(value, digits: int = 1) -> str:
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.{digits}f}"
    return str(value)


def md_table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_report(name: str, text: str) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / name
    path.write_text(text)
    return path

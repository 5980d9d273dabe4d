"""Where the CPU of one claim + submit goes, in-process (no HTTP server, no client load).

Drives the API's next and submit endpoints through Django's full request stack (middleware,
DRF, services) with the test client against the PostgreSQL bench database, and reports the
application process's CPU time per claim+submit pair (PostgreSQL's own CPU is not in it) and,
with --profile, the cumulative time by layer (Django, DRF, psycopg, goldset code). CPU time
rather than wall time, so a busy machine changes the figure less than a latency benchmark.

    .venv/bin/python bench/queue_profile.py --items 10000 --pairs 2000 --runs 5
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import queue_bench  # noqa: E402


def _pairs(client, slug: str, category_ids: list[int], n: int) -> int:
    done = 0
    for i in range(n):
        r = client.post(f"/api/projects/{slug}/next/", {}, content_type="application/json")
        if r.status_code == 204:
            break
        assert r.status_code == 200, r.content
        item_id = r.json()["item"]["id"]
        body = {"categories": [category_ids[i % len(category_ids)]], "idempotency_key": uuid4()}
        r = client.post(
            f"/api/projects/{slug}/items/{item_id}/submit/", body, content_type="application/json"
        )
        assert r.status_code == 201, r.content
        done += 1
    return done


def uuid4() -> str:
    return uuid.uuid4().hex


LAYERS = [
    ("goldset", ("/annotation/", "/config/")),
    ("DRF", ("/rest_framework/",)),
    ("psycopg", ("/psycopg",)),
    ("Django", ("/django/",)),
]


def by_layer(stats: pstats.Stats) -> dict[str, float]:
    """Self time per layer (a function's own time, not its callees')."""
    out: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        layer = next((n for n, parts in LAYERS if any(p in filename for p in parts)), "other")
        out[layer] = out.get(layer, 0.0) + tottime
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--db", default=common.DEFAULT_DB_URL)
    args = parser.parse_args()

    data = queue_bench.prepare_dataset(args.db, args.items, overlap=2, n_users=args.runs + 1)
    from django.test import Client

    from annotation.models import Project

    project = Project.objects.get(pk=data["project_id"])
    per_pair = []
    for run in range(args.runs):
        queue_bench.reset_queue(args.db, project.pk, overlap=2)
        client = Client(HTTP_AUTHORIZATION=f"Token {data['tokens'][run]}")
        _pairs(client, data["slug"], data["category_ids"], 50)  # warm caches and connections
        t0 = time.process_time()
        n = _pairs(client, data["slug"], data["category_ids"], args.pairs)
        per_pair.append((time.process_time() - t0) / max(n, 1) * 1000)
        print(f"run {run + 1}: {per_pair[-1]:.2f} ms CPU per claim+submit ({n} pairs)")
    print(f"median: {statistics.median(per_pair):.2f} ms CPU per pair")

    if args.profile:
        queue_bench.reset_queue(args.db, project.pk, overlap=2)
        client = Client(HTTP_AUTHORIZATION=f"Token {data['tokens'][-1]}")
        profiler = cProfile.Profile(time.process_time)  # CPU, not waiting on PostgreSQL
        profiler.enable()
        n = _pairs(client, data["slug"], data["category_ids"], args.pairs)
        profiler.disable()
        stats = pstats.Stats(profiler)
        for layer, seconds in sorted(by_layer(stats).items(), key=lambda kv: -kv[1]):
            print(f"{layer:10s} {seconds / n * 1000:6.2f} ms per pair (self time, profiled)")
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

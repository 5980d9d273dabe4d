"""gunicorn settings for production (docker-compose `web`) and the queue benchmark.

Every value can be overridden from the environment (GUNICORN_*; empty means the default).

Default: gthread, one process per core (at least 2), 4 threads each. Measured with
bench/queue_bench.py on a 2-core machine: with 200 annotators who think between requests
(scenario A, many idle keep-alive connections) 2 gthread workers × 4 threads served about 6×
the annotations of 4 sync workers, whose one-request-at-a-time processes queued the waiting
clients; with 20 clients and no think time 4 sync workers were ahead (~23 vs ~13
annotations/s, CPU-bound). Annotators think, so gthread is the default. See
bench/README.md for the figures.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _str(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


cores = multiprocessing.cpu_count()

bind = _str("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = _str("GUNICORN_WORKER_CLASS", "gthread")
workers = _int("GUNICORN_WORKERS", max(2, cores))
threads = _int("GUNICORN_THREADS", 4)
# A request that takes this long is stuck; the worker is restarted.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then so slow memory growth cannot accumulate.
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 2000)
# Heartbeat files of the workers (e.g. /dev/shm in containers with a slow disk).
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or None
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
loglevel = _str("GUNICORN_LOGLEVEL", "info")
forwarded_allow_ips = _str("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

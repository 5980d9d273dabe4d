"""Celery tasks: each takes ids and calls one service; retries and time limits live here."""

from celery import shared_task

from .services.imports import import_job_run
from .services.queue import assignment_expire_stale

# A 1M-row import takes about a minute; the limits only stop a runaway job.
IMPORT_SOFT_TIME_LIMIT = 2 * 3600
IMPORT_TIME_LIMIT = IMPORT_SOFT_TIME_LIMIT + 300


@shared_task(
    acks_late=True,
    ignore_result=True,
    soft_time_limit=IMPORT_SOFT_TIME_LIMIT,
    time_limit=IMPORT_TIME_LIMIT,
)
def item_import_task(job_id: int) -> None:
    """Run an import job. Delivered twice (acks_late after a worker crash), the second run
    finds the job already claimed and does nothing."""
    import_job_run(job_id=job_id)


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=50, time_limit=60)
def assignment_expire_stale_task() -> int:
    """Beat, every minute: expire leases nobody renewed and reopen their queue slots."""
    return assignment_expire_stale()

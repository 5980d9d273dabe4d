"""Celery tasks: each takes ids and calls one service; retries and time limits live here."""

from celery import shared_task

from .services.exports import export_job_run
from .services.freeze import version_freeze_run

# A 1M-item freeze or export takes about a minute (docs/benchmarks.md); the limits only stop a
# runaway job. Both are all-or-nothing and claim their row, so a second delivery does nothing.
SOFT_TIME_LIMIT = 3600
TIME_LIMIT = SOFT_TIME_LIMIT + 300


@shared_task(
    acks_late=True, ignore_result=True, soft_time_limit=SOFT_TIME_LIMIT, time_limit=TIME_LIMIT
)
def version_freeze_task(version_id: int) -> None:
    """Freeze a version that is waiting in status freezing."""
    version_freeze_run(version_id=version_id)


@shared_task(
    acks_late=True, ignore_result=True, soft_time_limit=SOFT_TIME_LIMIT, time_limit=TIME_LIMIT
)
def export_job_task(job_id: int) -> None:
    """Write a pending export job's file."""
    export_job_run(job_id=job_id)

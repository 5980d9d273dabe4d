"""Celery tasks: each takes ids and calls one service; retries and time limits live here."""

from celery import shared_task

from .services.agreement import agreement_snapshot_run, agreement_sweep
from .services.consolidation import consolidation_rebuild
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


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=3600, time_limit=3700)
def consolidation_rebuild_task(project_id: int) -> int:
    """After a consolidation rule or overlap change: consolidate the items that have their
    annotations and no decision. Idempotent, so a second delivery changes nothing."""
    return consolidation_rebuild(project_id=project_id)


# A 1M-annotation snapshot takes a few minutes (docs/benchmarks.md); the limits stop a runaway
# one. A run older than snapshots.STALE_RUNNING_AFTER (longer than these) is declared dead.
AGREEMENT_SOFT_TIME_LIMIT = 30 * 60
AGREEMENT_TIME_LIMIT = AGREEMENT_SOFT_TIME_LIMIT + 120


@shared_task(
    acks_late=True,
    ignore_result=True,
    soft_time_limit=AGREEMENT_SOFT_TIME_LIMIT,
    time_limit=AGREEMENT_TIME_LIMIT,
)
def agreement_snapshot_task(snapshot_id: int) -> None:
    """Compute a pending agreement snapshot. Delivered twice, the second copy finds it claimed
    and does nothing."""
    agreement_snapshot_run(snapshot_id=snapshot_id)


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=150)
def agreement_sweep_task() -> int:
    """Beat, every GOLDSET["AGREEMENT_SWEEP_SECONDS"]: snapshots for projects changed since
    their latest one (the safety net behind the debounced requests)."""
    return len(agreement_sweep())


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=300, time_limit=330)
def dashboard_stats_refresh_task(project_id: int) -> None:
    """Recompute a project's cached dashboard figures (sent by a view that found them older
    than stats.DASHBOARD_CACHE_SECONDS; the view showed the older ones meanwhile)."""
    from .models import Project
    from .stats import dashboard_stats_refresh

    project = Project.objects.filter(pk=project_id).first()
    if project is not None:
        dashboard_stats_refresh(project=project)

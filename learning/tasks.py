"""Celery tasks of the learning app: each takes ids and calls one service."""

from celery import shared_task
from django.conf import settings

from .services.execute import model_run_execute
from .services.noise import noise_run_execute
from .services.runs import model_run_schedule

# The soft limit raises inside the run, which then records itself as failed; the hard limit
# kills a worker stuck in native code. The stale-run timeout (LEARNING_RUN_STALE_AFTER_SECONDS)
# must be longer than the hard limit, so only a dead run is ever declared stale.
RUN_SOFT_TIME_LIMIT = settings.GOLDSET["LEARNING_RUN_TIME_LIMIT_SECONDS"]
RUN_TIME_LIMIT = RUN_SOFT_TIME_LIMIT + 60


@shared_task(
    acks_late=True,
    ignore_result=True,
    soft_time_limit=RUN_SOFT_TIME_LIMIT,
    time_limit=RUN_TIME_LIMIT,
)
def model_run_task(run_id: int) -> None:
    """Run a model run. Delivered twice (acks_late after a worker crash, a retried send), the
    second delivery finds the run already claimed and does nothing."""
    model_run_execute(run_id=run_id)


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=50, time_limit=60)
def model_run_schedule_task() -> list[int]:
    """Beat, every minute: fail stale runs and request the runs whose trigger fires."""
    return model_run_schedule()


@shared_task(
    acks_late=True,
    ignore_result=True,
    soft_time_limit=RUN_SOFT_TIME_LIMIT,
    time_limit=RUN_TIME_LIMIT,
)
def noise_run_task(run_id: int) -> None:
    """Run a label-noise check. A second delivery finds the run claimed and does nothing."""
    noise_run_execute(run_id=run_id)

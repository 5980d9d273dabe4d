"""Requesting model runs: a lead's "retrain now", the periodic triggers (every N new gold
labels, every T minutes), and the timeout that keeps a dead run from blocking a project.

At most one run per project is queued or running: requests are serialised on the project row
and the partial unique index `modelrun_one_in_flight` enforces it in the schema, so a second
request (a double click, the schedule and a lead at once) gets the run already in flight.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Max, Q, Value, When
from django.utils import timezone

from annotation.errors import InvalidInput, ServiceError
from annotation.models import Project

from .. import selectors
from ..models import ModelRun

logger = logging.getLogger(__name__)


def stale_after() -> timedelta:
    """A queued or running run older than this is considered dead. It must be longer than
    the task's hard time limit (which kills a runaway run's worker process), so a live run is
    never declared dead."""
    return timedelta(seconds=settings.GOLDSET["LEARNING_RUN_STALE_AFTER_SECONDS"])


def _run_parameters(project: Project, categories) -> tuple[dict, dict, int]:
    """What a run copies from the settings when it is requested (later edits of the settings
    do not change a run already on its way): parameters, features, base seed."""
    # Imported here: scikit-learn is heavy, and web processes only need it when a run is asked.
    from ..ml.features import FeatureConfig

    config = selectors.learning_config_get(project=project)
    index = {c.id: i for i, c in enumerate(categories)}
    seeds = {
        str(index[row.category_id]): row.keywords
        for row in selectors.keyword_seed_list(project=project)
        if row.keywords and row.category_id in index
    }
    parameters = {
        "mix": config.shares(),
        "batch_size": config.batch_size,
        "min_gold_labels": config.min_gold_labels,
        "multi_label": project.multi_label,
        "seeds": seeds,
        "text_max_chars": settings.GOLDSET["LEARNING_TEXT_MAX_CHARS"],
    }
    features = FeatureConfig(hashing=config.hashing, url_tokens=config.url_tokens).as_dict()
    return parameters, features, config.seed


def model_run_request(*, project: Project, trigger: str, user=None) -> tuple[ModelRun, bool]:
    """Queue a run of the project's model unless one is already queued or running.

    Returns (run, created): the new run, sent to a worker when the transaction commits, or
    the run already in flight (created False). A dead run (older than `stale_after`) is
    ended first, so it cannot block the project. Raises InvalidInput when the project has no
    active category to learn.
    """
    if trigger not in ModelRun.Trigger.values:
        raise InvalidInput(f"Unknown trigger '{trigger}'.")
    categories = selectors.run_categories(project=project)
    if not categories:
        raise InvalidInput("The project has no active category to learn; add one first.")
    parameters, features, base_seed = _run_parameters(project, categories)
    model_run_expire_stale(project=project)
    with transaction.atomic():
        # FOR NO KEY UPDATE: serialises requests of this project without blocking the queue,
        # whose inserts take a KEY SHARE lock on the same row.
        Project.objects.select_for_update(no_key=True).filter(pk=project.pk).exists()
        current = ModelRun.objects.filter(project=project, status__in=ModelRun.IN_FLIGHT).first()
        if current is not None:
            return current, False
        number = (ModelRun.objects.filter(project=project).aggregate(n=Max("number"))["n"] or 0) + 1
        try:
            with transaction.atomic():
                run = ModelRun.objects.create(
                    project=project,
                    number=number,
                    trigger=trigger,
                    requested_by=user if user is not None and user.is_authenticated else None,
                    categories=[{"id": c.id, "name": c.name} for c in categories],
                    features=features,
                    parameters=parameters,
                    seed=base_seed + number,
                )
        except IntegrityError:
            # Only reachable where the row lock above is a no-op and a request raced us.
            in_flight = ModelRun.objects.filter(project=project, status__in=ModelRun.IN_FLIGHT)
            return in_flight.get(), False
        from ..tasks import model_run_task

        transaction.on_commit(lambda: model_run_task.delay(run.pk))
    logger.info("model run %s of project %s requested (%s)", number, project.slug, trigger)
    return run, True


def model_run_expire_stale(*, project: Project | None = None, now: datetime | None = None) -> int:
    """End runs queued or running for longer than `stale_after` (their worker died or the
    task was lost). A run that had not saved its picks is failed: the queue keeps serving the
    last good picks. A run that had (it died cross-validating or storing its model) is done
    with the timeout as its error: its picks are in the queue and stay, only its metrics are
    missing. If the dead run's worker comes back later, it finds the run ended and saves
    nothing more. Returns the number of runs ended."""
    now = now or timezone.now()
    limit = now - stale_after()
    minutes = round(stale_after().total_seconds() / 60)
    runs = ModelRun.objects.all() if project is None else ModelRun.objects.filter(project=project)
    ended = runs.filter(status=ModelRun.Status.QUEUED, created_at__lt=limit).update(
        status=ModelRun.Status.FAILED,
        finished_at=now,
        phase="failed",
        error=f"Timed out: no worker started it within {minutes} minutes. The queue keeps "
        "serving the last finished run's picks.",
    )
    # One statement for running runs, so each is ended by what it had done when it died.
    saved = Q(picks_saved_at__isnull=False)
    ended += runs.filter(status=ModelRun.Status.RUNNING, started_at__lt=limit).update(
        status=Case(
            When(saved, then=Value(ModelRun.Status.DONE)), default=Value(ModelRun.Status.FAILED)
        ),
        finished_at=now,
        phase=Case(When(saved, then=Value("done")), default=Value("failed")),
        progress=Case(When(saved, then=Value(1.0)), default=F("progress")),
        error=Case(
            When(
                saved,
                then=Value(
                    f"Timed out after its picks were saved: its worker did not finish within "
                    f"{minutes} minutes. The picks stay in the queue; the run has no metrics."
                ),
            ),
            default=Value(
                f"Timed out: its worker did not finish it within {minutes} minutes. The queue "
                "keeps serving the last finished run's picks."
            ),
        ),
    )
    if ended:
        logger.warning("ended %s stale model run(s)", ended)
    return ended


def _due(candidate: selectors.ScheduleCandidate, now: datetime) -> str | None:
    """Which trigger fires for a project, if any: "labels" when N new gold labels arrived
    since its last run, "schedule" when T minutes passed and at least one did (a project
    that never ran trains as soon as it has a gold label)."""
    every_n, every_t = candidate.every_labels, candidate.every_minutes
    if every_n <= 0 and every_t <= 0:
        return None
    new = selectors.new_gold_count(
        project=candidate.project, since=candidate.last_run_at, cap=max(every_n, 1)
    )
    if every_n > 0 and new >= every_n:
        return ModelRun.Trigger.LABELS
    if every_t > 0 and new > 0:
        last = candidate.last_run_at
        if last is None or now - last >= timedelta(minutes=every_t):
            return ModelRun.Trigger.SCHEDULE
    return None


def model_run_schedule(*, now: datetime | None = None) -> list[int]:
    """The periodic check (Celery beat, every minute): fail stale runs, then request a run for
    every project whose trigger fires. Never runs on the annotation hot path. Returns the ids
    of the runs requested."""
    now = now or timezone.now()
    model_run_expire_stale(now=now)
    requested = []
    for candidate in selectors.schedule_candidates():
        trigger = _due(candidate, now)
        if trigger is None:
            continue
        try:
            run, created = model_run_request(project=candidate.project, trigger=trigger)
        except ServiceError as exc:
            logger.info("no run for %s: %s", candidate.project.slug, exc.message)
            continue
        if created:
            requested.append(run.pk)
    return requested

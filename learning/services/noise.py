"""Label-noise runs: request one (a lead's button, the API, or a model run that just finished)
and execute it.

A run, end to end (the same shape as a model run, `execute.py`):

1. `noise_run_request` locks the project row, returns the noise run in flight if there is one,
   else creates the next run with a copy of the settings and sends `noise_run_task` on commit.
   A run older than LEARNING_RUN_STALE_AFTER_SECONDS is failed first (a dead worker).
2. `noise_run_execute` claims the run under a row lock: only a queued run starts, so a task
   delivered twice does the work once.
3. It brings issues up to date with their cases (`label_issue_sync`), reads the current gold
   labels as arrays (`selectors.training_data`, gold label ids included), and with no
   transaction open computes out-of-fold probabilities and cleanlab's verdict
   (`learning.ml.noise.find_label_issues`), then annotator quality where items have several
   annotations (`noise_annotators.py`).
4. Each flag becomes an issue and an adjudication case in a short transaction of its own
   (`noise_issues.label_issue_raise`), which skips items whose gold label changed since it was
   read, items that already have an open issue, and labels a lead already dismissed.
5. The run is marked done with its figures. Too few gold labels end the run as
   "not enough data" with a message that says what is needed; any other error fails it with
   its message. Issues are raised only after the computation succeeded, each one whole in its
   own transaction; a failure while raising keeps the ones raised so far.

Gold questions: their known answers are trusted training data (in the arrays, so the model
learns from them) but never flagged: a lead set them on purpose, and changing one goes through
the gold-question page.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from annotation.errors import InvalidInput, NotFound
from annotation.models import Project

from .. import selectors
from ..models import ModelRun, NoiseRun
from .clock import RunClock
from .noise_annotators import annotator_figures
from .noise_issues import label_issue_raise, label_issue_sync
from .oof import oof_take
from .runs import stale_after

logger = logging.getLogger(__name__)

ERROR_MAX_CHARS = 2000


def _parameters(project: Project) -> tuple[dict, dict, int]:
    from ..ml.features import FeatureConfig

    config = selectors.learning_config_get(project=project)
    parameters = {
        "multi_label": project.multi_label,
        "folds": settings.GOLDSET["LEARNING_NOISE_FOLDS"],
        "text_max_chars": settings.GOLDSET["LEARNING_TEXT_MAX_CHARS"],
    }
    features = FeatureConfig(hashing=config.hashing, url_tokens=config.url_tokens).as_dict()
    return parameters, features, config.seed


def noise_run_request(
    *, project: Project, trigger: str, user=None, model_run: ModelRun | None = None
) -> tuple[NoiseRun, bool]:
    """Queue a label-noise check of the project's gold labels unless one is queued or running.

    Returns (run, created): the new run, sent to a worker when the transaction commits, or the
    run already in flight (created False). Raises InvalidInput for an unknown trigger or a
    project without an active category.
    """
    if trigger not in NoiseRun.Trigger.values:
        raise InvalidInput(f"Unknown trigger '{trigger}'.")
    categories = selectors.run_categories(project=project)
    if not categories:
        raise InvalidInput("The project has no active category to check; add one first.")
    parameters, features, base_seed = _parameters(project)
    noise_run_expire_stale(project=project)
    with transaction.atomic():
        # FOR NO KEY UPDATE: serialises this project's requests without blocking the queue.
        Project.objects.select_for_update(no_key=True).filter(pk=project.pk).exists()
        current = NoiseRun.objects.filter(project=project, status__in=NoiseRun.IN_FLIGHT).first()
        if current is not None:
            return current, False
        number = (NoiseRun.objects.filter(project=project).aggregate(n=Max("number"))["n"] or 0) + 1
        try:
            with transaction.atomic():
                run = NoiseRun.objects.create(
                    project=project,
                    number=number,
                    trigger=trigger,
                    requested_by=user if user is not None and user.is_authenticated else None,
                    model_run=model_run,
                    categories=[{"id": c.id, "name": c.name} for c in categories],
                    features=features,
                    parameters=parameters,
                    seed=base_seed + number,
                )
        except IntegrityError:
            # Only reachable where the row lock above is a no-op and a request raced us.
            in_flight = NoiseRun.objects.filter(project=project, status__in=NoiseRun.IN_FLIGHT)
            return in_flight.get(), False
        from ..tasks import noise_run_task

        transaction.on_commit(lambda: noise_run_task.delay(run.pk))
    logger.info("noise run %s of project %s requested (%s)", number, project.slug, trigger)
    return run, True


def noise_run_after_model_run(*, model_run: ModelRun) -> NoiseRun | None:
    """The hook a finished model run calls: check the gold labels again with the same data
    (setting LEARNING_NOISE_AFTER_MODEL_RUN). A cold start trained nothing, so it asks for no
    check. Never raises: a model run that succeeded stays a success."""
    if not settings.GOLDSET["LEARNING_NOISE_AFTER_MODEL_RUN"]:
        return None
    if model_run.status != ModelRun.Status.DONE or model_run.mode != ModelRun.Mode.MODEL:
        return None
    try:
        run, _ = noise_run_request(
            project=model_run.project, trigger=NoiseRun.Trigger.MODEL_RUN, model_run=model_run
        )
    except Exception:  # noqa: BLE001 - logged; the model run is not failed for it
        logger.exception("could not request a noise run after model run %s", model_run.pk)
        return None
    return run


def noise_run_expire_stale(*, project: Project | None = None, now: datetime | None = None) -> int:
    """Fail noise runs queued or running longer than the stale limit (their worker died).
    A late worker that comes back finds its run failed and raises nothing more."""
    now = now or timezone.now()
    limit = now - stale_after()
    minutes = round(stale_after().total_seconds() / 60)
    runs = NoiseRun.objects.all() if project is None else NoiseRun.objects.filter(project=project)
    failed = 0
    for status, since, what in (
        (NoiseRun.Status.QUEUED, "created_at", "no worker started it"),
        (NoiseRun.Status.RUNNING, "started_at", "its worker did not finish it"),
    ):
        failed += runs.filter(Q(status=status) & Q(**{f"{since}__lt": limit})).update(
            status=NoiseRun.Status.FAILED,
            finished_at=now,
            phase="failed",
            error=f"Timed out: {what} within {minutes} minutes.",
        )
    return failed


def noise_run_execute(*, run_id: int) -> NoiseRun:
    """Run a queued noise run; any other run is returned untouched. Precondition: no
    transaction open (the task calls this directly). Never raises for a failure of the run
    itself: the run records it."""
    run = _claim(run_id)
    if run is None:
        return NoiseRun.objects.get(pk=run_id)
    clock = RunClock(NoiseRun, run.pk)
    from ..ml.evaluation import NotEnoughData

    try:
        with clock.phase("syncing reviews"):
            label_issue_sync(project_id=run.project_id)
        with clock.phase("reading"):
            data = selectors.training_data(
                project_id=run.project_id, category_ids=[c["id"] for c in run.categories]
            )
        try:
            report, reused_from = _check(run, clock, data)
        except NotEnoughData as exc:
            return _end(run, clock, NoiseRun.Status.NOT_ENOUGH_DATA, str(exc), data.gold_count)
        figures = {**report.summary(), "excluded_names": _names(run, report.excluded)}
        if reused_from is not None:  # the folds were the model run's (oof.py)
            figures["folds"] = run.parameters["folds"]
            figures["out_of_fold_from_model_run"] = reused_from
        with clock.phase("annotator quality"):
            figures["annotators"] = annotator_figures(run=run, data=data, report=report)
        with clock.phase("raising issues"):
            outcomes = _raise(run, clock, data, report)
        figures["outcomes"] = outcomes
    except Exception as exc:  # noqa: BLE001 - whatever stops a run is recorded on the run
        logger.exception("noise run %s failed", run.pk)
        return _fail(run, exc, clock)
    return _done(run, clock, figures, data.gold_count, report, outcomes)


def _claim(run_id: int) -> NoiseRun | None:
    with transaction.atomic():
        run = NoiseRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            raise NotFound(f"No noise run #{run_id}.")
        if run.status != NoiseRun.Status.QUEUED:
            return None
        run.status = NoiseRun.Status.RUNNING
        run.started_at = timezone.now()
        run.phase = "starting"
        run.progress = 0.0
        run.save(update_fields=["status", "started_at", "phase", "progress"])
    return run


def _names(run: NoiseRun, indices) -> list[str]:
    names = [c["name"] for c in run.categories]
    return [names[i] if i < len(names) else "none of these" for i in indices]


def _check(run: NoiseRun, clock: RunClock, data: selectors.TrainingData):
    """The report, and the number of the model run whose out-of-fold probabilities it used
    (None: it fitted its own folds)."""
    from ..ml.features import FeatureConfig
    from ..ml.noise import find_label_issues

    # The model run that asked for this check cross-validated these very labels: its
    # out-of-fold probabilities serve when they are of exactly this data (oof.py).
    reused = oof_take(
        model_run=run.model_run, gold_ids=data.gold_ids,
        category_ids=[c["id"] for c in run.categories], features=run.features,
        multi_label=run.parameters["multi_label"], folds=run.parameters["folds"],
    )  # fmt: skip
    with clock.phase("cross-validating" if reused is None else "checking"):
        report = find_label_issues(
            data.texts,
            data.urls,
            data.Y,
            multi_label=run.parameters["multi_label"],
            features=FeatureConfig.from_dict(run.features),
            seed=run.seed,
            folds=run.parameters["folds"],
            pred_proba=reused,
            category_names=[c["name"] for c in run.categories],
            threads=settings.GOLDSET["LEARNING_THREADS"],
        )
    return report, (run.model_run.number if reused is not None and run.model_run else None)


def _raise(run: NoiseRun, clock: RunClock, data: selectors.TrainingData, report) -> dict:
    """One short transaction per flag (module docstring, step 4). Returns outcome counts."""
    outcomes: dict[str, int] = {}
    category_ids = [c["id"] for c in run.categories]
    total = max(1, len(report.findings))
    for done, finding in enumerate(report.findings):
        row = finding.index
        if data.gold_questions[row]:
            outcome = "gold_question"
        else:
            outcome = label_issue_raise(
                run=run,
                item_id=int(data.item_ids[row]),
                gold_id=int(data.gold_ids[row]),
                given=[category_ids[c] for c in data.Y[row].nonzero()[0]],
                finding=finding,
                category_ids=category_ids,
                method=report.method,
            )
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if done % 50 == 0:
            clock.report("raising issues", done / total)
    return outcomes


def _finish(run: NoiseRun, clock: RunClock, status: str, **fields) -> NoiseRun:
    # Only a running run ends here: one the timeout failed meanwhile keeps that message.
    NoiseRun.objects.filter(pk=run.pk, status=NoiseRun.Status.RUNNING).update(
        status=status, timings=clock.total(), finished_at=timezone.now(), **fields
    )
    return NoiseRun.objects.get(pk=run.pk)


def _done(run, clock, figures, gold_count, report, outcomes) -> NoiseRun:
    logger.info("noise run %s done: %s flagged, %s", run.pk, len(report.findings), outcomes)
    return _finish(
        run,
        clock,
        NoiseRun.Status.DONE,
        figures=figures,
        gold_count=gold_count,
        flagged_count=len(report.findings),
        raised_count=outcomes.get("raised", 0),
        phase="done",
        progress=1.0,
        error="",
    )


def _end(run, clock, status, message, gold_count) -> NoiseRun:
    return _finish(
        run, clock, status, gold_count=gold_count, error=message[:ERROR_MAX_CHARS], phase=status
    )


def _fail(run: NoiseRun, exc: BaseException, clock: RunClock) -> NoiseRun:
    message = f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS]
    return _finish(run, clock, NoiseRun.Status.FAILED, error=message, phase="failed")

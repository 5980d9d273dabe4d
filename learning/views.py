"""Active-learning pages: runs with their metrics and learning curve, one run with what it
picked and why, the run in flight (htmx fragment), "retrain now", and the settings.

Who sees what: leads and scientists read the runs (scientists read-only); only leads retrain and
change settings. Annotators never reach these pages: they label blind, and the picks show model
scores. Each view parses input, checks the role, calls one service or selector and renders.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotation.errors import ServiceError
from annotation.forms import form_errors
from annotation.permissions import Access, project_access

from . import selectors
from .forms import LearningSettingsForm
from .models import ModelRun
from .services.config import learning_config_update
from .services.runs import model_run_request

PROGRESS_POLL_SECONDS = 2


def _ctx(access: Access, **extra) -> dict:
    return {"project": access.project, "access": access, **extra}


@login_required
@require_GET
def learning_page(request: HttpRequest, slug: str) -> HttpResponse:
    access = project_access(user=request.user, slug=slug, ability="can_read_all")
    overview = selectors.learning_overview(project=access.project)
    return render(
        request,
        "learning/overview.html",
        _ctx(access, overview=overview, run=overview.runs[0] if overview.runs else None),
    )


@login_required
@require_GET
def learning_progress(request: HttpRequest, slug: str) -> HttpResponse:
    """The htmx fragment of the newest run, polled while it is in flight; it comes back
    without its trigger once the run ends, which stops the polling."""
    access = project_access(user=request.user, slug=slug, ability="can_read_all")
    run = selectors.model_run_latest(project=access.project)
    return render(request, "learning/_progress.html", _ctx(access, run=run, polled=True))


@login_required
@require_POST
def learning_retrain(request: HttpRequest, slug: str) -> HttpResponse:
    access = project_access(user=request.user, slug=slug, ability="can_manage")
    try:
        run, created = model_run_request(
            project=access.project, trigger=ModelRun.Trigger.MANUAL, user=request.user
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        if created:
            # Without a broker (the embedded default) the run has already happened by now.
            run.refresh_from_db(fields=["status", "error"])
            if run.status == ModelRun.Status.FAILED:
                messages.error(request, f"Run {run.number} failed: {run.error}")
            else:
                messages.success(request, f"Run {run.number} {run.get_status_display().lower()}.")
        else:
            messages.warning(
                request, f"Run {run.number} is already {run.get_status_display().lower()}."
            )
    return redirect("learning", slug=slug)


def _after(request: HttpRequest) -> int | None:
    value = request.GET.get("after", "")
    try:
        return int(value) if value else None
    except ValueError:
        return None


@login_required
@require_GET
def learning_run(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    access = project_access(user=request.user, slug=slug, ability="can_read_all")
    run = selectors.model_run_get(project=access.project, number=number)
    if run is None:
        raise Http404("No such run in this project.")
    after = _after(request)
    picks = selectors.picked_item_page(run=run, after_rank=after)
    more = len(picks) == selectors.PICKS_PAGE
    return render(
        request,
        "learning/run.html",
        _ctx(
            access,
            run=run,
            metric_rows=selectors.metric_rows(run),
            summary=selectors.pick_summary(run=run),
            picks=picks,
            after=after,
            next_after=picks[-1].rank if more else None,
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def learning_settings(request: HttpRequest, slug: str) -> HttpResponse:
    access = project_access(user=request.user, slug=slug, ability="can_manage")
    config = selectors.learning_config_get(project=access.project)
    seed_rows = selectors.keyword_seed_list(project=access.project)
    form = LearningSettingsForm.for_config(config, seed_rows, request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                learning_config_update(project=access.project, **form.service_fields())
            except ServiceError as exc:
                messages.error(request, exc.message)
                status = exc.status
            else:
                messages.success(request, "Learning settings saved.")
                return redirect("learning-settings", slug=slug)
        else:
            messages.error(request, form_errors(form))
            status = 400
    return render(
        request,
        "learning/settings.html",
        _ctx(access, form=form, config=config),
        status=status,
    )

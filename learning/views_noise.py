"""The label-noise review page (/p/<slug>/learning/noise/): the newest check's progress or
message, open issues, review progress, the share of flags leads confirmed, issues by category,
annotator quality; "find label errors now".

Leads act; scientists read (annotators are numbered for them, not named); annotators never
reach it (the flags show model suggestions and gold labels). The review itself happens on the
adjudication case pages (reason label_error).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from annotation.errors import ServiceError
from annotation.permissions import project_access

from .models import NoiseRun
from .selectors.noise import noise_overview, noise_run_latest
from .services.noise import noise_run_request


@login_required
@require_GET
def noise_page(request: HttpRequest, slug: str) -> HttpResponse:
    access = project_access(user=request.user, slug=slug, ability="can_read_all")
    overview = noise_overview(project=access.project, names=access.can_manage)
    return render(
        request,
        "learning/noise.html",
        {"project": access.project, "access": access, "overview": overview, "run": overview.latest},
    )


@login_required
@require_GET
def noise_progress(request: HttpRequest, slug: str) -> HttpResponse:
    """The htmx fragment of the newest noise run, polled while it is in flight; it comes back
    without its trigger once the run ends, which stops the polling."""
    access = project_access(user=request.user, slug=slug, ability="can_read_all")
    run = noise_run_latest(project=access.project)
    return render(
        request,
        "learning/_noise_progress.html",
        {"project": access.project, "access": access, "run": run, "polled": True},
    )


@login_required
@require_POST
def noise_request(request: HttpRequest, slug: str) -> HttpResponse:
    access = project_access(user=request.user, slug=slug, ability="can_manage")
    try:
        run, created = noise_run_request(
            project=access.project, trigger=NoiseRun.Trigger.MANUAL, user=request.user
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("learning-noise", slug=slug)
    if not created:
        messages.warning(
            request, f"Check {run.number} is already {run.get_status_display().lower()}."
        )
        return redirect("learning-noise", slug=slug)
    # Without a broker (the embedded default) the check has already run by now.
    run.refresh_from_db(fields=["status", "error", "raised_count", "flagged_count"])
    if run.status == NoiseRun.Status.FAILED:
        messages.error(request, f"Check {run.number} failed: {run.error}")
    elif run.status == NoiseRun.Status.NOT_ENOUGH_DATA:
        messages.warning(request, run.error)
    elif run.status == NoiseRun.Status.DONE:
        messages.success(
            request,
            f"Check {run.number} done: {run.flagged_count} flagged, {run.raised_count} new "
            "issue(s) in the adjudication queue.",
        )
    else:
        messages.success(request, f"Check {run.number} {run.get_status_display().lower()}.")
    return redirect("learning-noise", slug=slug)

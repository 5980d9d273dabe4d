"""The dashboard's agreement controls: "recompute now" (leads), the status fragment that htmx
polls while a snapshot is pending or running, and one category's confusion block for the
category selector. The page itself is the dashboard view (views/lead.py); everything is read
from the stored snapshot."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods

from ..agreement_stats import agreement_confusion, agreement_snapshots
from ..permissions import Access, project_access
from ..services.agreement import agreement_snapshot_request


def adjudication_url(access: Access) -> str | None:
    """The adjudication queue's address for leads (None if the page is not installed)."""
    if not access.can_manage:
        return None
    try:
        return reverse("adjudication", args=[access.project.slug])
    except NoReverseMatch:
        return None


def _status(request: HttpRequest, access: Access) -> HttpResponse:
    done, newer = agreement_snapshots(project=access.project)
    shown = request.GET.get("shown") or request.POST.get("shown") or ""
    response = render(
        request,
        "annotation/dashboard_agreement_status.html",
        {
            "project": access.project,
            "access": access,
            "done": done,
            "newer": newer,
            "shown": shown,
        },
    )
    # A snapshot finished since the page was drawn: reload it to show the new figures.
    finished = done is not None and shown != str(done.pk)
    busy = newer is not None and newer.status in ("pending", "running")
    if request.headers.get("HX-Request") and finished and not busy:
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_http_methods(["GET"])
def agreement_status(request: HttpRequest, slug: str) -> HttpResponse:
    access = project_access(user=request.user, slug=slug, ability="can_read_all")
    return _status(request, access)


@login_required
@require_http_methods(["POST"])
def agreement_recompute(request: HttpRequest, slug: str) -> HttpResponse:
    """Queue a snapshot now (joins one already pending). Without a worker (the embedded
    default) it is computed before this answers."""
    access = project_access(user=request.user, slug=slug, ability="can_manage")
    agreement_snapshot_request(project_id=access.project.pk, now=True)
    if request.headers.get("HX-Request"):
        return _status(request, access)
    messages.success(request, "Agreement figures are being recomputed.")
    return redirect("dashboard", slug=slug)


@login_required
@require_http_methods(["GET"])
def agreement_confusion_view(request: HttpRequest, slug: str) -> HttpResponse:
    """One category's annotator-vs-annotator block (the dashboard's category selector)."""
    access = project_access(user=request.user, slug=slug, ability="can_read_all")
    block = agreement_confusion(
        project=access.project,
        key=request.GET.get("confusion", ""),
        with_pairs=access.can_manage,
    )
    return render(
        request,
        "annotation/dashboard_agreement_confusion.html",
        {"project": access.project, "access": access, "block": block},
    )

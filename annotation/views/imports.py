"""Import pages (leads only): upload a file, follow its progress, read its bad rows."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from .. import selectors
from ..errors import ServiceError
from ..models import ImportJob
from ..permissions import project_access
from ..selectors import import_job_get, import_job_list
from ..services.imports import import_job_create

MAPPING_FIELDS = ("id", "text", "url", "title", "labels")
JOBS_SHOWN = 50


def _manage_access(request, slug: str):
    access = project_access(user=request.user, slug=slug, ability="can_manage")
    return access.project, access


def _wants_json(request) -> bool:
    return request.headers.get(
        "x-requested-with"
    ) == "XMLHttpRequest" or "application/json" in request.headers.get("accept", "")


def _mapping_from(post) -> dict:
    mapping = {f: post.get(f"map_{f}", "").strip() for f in MAPPING_FIELDS}
    mapping = {f: c for f, c in mapping.items() if c}
    mapping["metadata"] = post.get("map_metadata", "").strip() or "*"
    return mapping


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request, slug: str):
    """The upload form and the project's past imports. POST (the page's XHR, or the plain
    form without JavaScript) stores the file and starts its import."""
    project, access = _manage_access(request, slug)
    error, status = "", 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error, status = "Choose a file to upload.", 400
        else:
            try:
                job = import_job_create(
                    project=project,
                    created_by=request.user,
                    uploaded_file=upload,
                    original_name=upload.name,
                    mapping=_mapping_from(request.POST),
                    skip_bad_rows=request.POST.get("skip_bad_rows") in {"on", "1", "true"},
                    format=request.POST.get("format") or None,
                )
            except ServiceError as exc:
                error, status = exc.message, exc.status
            else:
                url = reverse("import-job", args=[project.slug, job.pk])
                if _wants_json(request):
                    return JsonResponse({"job_id": job.pk, "redirect": url}, status=201)
                return redirect(url)
        if _wants_json(request):
            return JsonResponse({"error": error}, status=status)
    context = {
        "project": project,
        "access": access,
        "jobs": import_job_list(project=project)[:JOBS_SHOWN],
        "error": error,
        "form": request.POST if request.method == "POST" else {},
        "formats": ImportJob.Format.choices,
    }
    return render(request, "annotation/import.html", context, status=status)


def _job_context(request, slug: str, job_id: int) -> dict:
    project, access = _manage_access(request, slug)
    job = import_job_get(project=project, job_id=job_id)
    if job is None:
        raise Http404("No such import.")
    progress = selectors.import_job_progress(job=job)
    return {
        "project": project,
        "access": access,
        "job": job,
        "progress": progress,
        "live": progress["status"] in (ImportJob.Status.PENDING, ImportJob.Status.RUNNING),
    }


@login_required
@require_GET
def import_job_page(request, slug: str, job_id: int):
    return render(request, "annotation/import_job.html", _job_context(request, slug, job_id))


@login_required
@require_GET
def import_job_progress(request, slug: str, job_id: int):
    """The htmx fragment polled every second; once the job ends it comes back without its
    trigger, which stops the polling."""
    return render(request, "annotation/_import_progress.html", _job_context(request, slug, job_id))

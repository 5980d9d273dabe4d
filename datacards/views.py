"""Version pages: the list with the freeze button, one version's data card (charts, written
sections, curation notes, publish, exports), the diff of two versions, and the downloads.

Who: leads and scientists (and superusers) read and act on versions; annotators get 403,
non-members 404 (annotation.permissions). Each view parses input, checks the role, calls one
service or selector and renders; service errors become messages and the page is shown again.
Item text is only ever escaped by the templates.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotation.errors import NotFound, ServiceError
from annotation.permissions import Access, project_access

from . import selectors
from .documents import card_input, croissant_jsonld, readme_markdown
from .models import DatasetVersion, ExportJob
from .services.exports import export_job_create
from .services.versions import (
    curation_note_add,
    version_delete,
    version_freeze_start,
    version_publish,
    version_sections_update,
)

ABILITY = "can_read_all"  # leads and scientists: read, freeze, publish, write, export


def _access(request: HttpRequest, slug: str) -> Access:
    return project_access(user=request.user, slug=slug, ability=ABILITY)


def _version(access: Access, number: int) -> DatasetVersion:
    try:
        return selectors.version_get(project=access.project, number=number)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _ctx(access: Access, **extra) -> dict:
    return {"project": access.project, "access": access, **extra}


def _back(access: Access, version: DatasetVersion, anchor: str = "") -> HttpResponse:
    url = reverse("version", args=[access.project.slug, version.number])
    return redirect(url + (f"#{anchor}" if anchor else ""))


@login_required
@require_GET
def versions_page(request: HttpRequest, slug: str) -> HttpResponse:
    access = _access(request, slug)
    versions = list(selectors.version_list(project=access.project))
    freezing = next((v for v in versions if v.status == DatasetVersion.Status.FREEZING), None)
    with_rows = [v for v in versions if v.has_rows]
    return render(
        request,
        "datacards/versions.html",
        _ctx(
            access,
            versions=versions,
            freezing=freezing,
            progress=selectors.version_progress(version=freezing) if freezing else None,
            with_rows=with_rows,
        ),
    )


@login_required
@require_POST
def version_freeze(request: HttpRequest, slug: str) -> HttpResponse:
    access = _access(request, slug)
    try:
        version = version_freeze_start(project=access.project, user=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Freezing version {version.number}.")
    return redirect("versions", slug=access.project.slug)


@login_required
@require_GET
def version_progress(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """The htmx fragment polled while a version freezes; it comes back without its trigger
    once the freeze ends, which stops the polling."""
    access = _access(request, slug)
    version = _version(access, number)
    return render(
        request,
        "datacards/_freeze_progress.html",
        _ctx(access, version=version, progress=selectors.version_progress(version=version)),
    )


@login_required
@require_GET
def version_page(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    access = _access(request, slug)
    version = _version(access, number)
    jobs = list(selectors.export_job_list(version=version))
    context = _ctx(
        access,
        version=version,
        card=version.card or {},
        notes=list(selectors.note_list(version=version)),
        jobs=jobs,
        live_jobs=[j for j in jobs if j.status in (ExportJob.Status.PENDING, "running")],
        progress=selectors.version_progress(version=version),
        charts=selectors.chart_data(version=version),
        formats=ExportJob.Format.choices,
        others=[
            v
            for v in selectors.version_list(project=access.project)
            if v.has_rows and v.pk != version.pk
        ],
    )
    return render(request, "datacards/version.html", context)


@login_required
@require_POST
def version_sections(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    access = _access(request, slug)
    version = _version(access, number)
    sections = {
        name: request.POST[name] for name in DatasetVersion.SECTION_FIELDS if name in request.POST
    }
    try:
        version_sections_update(version=version, sections=sections)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Card sections saved.")
    return _back(access, version, "sections")


@login_required
@require_POST
def version_publish_view(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    access = _access(request, slug)
    version = _version(access, number)
    if request.POST.get("confirm") != str(version.number):
        messages.error(request, "Type the version number to confirm publishing.")
        return _back(access, version)
    try:
        version_publish(version=version, user=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Version {version.number} is published: it can no longer "
                         "change.")  # fmt: skip
    return _back(access, version)


@login_required
@require_POST
def version_delete_view(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    access = _access(request, slug)
    version = _version(access, number)
    try:
        version_delete(version=version)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return _back(access, version)
    messages.success(request, f"Version {version.number} deleted.")
    return redirect("versions", slug=access.project.slug)


@login_required
@require_POST
def version_note(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    access = _access(request, slug)
    version = _version(access, number)
    try:
        curation_note_add(version=version, author=request.user, text=request.POST.get("text", ""))
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Note added.")
    return _back(access, version, "notes")


@login_required
@require_POST
def version_export(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    access = _access(request, slug)
    version = _version(access, number)
    try:
        job, created = export_job_create(
            version=version,
            user=request.user,
            format=request.POST.get("format", ""),
            split=request.POST.get("split", ExportJob.Split.NONE),
            test_fraction=request.POST.get("test_fraction") or 0.2,
            seed=request.POST.get("seed") or 0,
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        if not created:
            messages.info(request, f"The same export exists already (#{job.pk}).")
    return _back(access, version, "exports")


@login_required
@require_GET
def export_progress(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """The exports table, polled by htmx while a job is pending or running."""
    access = _access(request, slug)
    version = _version(access, number)
    jobs = list(selectors.export_job_list(version=version))
    live = [j for j in jobs if j.status in (ExportJob.Status.PENDING, ExportJob.Status.RUNNING)]
    return render(
        request,
        "datacards/_exports.html",
        _ctx(access, version=version, jobs=jobs, live_jobs=live),
    )


@login_required
@require_GET
def export_download(request: HttpRequest, slug: str, number: int, job_id: int) -> HttpResponse:
    """The export file, streamed to a member who may read versions (never a public URL)."""
    access = _access(request, slug)
    version = _version(access, number)
    try:
        job = selectors.export_job_get(version=version, job_id=job_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404("This export has no file (yet).")
    try:
        handle = job.file.open("rb")
    except FileNotFoundError:
        raise Http404("The export file is gone; export again.") from None
    response = FileResponse(handle, as_attachment=True, filename=job.file_name)
    response["X-Content-SHA256"] = job.file_sha256
    return response


def _document(version: DatasetVersion, kind: str) -> tuple[bytes, str, str]:
    ci = card_input(version=version)
    if kind == "readme":
        return readme_markdown(ci).encode(), "text/markdown; charset=utf-8", "README.md"
    doc = json.dumps(croissant_jsonld(ci), indent=2, sort_keys=True, ensure_ascii=False)
    return (doc + "\n").encode(), "application/ld+json", f"{ci.base_name}-croissant.json"


@login_required
@require_GET
def version_document(request: HttpRequest, slug: str, number: int, kind: str) -> HttpResponse:
    """README.md (Hugging Face card) or Croissant JSON-LD of a version with rows."""
    access = _access(request, slug)
    version = _version(access, number)
    if not version.has_rows:
        raise Http404("This version has no card yet.")
    body, content_type, name = _document(version, kind)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def versions_diff(request: HttpRequest, slug: str) -> HttpResponse:
    access = _access(request, slug)
    versions = [v for v in selectors.version_list(project=access.project) if v.has_rows]
    diff, error, status, names = None, "", 200, {}
    old, new = request.GET.get("from"), request.GET.get("to")
    if old or new:
        try:
            diff = selectors.version_diff(
                project=access.project, old_number=int(old or 0), new_number=int(new or 0)
            )
        except ValueError:
            error, status = "Choose two versions by number.", 400
        except ServiceError as exc:
            error, status = exc.message, exc.status
        if diff is not None:
            names = selectors.pseudonym_names(project=access.project)
    return render(
        request,
        "datacards/diff.html",
        _ctx(access, versions=versions, diff=diff, error=error, old=old, new=new, names=names),
        status=status,
    )

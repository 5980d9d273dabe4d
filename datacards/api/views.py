"""The versions API (mounted at /api/projects/<slug>/versions/): list and freeze, read a card,
edit sections, publish, delete a draft, curation notes, diff, README/Croissant documents and
exports with their download. Leads and scientists (and superusers); annotators get 403,
non-members 404. Errors have the API's one shape (annotation.api.exceptions)."""

import json

from django.http import FileResponse, Http404, HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.permissions import project_access
from annotation.api.views._schema import ERR_400, ERR_403, ERR_404, ERR_409

from .. import selectors
from ..documents import card_input, croissant_jsonld, readme_markdown
from ..models import DatasetVersion, ExportJob
from ..services.exports import export_job_create
from ..services.versions import (
    curation_note_add,
    version_delete,
    version_freeze_start,
    version_publish,
    version_sections_update,
)
from . import serializers as s

ABILITY = "can_read_all"


def _version(request, slug: str, number: int):
    access = project_access(request, slug, ABILITY)
    return access, selectors.version_get(project=access.project, number=number)


def _detail(version: DatasetVersion) -> dict:
    progress = selectors.version_progress(version=version)
    return s.VersionDetailSerializer(version, context={"progress": progress}).data


class VersionListView(APIView):
    @extend_schema(
        responses={200: s.VersionSummarySerializer(many=True), 403: ERR_403, 404: ERR_404},
        summary="Versions of the project, newest first (lead, scientist)",
    )
    def get(self, request, slug):
        access = project_access(request, slug, ABILITY)
        versions = selectors.version_list(project=access.project)
        return Response(s.VersionSummarySerializer(versions, many=True).data)

    @extend_schema(
        request=None,
        responses={202: s.VersionDetailSerializer, 400: ERR_400, 403: ERR_403, 409: ERR_409},
        summary="Freeze a new version (lead, scientist): a task copies the rows; poll the detail",
    )
    def post(self, request, slug):
        access = project_access(request, slug, ABILITY)
        version = version_freeze_start(project=access.project, user=request.user)
        version = selectors.version_get(project=access.project, number=version.number)
        return Response(_detail(version), status=status.HTTP_202_ACCEPTED)


class VersionDetailView(APIView):
    @extend_schema(
        responses={200: s.VersionDetailSerializer, 403: ERR_403, 404: ERR_404},
        summary="One version: status, progress, content hash, card figures, sections",
    )
    def get(self, request, slug, number):
        _access, version = _version(request, slug, number)
        return Response(_detail(version))

    @extend_schema(
        request=s.SectionsSerializer,
        responses={200: s.VersionDetailSerializer, 400: ERR_400, 409: ERR_409},
        summary="Edit the written card sections of a draft",
    )
    def patch(self, request, slug, number):
        access, version = _version(request, slug, number)
        parsed = s.SectionsSerializer(data=request.data)
        parsed.is_valid(raise_exception=True)
        version_sections_update(version=version, sections=dict(parsed.validated_data))
        return Response(_detail(selectors.version_get(project=access.project, number=number)))

    @extend_schema(
        responses={204: None, 409: ERR_409, 404: ERR_404},
        summary="Delete a draft or failed version (its number stays taken)",
    )
    def delete(self, request, slug, number):
        _access, version = _version(request, slug, number)
        version_delete(version=version)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VersionPublishView(APIView):
    @extend_schema(
        request=None,
        responses={200: s.VersionDetailSerializer, 409: ERR_409, 404: ERR_404},
        summary="Publish a draft: from now on the version never changes",
    )
    def post(self, request, slug, number):
        access, version = _version(request, slug, number)
        version_publish(version=version, user=request.user)
        return Response(_detail(selectors.version_get(project=access.project, number=number)))


class NoteListView(APIView):
    @extend_schema(
        responses={200: s.NoteSerializer(many=True)}, summary="Curation notes, oldest first"
    )
    def get(self, request, slug, number):
        _access, version = _version(request, slug, number)
        return Response(s.NoteSerializer(selectors.note_list(version=version), many=True).data)

    @extend_schema(
        request=s.NoteCreateSerializer,
        responses={201: s.NoteSerializer, 400: ERR_400, 409: ERR_409},
        summary="Append a curation note (drafts and published versions)",
    )
    def post(self, request, slug, number):
        _access, version = _version(request, slug, number)
        parsed = s.NoteCreateSerializer(data=request.data)
        parsed.is_valid(raise_exception=True)
        note = curation_note_add(
            version=version, author=request.user, text=parsed.validated_data["text"]
        )
        return Response(s.NoteSerializer(note).data, status=status.HTTP_201_CREATED)


class DiffView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("from", int, required=True, description="Older version number"),
            OpenApiParameter("to", int, required=True, description="Newer version number"),
            OpenApiParameter("limit", int, required=False, description="Rows per list (≤1000)"),
        ],
        responses={200: s.DiffSerializer, 400: ERR_400, 404: ERR_404},
        summary="Diff of two versions: added, removed, relabeled (who, when, why), prevalence",
    )
    def get(self, request, slug):
        access = project_access(request, slug, ABILITY)
        query = s.DiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        diff = selectors.version_diff(
            project=access.project,
            old_number=query.validated_data["from"],
            new_number=query.validated_data["to"],
            limit=query.validated_data["limit"],
        )
        return Response(
            {
                "from_version": diff.old.number,
                "to_version": diff.new.number,
                "counts": diff.counts,
                "prevalence": diff.prevalence,
                "relabeled": diff.relabeled,
                "added": diff.added,
                "removed": diff.removed,
                "content_changed": diff.content_changed,
                "limit": diff.limit,
            }
        )


class DocumentView(APIView):
    kind = "readme"

    @extend_schema(
        responses={(200, "text/markdown"): OpenApiResponse(description="README.md / JSON-LD")},
        summary="The data card as README.md (Hugging Face) or Croissant JSON-LD with RAI",
    )
    def get(self, request, slug, number):
        _access, version = _version(request, slug, number)
        if not version.has_rows:
            raise Http404("This version has no card yet.")
        ci = card_input(version=version)
        if self.kind == "readme":
            return HttpResponse(readme_markdown(ci), content_type="text/markdown; charset=utf-8")
        body = json.dumps(croissant_jsonld(ci), indent=2, sort_keys=True, ensure_ascii=False)
        return HttpResponse(body + "\n", content_type="application/ld+json")


class ExportListView(APIView):
    @extend_schema(
        responses={200: s.ExportJobSerializer(many=True)}, summary="Exports, newest first"
    )
    def get(self, request, slug, number):
        _access, version = _version(request, slug, number)
        jobs = selectors.export_job_list(version=version)
        context = {"request": request, "slug": slug}
        return Response(s.ExportJobSerializer(jobs, many=True, context=context).data)

    @extend_schema(
        request=s.ExportCreateSerializer,
        responses={202: s.ExportJobSerializer, 200: s.ExportJobSerializer, 400: ERR_400,
                   409: ERR_409},
        summary="Export a published version (a task; the same options reuse the same job)",
    )  # fmt: skip
    def post(self, request, slug, number):
        _access, version = _version(request, slug, number)
        parsed = s.ExportCreateSerializer(data=request.data)
        parsed.is_valid(raise_exception=True)
        job, created = export_job_create(
            version=version, user=request.user, **parsed.validated_data
        )
        job = selectors.export_job_get(version=version, job_id=job.pk)
        body = s.ExportJobSerializer(job, context={"request": request, "slug": slug}).data
        return Response(body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


class ExportDetailView(APIView):
    @extend_schema(responses={200: s.ExportJobSerializer, 404: ERR_404}, summary="One export")
    def get(self, request, slug, number, job_id):
        _access, version = _version(request, slug, number)
        job = selectors.export_job_get(version=version, job_id=job_id)
        return Response(s.ExportJobSerializer(job, context={"request": request, "slug": slug}).data)


class ExportDownloadView(APIView):
    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiResponse(description="The file")},
        summary="Download an export's file (streamed; members who read versions only)",
    )
    def get(self, request, slug, number, job_id):
        _access, version = _version(request, slug, number)
        job = selectors.export_job_get(version=version, job_id=job_id)
        if job.status != ExportJob.Status.DONE or not job.file:
            raise Http404("This export has no file (yet).")
        try:
            handle = job.file.open("rb")
        except FileNotFoundError:
            raise Http404("The export file is gone; export again.") from None
        response = FileResponse(handle, as_attachment=True, filename=job.file_name)
        response["X-Content-SHA256"] = job.file_sha256
        return response

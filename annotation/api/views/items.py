"""Items (leads and scientists) and imports (leads start them; leads and scientists read them)."""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ...models import ImportJob, Item
from ...selectors import import_job_get, import_job_list, item_list
from .. import serializers as s
from ..pagination import ImportJobCursorPagination, ItemCursorPagination
from ..permissions import project_access
from ._schema import ERR_400, ERR_403, ERR_404, ERR_409


@extend_schema(
    parameters=[s.ItemListQuerySerializer],
    summary="Items of the project (lead, scientist), keyset-paginated by id",
)
class ItemListView(generics.ListAPIView):
    serializer_class = s.ItemSerializer
    pagination_class = ItemCursorPagination
    queryset = Item.objects.none()  # for the schema; get_queryset does the real work

    def get_queryset(self):
        access = project_access(self.request, self.kwargs["slug"], "can_read_all")
        self.project = access.project
        query = s.ItemListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return item_list(
            project=access.project,
            state=query.validated_data.get("state"),
            external_id=query.validated_data.get("external_id"),
            import_job_id=query.validated_data.get("import_job"),
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        project = getattr(self, "project", None)
        context["overlap"] = project.overlap if project is not None else 1
        return context


class ItemImportView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request={
            "multipart/form-data": s.ImportFileSerializer,
            "application/json": s.ImportRowsSerializer,
        },
        responses={
            201: OpenApiResponse(s.ImportJobSerializer, description="JSON rows imported."),
            202: OpenApiResponse(s.ImportJobSerializer, description="File accepted; poll the job."),
            400: ERR_400,
            403: ERR_403,
            404: ERR_404,
            409: ERR_409,
        },
        summary="Import items (lead): a file (async) or JSON rows (sync)",
    )
    def post(self, request, slug):
        access = project_access(request, slug, "can_manage")
        if "file" in request.FILES or request.content_type.startswith("multipart/"):
            return self._import_file(request, access.project)
        return self._import_rows(request, access.project)

    def _import_file(self, request, project):
        # Imported lazily: the import service is a heavy module the rest of the API never needs.
        from ...services.imports import import_job_create

        parsed = s.ImportFileSerializer(data=request.data)
        parsed.is_valid(raise_exception=True)
        data = parsed.validated_data
        job = import_job_create(
            project=project,
            created_by=request.user,
            uploaded_file=data["file"],
            original_name=data["file"].name,
            mapping=data["mapping"],
            skip_bad_rows=data["skip_bad_rows"],
            format=data.get("format"),
        )
        return Response(s.ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    def _import_rows(self, request, project):
        from ...services.imports import item_import_rows

        parsed = s.ImportRowsSerializer(data=request.data)
        parsed.is_valid(raise_exception=True)
        job = item_import_rows(
            project=project,
            rows=parsed.validated_data["items"],
            created_by=request.user,
            skip_bad_rows=parsed.validated_data["skip_bad_rows"],
            mapping=parsed.validated_data["mapping"],
        )
        body = s.ImportJobSerializer(job).data
        if job.status == ImportJob.Status.FAILED:
            # Nothing was imported: an error, with the job's bad rows to fix.
            error = {"error": job.message, "code": "import_failed", "job": body}
            return Response(error, status=status.HTTP_400_BAD_REQUEST)
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(summary="Import jobs of the project, newest first (lead, scientist)")
class ImportJobListView(generics.ListAPIView):
    serializer_class = s.ImportJobSummarySerializer
    pagination_class = ImportJobCursorPagination
    queryset = ImportJob.objects.none()

    def get_queryset(self):
        access = project_access(self.request, self.kwargs["slug"], "can_read_all")
        return import_job_list(project=access.project)


class ImportJobDetailView(APIView):
    @extend_schema(
        responses={200: s.ImportJobSerializer, 403: ERR_403, 404: ERR_404},
        summary="One import job: status, progress, bad rows (lead, scientist)",
    )
    def get(self, request, slug, job_id):
        access = project_access(request, slug, "can_read_all")
        job = import_job_get(project=access.project, job_id=job_id)
        if job is None:
            raise Http404("No such import in this project.")
        return Response(s.ImportJobSerializer(job).data)

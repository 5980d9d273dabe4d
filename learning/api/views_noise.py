"""The label-noise API (mounted at /api/projects/<slug>/learning/noise/): checks (list, detail,
request), label issues (list with filters, detail), their review (confirm with a label,
dismiss) and a summary. Leads and scientists read (annotators numbered, not named, for
scientists); leads request checks and review. Annotators get 403: they label blind.

Confirm and dismiss call the adjudication services on the issue's case, so a review from the
API and one from the case page are the same decision, audited the same way.
"""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.permissions import project_access
from annotation.api.serializers_adjudication import GoldLabelSerializer
from annotation.api.views._schema import ERR_400, ERR_403, ERR_404, ERR_409

from ..models import LabelIssue, NoiseRun
from ..selectors import noise as sel
from ..services.noise import noise_run_request
from ..services.noise_issues import label_issue_confirm, label_issue_dismiss
from . import serializers_noise as s


class NoiseRunCursorPagination(CursorPagination):
    ordering = "-number"
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class IssueCursorPagination(CursorPagination):
    # Most suspicious first, as the page lists them.
    ordering = ("quality", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _parse(serializer_class, request):
    parsed = serializer_class(data=request.data)
    parsed.is_valid(raise_exception=True)
    return parsed.validated_data


class NoiseRunListView(generics.ListAPIView):
    serializer_class = s.NoiseRunSerializer
    pagination_class = NoiseRunCursorPagination
    queryset = NoiseRun.objects.none()  # for the schema; get_queryset does the real work

    @extend_schema(summary="Label-noise checks of the project, newest first (lead, scientist)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        access = project_access(self.request, self.kwargs["slug"], "can_read_all")
        return sel.noise_run_list(project=access.project)

    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(s.NoiseRequestResultSerializer, description="Check queued."),
            200: OpenApiResponse(s.NoiseRequestResultSerializer, description="Already running."),
            400: ERR_400,
            403: ERR_403,
            404: ERR_404,
        },
        summary="Find label errors now (lead); returns the check in flight if there is one",
    )
    def post(self, request, slug):
        access = project_access(request, slug, "can_manage")
        run, created = noise_run_request(
            project=access.project, trigger=NoiseRun.Trigger.MANUAL, user=request.user
        )
        if created:  # without a broker (embedded default) the check has already happened
            run.refresh_from_db()
        body = s.NoiseRequestResultSerializer({"created": created, "run": run}).data
        return Response(body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


class NoiseRunDetailView(APIView):
    @extend_schema(
        responses={200: s.NoiseRunDetailSerializer, 403: ERR_403, 404: ERR_404},
        summary="One check: data, parameters, figures (annotator quality), timings, message",
    )
    def get(self, request, slug, number):
        access = project_access(request, slug, "can_read_all")
        run = sel.noise_run_get(project=access.project, number=number)
        if run is None:
            raise Http404("No such label-noise check in this project.")
        context = {"names": access.can_manage}
        return Response(s.NoiseRunDetailSerializer(run, context=context).data)


class NoiseSummaryView(APIView):
    @extend_schema(
        responses={200: s.NoiseSummarySerializer, 403: ERR_403, 404: ERR_404},
        summary="Issues by status, the share of flags leads confirmed, the newest check",
    )
    def get(self, request, slug):
        access = project_access(request, slug, "can_read_all")
        counts = sel.label_issue_counts(project=access.project)
        confirmed, dismissed = counts["confirmed"], counts["dismissed"]
        body = {
            "counts": counts,
            "precision": {
                **sel.wilson(confirmed, confirmed + dismissed),
                "n": confirmed + dismissed,
            },
            "latest": sel.noise_run_latest(project=access.project),
        }
        return Response(s.NoiseSummarySerializer(body).data)


@extend_schema(
    parameters=[s.LabelIssueListQuerySerializer],
    summary="Label issues, most suspicious first, cursor-paginated (lead, scientist)",
)
class LabelIssueListView(generics.ListAPIView):
    serializer_class = s.LabelIssueSerializer
    pagination_class = IssueCursorPagination
    queryset = LabelIssue.objects.none()

    def get_queryset(self):
        access = project_access(self.request, self.kwargs["slug"], "can_read_all")
        query = s.LabelIssueListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        self.names = sel.category_names(project=access.project)
        wanted = data.get("status")
        return sel.label_issue_queryset(
            project=access.project,
            status=None if wanted == "all" else wanted,
            category_id=data.get("category"),
            run_number=data.get("run"),
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "category_names": getattr(self, "names", {})}


def _issue_body(project, issue_id: int) -> dict:
    issue = sel.label_issue_get(project=project, issue_id=issue_id)
    if issue is None:
        raise Http404("No such label issue in this project.")
    names = sel.category_names(project=project)
    return s.LabelIssueSerializer(issue, context={"category_names": names}).data


class LabelIssueDetailView(APIView):
    @extend_schema(
        responses={200: s.LabelIssueSerializer, 403: ERR_403, 404: ERR_404},
        summary="One label issue (lead, scientist)",
    )
    def get(self, request, slug, issue_id):
        access = project_access(request, slug, "can_read_all")
        return Response(_issue_body(access.project, issue_id))


def _reviewed(project, reviewed) -> dict:
    return {
        "issue": _issue_body(project, reviewed.issue.pk),
        "gold": GoldLabelSerializer(reviewed.gold).data if reviewed.gold is not None else None,
    }


class LabelIssueConfirmView(APIView):
    @extend_schema(
        request=s.ConfirmRequestSerializer,
        responses={
            200: s.ReviewedSerializer,
            400: ERR_400,
            403: ERR_403,
            404: ERR_404,
            409: ERR_409,
        },
        summary="Confirm and relabel (lead): decides the issue's adjudication case with the "
        "given label (default: the suggestion) and a rationale. 409 when already reviewed",
    )
    def post(self, request, slug, issue_id):
        access = project_access(request, slug, "can_manage")
        data = _parse(s.ConfirmRequestSerializer, request)
        categories = data["categories"]
        if categories is None and data["none_of_these"]:
            categories = []
        reviewed = label_issue_confirm(
            project=access.project,
            issue_id=issue_id,
            lead=request.user,
            category_ids=categories,
            none_of_these=data["none_of_these"],
            rationale=data["rationale"],
            guideline_ref=data["guideline_ref"],
        )
        return Response(_reviewed(access.project, reviewed))


class LabelIssueDismissView(APIView):
    @extend_schema(
        request=s.DismissRequestSerializer,
        responses={
            200: s.ReviewedSerializer,
            400: ERR_400,
            403: ERR_403,
            404: ERR_404,
            409: ERR_409,
        },
        summary="Dismiss (lead): the gold label is right; the issue's case is dismissed and the "
        "flag does not come back for this label. 409 when already reviewed",
    )
    def post(self, request, slug, issue_id):
        access = project_access(request, slug, "can_manage")
        data = _parse(s.DismissRequestSerializer, request)
        reviewed = label_issue_dismiss(
            project=access.project, issue_id=issue_id, lead=request.user, note=data["note"]
        )
        return Response(_reviewed(access.project, reviewed))

"""The learning API (mounted at /api/projects/<slug>/learning/): runs, their picks, settings,
keyword seeds and "retrain now". Leads and scientists read; only leads write. Annotators get
403: they label blind to the model."""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.permissions import project_access
from annotation.api.views._schema import ERR_400, ERR_403, ERR_404

from .. import selectors
from ..models import ModelRun, PickedItem
from ..services.config import keyword_seeds_set, learning_config_update
from ..services.runs import model_run_request
from . import serializers as s


class RunCursorPagination(CursorPagination):
    ordering = "-number"
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class PickCursorPagination(CursorPagination):
    ordering = "rank"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


def _run_or_404(project, number: int) -> ModelRun:
    run = selectors.model_run_get(project=project, number=number)
    if run is None:
        raise Http404("No such run in this project.")
    return run


@extend_schema(summary="Model runs of the project, newest first (lead, scientist)")
class RunListView(generics.ListAPIView):
    serializer_class = s.ModelRunSerializer
    pagination_class = RunCursorPagination
    queryset = ModelRun.objects.none()  # for the schema; get_queryset does the real work

    def get_queryset(self):
        access = project_access(self.request, self.kwargs["slug"], "can_read_all")
        return selectors.model_run_list(project=access.project)


class RunDetailView(APIView):
    @extend_schema(
        responses={200: s.ModelRunDetailSerializer, 403: ERR_403, 404: ERR_404},
        summary="One run: data, parameters, metrics, timings, picks per reason",
    )
    def get(self, request, slug, number):
        access = project_access(request, slug, "can_read_all")
        run = _run_or_404(access.project, number)
        summary = selectors.pick_summary(run=run)
        return Response(s.ModelRunDetailSerializer(run, context={"summary": summary}).data)


@extend_schema(summary="Items a run picked, in serving order, with reason and π")
class RunPickListView(generics.ListAPIView):
    serializer_class = s.PickedItemSerializer
    pagination_class = PickCursorPagination
    queryset = PickedItem.objects.none()

    def get_queryset(self):
        access = project_access(self.request, self.kwargs["slug"], "can_read_all")
        run = _run_or_404(access.project, self.kwargs["number"])
        return PickedItem.objects.filter(run=run).select_related("item").only(
            "rank", "item_id", "reason", "inclusion_probability", "score", "queued",
            "released_at", "item__external_id", "item__label_state", "item__annotation_count",
        )  # fmt: skip


class RetrainView(APIView):
    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(s.RetrainResultSerializer, description="Run queued."),
            200: OpenApiResponse(s.RetrainResultSerializer, description="Already in flight."),
            400: ERR_400,
            403: ERR_403,
            404: ERR_404,
        },
        summary="Retrain now (lead); returns the run already in flight if there is one",
    )
    def post(self, request, slug):
        access = project_access(request, slug, "can_manage")
        run, created = model_run_request(
            project=access.project, trigger=ModelRun.Trigger.MANUAL, user=request.user
        )
        if created:  # without a broker (embedded default) the run has already happened
            run.refresh_from_db()
        body = s.RetrainResultSerializer({"created": created, "run": run}).data
        return Response(body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


class ConfigView(APIView):
    @extend_schema(
        responses={200: s.LearningConfigSerializer, 403: ERR_403, 404: ERR_404},
        summary="Learning settings (lead, scientist)",
    )
    def get(self, request, slug):
        access = project_access(request, slug, "can_read_all")
        config = selectors.learning_config_get(project=access.project)
        return Response(s.LearningConfigSerializer(config).data)

    def _update(self, request, slug, *, partial: bool):
        access = project_access(request, slug, "can_manage")
        parsed = s.LearningConfigUpdateSerializer(data=request.data, partial=partial)
        parsed.is_valid(raise_exception=True)
        config = learning_config_update(project=access.project, **parsed.validated_data)
        return Response(s.LearningConfigSerializer(config).data)

    @extend_schema(
        request=s.LearningConfigUpdateSerializer,
        responses={200: s.LearningConfigSerializer, 400: ERR_400, 403: ERR_403, 404: ERR_404},
        summary="Replace the learning settings (lead)",
    )
    def put(self, request, slug):
        return self._update(request, slug, partial=False)

    @extend_schema(
        request=s.LearningConfigUpdateSerializer,
        responses={200: s.LearningConfigSerializer, 400: ERR_400, 403: ERR_403, 404: ERR_404},
        summary="Change some learning settings (lead)",
    )
    def patch(self, request, slug):
        return self._update(request, slug, partial=True)


class SeedsView(APIView):
    @extend_schema(
        responses={200: s.SeedSerializer(many=True), 403: ERR_403, 404: ERR_404},
        summary="Keyword seeds per active category (lead, scientist)",
    )
    def get(self, request, slug):
        access = project_access(request, slug, "can_read_all")
        rows = selectors.keyword_seed_list(project=access.project)
        return Response(s.SeedSerializer(rows, many=True).data)

    @extend_schema(
        request=s.SeedsUpdateSerializer,
        responses={200: s.SeedSerializer(many=True), 400: ERR_400, 403: ERR_403, 404: ERR_404},
        summary="Replace the keyword seeds (lead); active categories left out get none",
    )
    def put(self, request, slug):
        access = project_access(request, slug, "can_manage")
        parsed = s.SeedsUpdateSerializer(data=request.data)
        parsed.is_valid(raise_exception=True)
        seeds: dict[int, list[str]] = {
            row.category_id: [] for row in selectors.keyword_seed_list(project=access.project)
        }
        for row in parsed.validated_data["seeds"]:
            seeds[row["category_id"]] = row["keywords"]
        keyword_seeds_set(project=access.project, seeds=seeds)
        rows = selectors.keyword_seed_list(project=access.project)
        return Response(s.SeedSerializer(rows, many=True).data)

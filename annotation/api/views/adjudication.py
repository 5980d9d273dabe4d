"""Consolidation state, the adjudication queue and the leads' decisions over HTTP.

Reading an item's gold state: leads and scientists. Everything else (the queue, a case with
every annotator's label, decisions): leads. Annotators get 403: they never see other
annotators' labels or gold labels (blind labeling).
"""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from ...models import AdjudicationCase
from ...selectors_adjudication import case_get, case_queryset, item_gold_get
from ...services.adjudication import case_decide, case_dismiss, gold_override, gold_reopen
from ...services.gold_questions import gold_question_set, gold_question_unset
from .. import serializers_adjudication as s
from ..permissions import project_access
from ._schema import ERR_400, ERR_403, ERR_404, ERR_409

NAMES = OpenApiParameter(
    "names", bool, description="1: add each annotator's username (default: letters only)."
)


def _parse(serializer_class, request):
    parsed = serializer_class(data=request.data)
    parsed.is_valid(raise_exception=True)
    return parsed.validated_data


def _item_gold(access, item_id: int):
    state = item_gold_get(project=access.project, item_id=item_id, with_annotations=False)
    if state is None:
        raise Http404("No such item in this project.")
    return s.ItemGoldSerializer(state, context={"overlap": access.project.overlap}).data


class CaseCursorPagination(CursorPagination):
    # The queue's order, walked by the partial index case_open_queue_idx for open cases.
    ordering = ("-priority", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class ItemGoldView(APIView):
    @extend_schema(
        responses={200: s.ItemGoldSerializer, 403: ERR_403, 404: ERR_404},
        summary="An item's consolidation state: label state, current gold, history, cases "
        "(lead, scientist)",
    )
    def get(self, request, slug, item_id):
        access = project_access(request, slug, "can_read_all")
        return Response(_item_gold(access, item_id))

    @extend_schema(
        request=s.DecideRequestSerializer,
        responses={200: s.DecidedSerializer, 400: ERR_400, 403: ERR_403, 404: ERR_404},
        summary="Override: set the item's gold label (lead); resolves its open cases",
    )
    def post(self, request, slug, item_id):
        access = project_access(request, slug, "can_manage")
        data = _parse(s.DecideRequestSerializer, request)
        decided = gold_override(
            project=access.project,
            item_id=item_id,
            lead=request.user,
            category_ids=data["categories"],
            none_of_these=data["none_of_these"],
            rationale=data["rationale"],
            guideline_ref=data["guideline_ref"],
        )
        return Response(s.DecidedSerializer(decided).data)


@extend_schema(
    parameters=[s.CaseListQuerySerializer],
    summary="The adjudication queue (lead): cases by priority, cursor-paginated",
)
class CaseListView(generics.ListAPIView):
    serializer_class = s.CaseSerializer
    pagination_class = CaseCursorPagination
    queryset = AdjudicationCase.objects.none()  # for the schema; get_queryset does the work

    def get_queryset(self):
        access = project_access(self.request, self.kwargs["slug"], "can_manage")
        query = s.CaseListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        wanted = data.get("status")
        return case_queryset(
            project=access.project,
            reason=data.get("reason"),
            category_id=data.get("category"),
            status=None if wanted == "all" else wanted,
        )


class CaseDetailView(APIView):
    @extend_schema(
        parameters=[NAMES],
        responses={200: s.CaseDetailSerializer, 403: ERR_403, 404: ERR_404},
        summary="One case: the item, each annotator's label (A/B/C), the current gold (lead)",
    )
    def get(self, request, slug, case_id):
        access = project_access(request, slug, "can_manage")
        detail = case_get(project=access.project, case_id=case_id)
        if detail is None:
            raise Http404("No such case in this project.")
        names = request.query_params.get("names") in ("1", "true")
        return Response(s.CaseDetailSerializer(detail, context={"names": names}).data)


class CaseDecideView(APIView):
    @extend_schema(
        request=s.DecideRequestSerializer,
        responses={
            200: s.DecidedSerializer,
            400: ERR_400,
            403: ERR_403,
            404: ERR_404,
            409: ERR_409,
        },
        summary="Decide a case (lead): the final label with a rationale; resolves every open "
        "case of the item. 409 when the case is closed already",
    )
    def post(self, request, slug, case_id):
        access = project_access(request, slug, "can_manage")
        data = _parse(s.DecideRequestSerializer, request)
        decided = case_decide(
            project=access.project,
            case_id=case_id,
            lead=request.user,
            category_ids=data["categories"],
            none_of_these=data["none_of_these"],
            rationale=data["rationale"],
            guideline_ref=data["guideline_ref"],
        )
        return Response(s.DecidedSerializer(decided).data)


class CaseDismissView(APIView):
    @extend_schema(
        request=s.NoteRequestSerializer,
        responses={
            200: s.CaseRowSerializer,
            400: ERR_400,
            403: ERR_403,
            404: ERR_404,
            409: ERR_409,
        },
        summary="Dismiss a case raised against the current gold label, keeping it (lead)",
    )
    def post(self, request, slug, case_id):
        access = project_access(request, slug, "can_manage")
        data = _parse(s.NoteRequestSerializer, request)
        case = case_dismiss(
            project=access.project, case_id=case_id, lead=request.user, note=data["note"]
        )
        return Response(s.CaseRowSerializer(case).data)


class ItemReopenView(APIView):
    @extend_schema(
        request=s.NoteRequestSerializer,
        responses={
            201: s.CaseRowSerializer,
            400: ERR_400,
            403: ERR_403,
            404: ERR_404,
            409: ERR_409,
        },
        summary="Reopen an item's gold label for adjudication, with a note (lead)",
    )
    def post(self, request, slug, item_id):
        access = project_access(request, slug, "can_manage")
        data = _parse(s.NoteRequestSerializer, request)
        case = gold_reopen(
            project=access.project, item_id=item_id, lead=request.user, note=data["note"]
        )
        return Response(s.CaseRowSerializer(case).data, status=status.HTTP_201_CREATED)


class ItemGoldQuestionView(APIView):
    @extend_schema(
        request=s.GoldQuestionRequestSerializer,
        responses={
            200: s.ItemGoldSerializer,
            400: ERR_400,
            403: ERR_403,
            404: ERR_404,
            409: ERR_409,
        },
        summary="Mark an item as a gold question with its known label, or unmark it (lead)",
    )
    def post(self, request, slug, item_id):
        access = project_access(request, slug, "can_manage")
        data = _parse(s.GoldQuestionRequestSerializer, request)
        if data["is_gold_question"]:
            gold_question_set(
                project=access.project,
                item_id=item_id,
                lead=request.user,
                category_ids=data["categories"],
                none_of_these=data["none_of_these"],
            )
        else:
            gold_question_unset(project=access.project, item_id=item_id, lead=request.user)
        return Response(_item_gold(access, item_id))

"""The annotation queue over HTTP: claim the next item, submit, skip, release, renew, undo.

Only annotators and leads (can_annotate); scientists get 403, non-members 404.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from ...services.annotations import annotation_submit, annotation_undo
from ...services.queue import (
    assignment_release,
    assignment_renew,
    assignment_skip,
    item_claim_next,
)
from .. import serializers as s
from ..permissions import project_access
from ._schema import ERR_400, ERR_403, ERR_404, ERR_409


def _parse(serializer_class, request):
    parsed = serializer_class(data=request.data)
    parsed.is_valid(raise_exception=True)
    return parsed.validated_data


class NextItemView(APIView):
    @extend_schema(
        request=s.NextRequestSerializer,
        responses={
            200: s.ClaimSerializer,
            204: OpenApiResponse(description="Nothing left for you in this project."),
            403: ERR_403,
            404: ERR_404,
            409: ERR_409,
        },
        summary="Lease the next item to label",
    )
    def post(self, request, slug):
        access = project_access(request, slug, "can_annotate")
        data = _parse(s.NextRequestSerializer, request)
        claim = item_claim_next(
            project=access.project, annotator=request.user, exclude_item_ids=tuple(data["exclude"])
        )
        if claim is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(s.ClaimSerializer(claim).data)


class SubmitView(APIView):
    @extend_schema(
        request=s.SubmitRequestSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                location=OpenApiParameter.HEADER,
                required=False,
                description="Alternative to `idempotency_key` in the body.",
            )
        ],
        responses={
            201: OpenApiResponse(s.AnnotationSerializer, description="Stored."),
            200: OpenApiResponse(
                s.AnnotationSerializer, description="A replay of the same key: stored before."
            ),
            400: ERR_400,
            403: ERR_403,
            404: ERR_404,
            409: ERR_409,
        },
        summary="Submit your label for an item (idempotent by key)",
    )
    def post(self, request, slug, item_id):
        access = project_access(request, slug, "can_annotate")
        data = _parse(s.SubmitRequestSerializer, request)
        key = data["idempotency_key"] or request.headers.get("Idempotency-Key", "")
        result = annotation_submit(
            project=access.project,
            annotator=request.user,
            item_id=item_id,
            category_ids=data["categories"],
            none_of_these=data["none_of_these"],
            unsure=data["unsure"],
            comment=data["comment"],
            time_spent_ms=data["time_spent_ms"],
            idempotency_key=key,
        )
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(s.AnnotationSerializer(result.annotation).data, status=code)


class SkipView(APIView):
    @extend_schema(
        request=s.SkipRequestSerializer,
        responses={200: s.SkippedSerializer, 400: ERR_400, 403: ERR_403, 404: ERR_404},
        summary="Give an item back with a reason (not offered to you again)",
    )
    def post(self, request, slug, item_id):
        access = project_access(request, slug, "can_annotate")
        data = _parse(s.SkipRequestSerializer, request)
        lease = assignment_skip(
            project=access.project, annotator=request.user, item_id=item_id, reason=data["reason"]
        )
        return Response(s.SkippedSerializer(lease).data)


class ReleaseView(APIView):
    @extend_schema(
        request=s.ItemIdsSerializer,
        responses={200: s.ReleasedSerializer, 400: ERR_400, 403: ERR_403, 404: ERR_404},
        summary="Give back held items without a verdict (stopping for now)",
    )
    def post(self, request, slug):
        access = project_access(request, slug, "can_annotate")
        data = _parse(s.ItemIdsSerializer, request)
        released = assignment_release(
            project=access.project, annotator=request.user, item_ids=data["items"]
        )
        return Response({"released": released})


class RenewView(APIView):
    @extend_schema(
        request=s.ItemIdsSerializer,
        responses={200: s.HeldSerializer, 400: ERR_400, 403: ERR_403, 404: ERR_404},
        summary="Extend your leases; returns the items you still hold",
    )
    def post(self, request, slug):
        access = project_access(request, slug, "can_annotate")
        data = _parse(s.ItemIdsSerializer, request)
        held = assignment_renew(
            project=access.project, annotator=request.user, item_ids=data["items"]
        )
        return Response({"held": held})


class UndoView(APIView):
    @extend_schema(
        request=None,
        responses={200: s.UndoneSerializer, 403: ERR_403, 404: ERR_404, 409: ERR_409},
        summary="Withdraw your recent submit; the item comes back to you under a lease",
    )
    def post(self, request, slug, annotation_id):
        access = project_access(request, slug, "can_annotate")
        undone = annotation_undo(
            project=access.project, annotator=request.user, annotation_id=annotation_id
        )
        return Response(s.UndoneSerializer(undone).data)

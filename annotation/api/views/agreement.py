"""Agreement and annotator quality, read from the newest stored snapshot (never computed on a
request), and a lead's "recompute now".

Who sees what: leads and scientists read per-category agreement and the pooled confusion;
per-annotator figures (the annotator table, per-pair confusion with usernames) are for leads,
who manage the annotators. Annotators see none of it (they never see others' labels).
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from ...agreement_stats import agreement_document, annotator_document
from ...services.agreement import agreement_snapshot_request
from .. import serializers_agreement as s
from ..permissions import project_access
from ._schema import ERR_403, ERR_404


class AgreementView(APIView):
    @extend_schema(
        responses={200: s.AgreementSerializer, 403: ERR_403, 404: ERR_404},
        summary="Agreement per category with 95% CIs (leads and scientists)",
        description=(
            "From the newest finished snapshot: per category Krippendorff's alpha, Cohen's "
            "and Fleiss' kappa, Gwet's AC1, positive/negative-specific and percent agreement, "
            "each with a bootstrap CI (null value + reason when there is not enough data); "
            "set-level alpha; pooled annotator-vs-annotator confusion, and for leads the "
            "per-pair tables. `snapshot` is null until one is computed."
        ),
    )
    def get(self, request, slug):
        access = project_access(request, slug, "can_read_all")
        body = agreement_document(project=access.project, with_pairs=access.can_manage)
        return Response(s.AgreementSerializer(body).data)


class AnnotatorListView(APIView):
    @extend_schema(
        responses={200: s.AnnotatorListSerializer, 403: ERR_403, 404: ERR_404},
        summary="Annotator quality (leads)",
        description=(
            "Per annotator: annotations, median time, skip rate, agreement with peers and with "
            "gold per category, gold-question accuracy with the alert flag."
        ),
    )
    def get(self, request, slug):
        access = project_access(request, slug, "can_manage")
        return Response(s.AnnotatorListSerializer(annotator_document(project=access.project)).data)


class RecomputeView(APIView):
    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(s.SnapshotSerializer, description="The snapshot queued."),
            403: ERR_403,
            404: ERR_404,
        },
        summary="Recompute agreement now (lead)",
        description="Queues a snapshot at once (joins one already pending). Poll GET agreement/.",
    )
    def post(self, request, slug):
        access = project_access(request, slug, "can_manage")
        snapshot = agreement_snapshot_request(project_id=access.project.pk, now=True)
        snapshot.refresh_from_db()
        return Response(s.SnapshotSerializer(snapshot).data, status=status.HTTP_202_ACCEPTED)

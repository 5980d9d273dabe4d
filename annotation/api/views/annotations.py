"""The requesting user's own annotations (never anyone else's)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics

from ...models import Annotation
from ...selectors import annotation_list_mine
from .. import serializers as s
from ..pagination import AnnotationCursorPagination
from ..permissions import project_access


@extend_schema(
    parameters=[OpenApiParameter("project", str, description="Only this project (its slug).")],
    summary="Your own annotations, newest first",
)
class MyAnnotationListView(generics.ListAPIView):
    serializer_class = s.AnnotationSerializer
    pagination_class = AnnotationCursorPagination
    queryset = Annotation.objects.none()

    def get_queryset(self):
        slug = self.request.query_params.get("project")
        project = project_access(self.request, slug).project if slug else None
        return annotation_list_mine(annotator=self.request.user, project=project)

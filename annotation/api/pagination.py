"""Cursor (keyset) pagination: pages stay as fast on page 10,000 as on page 1 and never run
COUNT(*) over a million-row table. Responses are `{"next": url|null, "previous": url|null,
"results": [...]}`; follow `next` until it is null."""

from rest_framework.pagination import CursorPagination


class ItemCursorPagination(CursorPagination):
    ordering = "id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class AnnotationCursorPagination(CursorPagination):
    # Newest first, matching the annotation_mine_idx (annotator, created_at) index.
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class ImportJobCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

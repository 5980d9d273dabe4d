"""Versions API routes, mounted at /api/projects/<slug>/versions/ (config/urls.py)."""

from django.urls import path

from . import views

V = "<int:number>/"

urlpatterns = [
    path("", views.VersionListView.as_view(), name="api-versions"),
    path("diff/", views.DiffView.as_view(), name="api-versions-diff"),
    path(V, views.VersionDetailView.as_view(), name="api-version"),
    path(V + "publish/", views.VersionPublishView.as_view(), name="api-version-publish"),
    path(V + "notes/", views.NoteListView.as_view(), name="api-version-notes"),
    path(V + "readme/", views.DocumentView.as_view(kind="readme"), name="api-version-readme"),
    path(
        V + "croissant/",
        views.DocumentView.as_view(kind="croissant"),
        name="api-version-croissant",
    ),
    path(V + "exports/", views.ExportListView.as_view(), name="api-version-exports"),
    path(V + "exports/<int:job_id>/", views.ExportDetailView.as_view(), name="api-export"),
    path(
        V + "exports/<int:job_id>/download/",
        views.ExportDownloadView.as_view(),
        name="api-export-download",
    ),
]

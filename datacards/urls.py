"""Version pages, mounted at /p/<slug>/versions/ (config/urls.py)."""

from django.urls import path

from . import views

V = "<int:number>/"

urlpatterns = [
    path("", views.versions_page, name="versions"),
    path("freeze/", views.version_freeze, name="version-freeze"),
    path("diff/", views.versions_diff, name="versions-diff"),
    path(V, views.version_page, name="version"),
    path(V + "progress/", views.version_progress, name="version-progress"),
    path(V + "sections/", views.version_sections, name="version-sections"),
    path(V + "publish/", views.version_publish_view, name="version-publish"),
    path(V + "delete/", views.version_delete_view, name="version-delete"),
    path(V + "notes/", views.version_note, name="version-note"),
    path(V + "exports/", views.version_export, name="version-export"),
    path(V + "exports/progress/", views.export_progress, name="export-progress"),
    path(V + "exports/<int:job_id>/download/", views.export_download, name="export-download"),
    path(V + "README.md", views.version_document, {"kind": "readme"}, name="version-readme"),
    path(
        V + "croissant.json",
        views.version_document,
        {"kind": "croissant"},
        name="version-croissant",
    ),
]

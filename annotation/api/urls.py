"""REST API routes (mounted at /api/). Projects are addressed by slug."""

from django.urls import path

from .views import annotations, items, projects, queue

P = "projects/<slug:slug>/"

urlpatterns = [
    path("projects/", projects.ProjectListView.as_view(), name="api-projects"),
    path(P, projects.ProjectDetailView.as_view(), name="api-project"),
    path(P + "categories/", projects.CategoryListView.as_view(), name="api-categories"),
    path(
        P + "categories/<int:category_id>/",
        projects.CategoryDetailView.as_view(),
        name="api-category",
    ),
    path(P + "items/", items.ItemListView.as_view(), name="api-items"),
    path(P + "items/import/", items.ItemImportView.as_view(), name="api-items-import"),
    path(P + "imports/", items.ImportJobListView.as_view(), name="api-imports"),
    path(P + "imports/<int:job_id>/", items.ImportJobDetailView.as_view(), name="api-import"),
    path(P + "next/", queue.NextItemView.as_view(), name="api-next"),
    path(P + "items/<int:item_id>/submit/", queue.SubmitView.as_view(), name="api-submit"),
    path(P + "items/<int:item_id>/skip/", queue.SkipView.as_view(), name="api-skip"),
    path(P + "release/", queue.ReleaseView.as_view(), name="api-release"),
    path(P + "renew/", queue.RenewView.as_view(), name="api-renew"),
    path(P + "annotations/<int:annotation_id>/undo/", queue.UndoView.as_view(), name="api-undo"),
    path("annotations/mine/", annotations.MyAnnotationListView.as_view(), name="api-mine"),
]

"""REST API routes (mounted at /api/). Projects are addressed by slug."""

from django.urls import path

from .views import adjudication, agreement, annotations, items, projects, queue

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
    path(P + "agreement/", agreement.AgreementView.as_view(), name="api-agreement"),
    path(
        P + "agreement/recompute/",
        agreement.RecomputeView.as_view(),
        name="api-agreement-recompute",
    ),
    path(P + "annotators/", agreement.AnnotatorListView.as_view(), name="api-annotators"),
    path("annotations/mine/", annotations.MyAnnotationListView.as_view(), name="api-mine"),
    # Consolidation and adjudication.
    path(
        P + "items/<int:item_id>/gold/", adjudication.ItemGoldView.as_view(), name="api-item-gold"
    ),
    path(
        P + "items/<int:item_id>/reopen/",
        adjudication.ItemReopenView.as_view(),
        name="api-item-reopen",
    ),
    path(
        P + "items/<int:item_id>/gold-question/",
        adjudication.ItemGoldQuestionView.as_view(),
        name="api-item-gold-question",
    ),
    path(P + "adjudication/", adjudication.CaseListView.as_view(), name="api-cases"),
    path(P + "adjudication/<int:case_id>/", adjudication.CaseDetailView.as_view(), name="api-case"),
    path(
        P + "adjudication/<int:case_id>/decide/",
        adjudication.CaseDecideView.as_view(),
        name="api-case-decide",
    ),
    path(
        P + "adjudication/<int:case_id>/dismiss/",
        adjudication.CaseDismissView.as_view(),
        name="api-case-dismiss",
    ),
]

"""Pages of the annotation app. Each area's views live in their own module under views/."""

from django.urls import path

from .views import adjudication, agreement, annotate, home, imports, lead

urlpatterns = [
    path("", home.home, name="home"),
    path("account/token/", home.api_token, name="api-token"),
    path("projects/new/", lead.project_create_view, name="project-create"),
    # Annotator page and its htmx/JSON endpoints.
    path("p/<slug:slug>/annotate/", annotate.annotate_page, name="annotate"),
    path("p/<slug:slug>/annotate/next/", annotate.next_item, name="annotate-next"),
    path("p/<slug:slug>/annotate/submit/", annotate.submit, name="annotate-submit"),
    path("p/<slug:slug>/annotate/skip/", annotate.skip, name="annotate-skip"),
    path("p/<slug:slug>/annotate/undo/", annotate.undo, name="annotate-undo"),
    path("p/<slug:slug>/annotate/renew/", annotate.renew, name="annotate-renew"),
    path("p/<slug:slug>/annotate/release/", annotate.release, name="annotate-release"),
    path("p/<slug:slug>/annotate/progress/", annotate.progress, name="annotate-progress"),
    # Lead and scientist pages.
    path("p/<slug:slug>/", lead.dashboard, name="dashboard"),
    path("p/<slug:slug>/agreement/status/", agreement.agreement_status, name="agreement-status"),
    path(
        "p/<slug:slug>/agreement/confusion/",
        agreement.agreement_confusion_view,
        name="agreement-confusion",
    ),
    path(
        "p/<slug:slug>/agreement/recompute/",
        agreement.agreement_recompute,
        name="agreement-recompute",
    ),
    path("p/<slug:slug>/settings/", lead.project_settings, name="project-settings"),
    path("p/<slug:slug>/categories/", lead.categories, name="categories"),
    path("p/<slug:slug>/members/", lead.members, name="members"),
    path("p/<slug:slug>/items/", lead.item_list_view, name="items"),
    path("p/<slug:slug>/items/<int:item_id>/", adjudication.item_detail, name="item-detail"),
    # Adjudication (leads).
    path("p/<slug:slug>/adjudication/", adjudication.queue, name="adjudication"),
    path("p/<slug:slug>/adjudication/next/", adjudication.next_case, name="adjudication-next"),
    path(
        "p/<slug:slug>/adjudication/<int:case_id>/",
        adjudication.case_page,
        name="adjudication-case",
    ),
    path("p/<slug:slug>/import/", imports.import_page, name="import"),
    path("p/<slug:slug>/import/<int:job_id>/", imports.import_job_page, name="import-job"),
    path(
        "p/<slug:slug>/import/<int:job_id>/progress/",
        imports.import_job_progress,
        name="import-job-progress",
    ),
]

"""Learning API routes, mounted at /api/projects/<slug>/learning/ (config/urls.py)."""

from django.urls import path

from . import views, views_noise

urlpatterns = [
    path("runs/", views.RunListView.as_view(), name="api-learning-runs"),
    path("runs/<int:number>/", views.RunDetailView.as_view(), name="api-learning-run"),
    path("runs/<int:number>/picks/", views.RunPickListView.as_view(), name="api-learning-picks"),
    path("config/", views.ConfigView.as_view(), name="api-learning-config"),
    path("seeds/", views.SeedsView.as_view(), name="api-learning-seeds"),
    path("retrain/", views.RetrainView.as_view(), name="api-learning-retrain"),
    # Label-noise review (views_noise.py).
    path("noise/", views_noise.NoiseSummaryView.as_view(), name="api-noise-summary"),
    path("noise/runs/", views_noise.NoiseRunListView.as_view(), name="api-noise-runs"),
    path(
        "noise/runs/<int:number>/", views_noise.NoiseRunDetailView.as_view(), name="api-noise-run"
    ),
    path("noise/issues/", views_noise.LabelIssueListView.as_view(), name="api-noise-issues"),
    path(
        "noise/issues/<int:issue_id>/",
        views_noise.LabelIssueDetailView.as_view(),
        name="api-noise-issue",
    ),
    path(
        "noise/issues/<int:issue_id>/confirm/",
        views_noise.LabelIssueConfirmView.as_view(),
        name="api-noise-issue-confirm",
    ),
    path(
        "noise/issues/<int:issue_id>/dismiss/",
        views_noise.LabelIssueDismissView.as_view(),
        name="api-noise-issue-dismiss",
    ),
]

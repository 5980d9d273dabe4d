"""Pages of the learning app, mounted at /p/<slug>/learning/ (config/urls.py)."""

from django.urls import path

from . import views, views_noise

urlpatterns = [
    path("", views.learning_page, name="learning"),
    path("progress/", views.learning_progress, name="learning-progress"),
    path("retrain/", views.learning_retrain, name="learning-retrain"),
    path("settings/", views.learning_settings, name="learning-settings"),
    path("runs/<int:number>/", views.learning_run, name="learning-run"),
    # Label-noise review (views_noise.py).
    path("noise/", views_noise.noise_page, name="learning-noise"),
    path("noise/progress/", views_noise.noise_progress, name="learning-noise-progress"),
    path("noise/check/", views_noise.noise_request, name="learning-noise-request"),
]

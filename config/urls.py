"""Root URLs: pages per app, the REST API under /api/, OpenAPI schema and Swagger UI."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/projects/<slug:slug>/learning/", include("learning.api.urls")),
    path("api/projects/<slug:slug>/versions/", include("datacards.api.urls")),
    path("api/", include("annotation.api.urls")),
    path("p/<slug:slug>/learning/", include("learning.urls")),
    path("p/<slug:slug>/versions/", include("datacards.urls")),
    path("", include("annotation.urls")),
]

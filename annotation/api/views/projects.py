"""Projects and their categories."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from ...permissions import can_create_projects
from ...selectors import category_get, category_list, project_list_for_user
from ...services.consolidation import project_settings_update
from ...services.projects import category_create, category_update, project_create
from .. import serializers as s
from ..permissions import project_access, role_label
from ._schema import ERR_400, ERR_403, ERR_404, ERR_409


class ProjectListView(APIView):
    @extend_schema(responses=s.ProjectSerializer(many=True), summary="Your projects")
    def get(self, request):
        projects = project_list_for_user(user=request.user)
        return Response(s.ProjectSerializer(projects, many=True).data)

    @extend_schema(
        request=s.ProjectCreateSerializer,
        responses={201: s.ProjectSerializer, 400: ERR_400, 403: ERR_403, 409: ERR_409},
        summary="Create a project (you become its lead)",
    )
    def post(self, request):
        if not can_create_projects(request.user):
            raise PermissionDenied("You may not create projects.")
        parsed = s.ProjectCreateSerializer(data=request.data)
        parsed.is_valid(raise_exception=True)
        data = dict(parsed.validated_data)
        project = project_create(
            created_by=request.user, category_names=data.pop("categories"), **data
        )
        body = s.ProjectSerializer(project, context={"role": "lead"}).data
        return Response(body, status=status.HTTP_201_CREATED)


class ProjectDetailView(APIView):
    @extend_schema(responses={200: s.ProjectSerializer, 404: ERR_404})
    def get(self, request, slug):
        access = project_access(request, slug)
        role = role_label(access)
        return Response(s.ProjectSerializer(access.project, context={"role": role}).data)

    @extend_schema(
        request=s.ProjectUpdateSerializer,
        responses={200: s.ProjectSerializer, 400: ERR_400, 403: ERR_403, 404: ERR_404},
        summary="Change project settings (lead)",
    )
    def patch(self, request, slug):
        access = project_access(request, slug, "can_manage")
        parsed = s.ProjectUpdateSerializer(data=request.data, partial=True)
        parsed.is_valid(raise_exception=True)
        project = project_settings_update(project=access.project, **parsed.validated_data)
        return Response(s.ProjectSerializer(project, context={"role": role_label(access)}).data)


class CategoryListView(APIView):
    @extend_schema(
        responses={200: s.CategorySerializer(many=True), 404: ERR_404},
        summary="Categories (leads also see inactive ones)",
    )
    def get(self, request, slug):
        access = project_access(request, slug)
        categories = category_list(project=access.project, active_only=not access.can_manage)
        return Response(s.CategorySerializer(categories, many=True).data)

    @extend_schema(
        request=s.CategoryCreateSerializer,
        responses={201: s.CategorySerializer, 400: ERR_400, 403: ERR_403, 409: ERR_409},
        summary="Add a category (lead)",
    )
    def post(self, request, slug):
        access = project_access(request, slug, "can_manage")
        parsed = s.CategoryCreateSerializer(data=request.data)
        parsed.is_valid(raise_exception=True)
        category = category_create(project=access.project, **parsed.validated_data)
        return Response(s.CategorySerializer(category).data, status=status.HTTP_201_CREATED)


class CategoryDetailView(APIView):
    @extend_schema(
        request=s.CategoryUpdateSerializer,
        responses={200: s.CategorySerializer, 400: ERR_400, 403: ERR_403, 404: ERR_404},
        summary="Change a category (lead)",
    )
    def patch(self, request, slug, category_id):
        access = project_access(request, slug, "can_manage")
        parsed = s.CategoryUpdateSerializer(data=request.data, partial=True)
        parsed.is_valid(raise_exception=True)
        category = category_get(project=access.project, category_id=category_id)
        if category is None:
            raise Http404("No such category in this project.")
        category = category_update(category=category, **parsed.validated_data)
        return Response(s.CategorySerializer(category).data)

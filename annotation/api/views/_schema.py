"""Shared OpenAPI response descriptions for the error shape."""

from drf_spectacular.utils import OpenApiResponse

from ..serializers import ErrorSerializer

ERR_400 = OpenApiResponse(ErrorSerializer, description="Invalid input (message in `error`).")
ERR_403 = OpenApiResponse(ErrorSerializer, description="Your role does not allow this.")
ERR_404 = OpenApiResponse(
    ErrorSerializer, description="No such project (or not a member) / object."
)
ERR_409 = OpenApiResponse(ErrorSerializer, description="Conflicts with the current state.")

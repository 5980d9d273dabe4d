"""The project list every signed-in user lands on, and their API token."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token

from ..permissions import can_create_projects
from ..selectors import project_list_for_user


@login_required
def home(request):
    return render(
        request,
        "annotation/home.html",
        {
            "projects": project_list_for_user(user=request.user),
            "can_create": can_create_projects(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def api_token(request):
    """Show the user's API token; POST makes a new one (the old one stops working)."""
    if request.method == "POST":
        Token.objects.filter(user=request.user).delete()
    token, _ = Token.objects.get_or_create(user=request.user)
    return render(request, "annotation/api_token.html", {"token": token})

"""Project access for API views: the same rules as the pages (annotation.permissions).

Non-members get 404 (a project's existence does not leak), members without the role 403.
Authentication itself (401 for anonymous requests) is DRF's IsAuthenticated default.
"""

from django.http import Http404

from ..permissions import Access, access_get, require
from ..selectors import project_get


def project_access(request, slug: str, ability: str | None = None) -> Access:
    """The requesting user's access to the project `slug`, checked for `ability` if given
    ("can_annotate", "can_manage" or "can_read_all")."""
    project = project_get(slug=slug)
    if project is None:
        raise Http404("No such project.")
    access = access_get(user=request.user, project=project)
    if ability is not None:
        require(access, ability)
    return access


def role_label(access: Access) -> str:
    """The role as the API reports it; superusers without a membership act as "admin"."""
    return access.role or "admin"

"""Project access for API views: the same rules as the pages (annotation.permissions).

Non-members get 404 (a project's existence does not leak), members without the role 403.
Authentication itself (401 for anonymous requests) is DRF's IsAuthenticated default.
"""

from .. import permissions
from ..permissions import Access


def project_access(request, slug: str, ability: str | None = None) -> Access:
    """The requesting user's access to the project `slug`, checked for `ability` if given
    ("can_annotate", "can_manage" or "can_read_all")."""
    return permissions.project_access(user=request.user, slug=slug, ability=ability)


def role_label(access: Access) -> str:
    """The role as the API reports it; superusers without a membership act as "admin"."""
    return access.role or "admin"

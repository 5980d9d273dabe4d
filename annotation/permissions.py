"""Who may do what in a project. Every page and endpoint asks these, server-side.

Roles are per project (Membership). Superusers act as leads everywhere. Non-members get 404 so a
project's existence does not leak; members without the needed role get 403.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Membership, Project, Role
from .rows import fetch_one

ANNOTATE_ROLES = frozenset({Role.ANNOTATOR, Role.LEAD})
MANAGE_ROLES = frozenset({Role.LEAD})
READ_ROLES = frozenset({Role.LEAD, Role.SCIENTIST})


@dataclass(frozen=True)
class Access:
    project: Project
    role: str | None  # None: superuser without a membership

    @property
    def can_annotate(self) -> bool:
        return self.role in ANNOTATE_ROLES

    @property
    def can_manage(self) -> bool:
        return self.role is None or self.role in MANAGE_ROLES

    @property
    def can_read_all(self) -> bool:
        """Read every item, aggregate and progress figure (never other annotators' labels on
        the annotate page)."""
        return self.role is None or self.role in READ_ROLES


PROJECT_WITH_ROLE_SQL = (
    f"SELECT p.*, (SELECT m.role FROM {Membership._meta.db_table} m "  # noqa: S608 (our tables)
    "WHERE m.project_id = p.id AND m.user_id = %s) AS member_role "
    f"FROM {Project._meta.db_table} p WHERE p.slug = %s"
)


def project_access(*, user, slug: str, ability: str | None = None) -> Access:
    """The user's access to the project `slug` in one query: Http404 for a missing project or a
    non-member, PermissionDenied when `ability` ("can_annotate", "can_manage", "can_read_all")
    is not theirs."""
    # Plain SQL: this runs on every page and API call, and the ORM version of the same query
    # costs about 3× the CPU (docs/benchmarks.md).
    project = fetch_one(Project, PROJECT_WITH_ROLE_SQL, [user.pk, slug])
    role = project.member_role if project is not None else None
    if project is None or (role is None and not (user.is_authenticated and user.is_superuser)):
        raise Http404("No such project.")
    access = Access(project=project, role=role)
    if ability is not None:
        require(access, ability)
    return access


def require(access: Access, ability: str) -> Access:
    if not getattr(access, ability):
        raise PermissionDenied(f"Your role in this project does not allow this ({ability}).")
    return access


def can_create_projects(user) -> bool:
    return user.is_authenticated and (user.is_superuser or user.has_perm("annotation.add_project"))

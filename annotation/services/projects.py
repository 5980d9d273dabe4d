"""Projects, their label schema (categories with hotkeys) and memberships."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from ..errors import Conflict, InvalidInput, NotFound
from ..models import Category, Membership, Project, Role
from .queue import item_open_slots_recount

# Keys the annotate page keeps for itself: 0 none of these, U unsure, S skip, Z undo,
# R reveal blurred text, G guidelines, ? help.
RESERVED_KEYS = frozenset("0uszrg?")
HOTKEY_ORDER = "123456789abcdefhijklmnopqtvwxy"

PROJECT_FIELDS = ("name", "description", "guidelines", "multi_label", "overlap", "lease_minutes")


def _validate_project_fields(fields: dict) -> None:
    if "name" in fields and not (fields["name"] or "").strip():
        raise InvalidInput("A project needs a name.")
    if "overlap" in fields and not 1 <= int(fields["overlap"]) <= 10:
        raise InvalidInput("Overlap must be between 1 and 10 annotations per item.")
    if "lease_minutes" in fields and not 1 <= int(fields["lease_minutes"]) <= 240:
        raise InvalidInput("The lease must be between 1 and 240 minutes.")


def project_create(*, created_by, name: str, slug: str = "", **fields) -> Project:
    """Create a project and make its creator a lead."""
    fields = {k: v for k, v in fields.items() if k in PROJECT_FIELDS}
    _validate_project_fields({"name": name, **fields})
    slug = slugify(slug or name)[:80]
    if not slug:
        raise InvalidInput("The project name must contain letters or digits.")
    try:
        with transaction.atomic():
            project = Project.objects.create(name=name.strip(), slug=slug, created_by=created_by,
                                             **fields)
            if created_by is not None:
                Membership.objects.create(user=created_by, project=project, role=Role.LEAD)
    except IntegrityError as exc:
        raise Conflict(f"A project with the address '{slug}' already exists.") from exc
    return project


def project_update(*, project: Project, **fields) -> Project:
    """Change settings. A new overlap reopens or closes queue slots of every item at once;
    new guidelines bump the guideline version."""
    fields = {k: v for k, v in fields.items() if k in PROJECT_FIELDS}
    _validate_project_fields(fields)
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        overlap_changed = "overlap" in fields and int(fields["overlap"]) != project.overlap
        if "guidelines" in fields and fields["guidelines"] != project.guidelines:
            project.guidelines_version += 1
        for key, value in fields.items():
            setattr(project, key, value)
        project.save()
        if overlap_changed:
            item_open_slots_recount(project=project)
    return project


def _next_free_hotkey(project: Project) -> str:
    used = set(Category.objects.filter(project=project).values_list("hotkey", flat=True))
    for key in HOTKEY_ORDER:
        if key not in used:
            return key
    raise InvalidInput("No free hotkey left; set one by hand.")


def _clean_hotkey(hotkey: str) -> str:
    key = (hotkey or "").strip().lower()
    if len(key) != 1 or not key.isalnum():
        raise InvalidInput("A hotkey is one letter or digit.")
    if key in RESERVED_KEYS:
        raise InvalidInput(
            f"'{key}' is reserved on the annotate page (0 none, U unsure, S skip, Z undo, "
            "R reveal, G guidelines)."
        )
    return key


def category_create(
    *,
    project: Project,
    name: str,
    description: str = "",
    hotkey: str = "",
    order: int | None = None,
    sensitive: bool = False,
) -> Category:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("A category needs a name.")
    key = _clean_hotkey(hotkey) if hotkey else _next_free_hotkey(project)
    if order is None:
        order = Category.objects.filter(project=project).count()
    try:
        with transaction.atomic():
            return Category.objects.create(
                project=project,
                name=name,
                description=description,
                hotkey=key,
                order=order,
                sensitive=sensitive,
            )
    except IntegrityError as exc:
        raise Conflict(f"Name '{name}' or hotkey '{key}' is already used in this project.") from exc


def category_update(*, category: Category, **fields) -> Category:
    allowed = {"name", "description", "hotkey", "order", "sensitive", "active"}
    for key, value in fields.items():
        if key not in allowed:
            continue
        if key == "hotkey":
            value = _clean_hotkey(value)
        if key == "name":
            value = (value or "").strip()
            if not value:
                raise InvalidInput("A category needs a name.")
        setattr(category, key, value)
    try:
        with transaction.atomic():
            category.save()
    except IntegrityError as exc:
        raise Conflict("That name or hotkey is already used in this project.") from exc
    return category


def membership_set(*, project: Project, username: str, role: str) -> Membership:
    """Add a user to the project or change their role."""
    if role not in Role.values:
        raise InvalidInput(f"Unknown role '{role}'; use one of {', '.join(Role.values)}.")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise NotFound(f"No user named '{username}'.")
    membership, _ = Membership.objects.update_or_create(
        user=user, project=project, defaults={"role": role}
    )
    return membership


def membership_remove(*, project: Project, membership_id: int, acting_user) -> None:
    membership = Membership.objects.filter(project=project, pk=membership_id).first()
    if membership is None:
        raise NotFound("No such member.")
    if membership.role == Role.LEAD:
        leads = Membership.objects.filter(project=project, role=Role.LEAD).count()
        if leads <= 1:
            raise Conflict("A project keeps at least one lead.")
    membership.delete()

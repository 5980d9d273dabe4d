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


def _int_between(value, low: int, high: int, message: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(message) from None
    if not low <= number <= high:
        raise InvalidInput(message)
    return number


def _validate_project_fields(fields: dict) -> None:
    if "name" in fields:
        name = (fields["name"] or "").strip()
        if not name:
            raise InvalidInput("A project needs a name.")
        if len(name) > 200:
            raise InvalidInput("The project name is limited to 200 characters.")
    if "overlap" in fields:
        _int_between(
            fields["overlap"], 1, 10, "Overlap must be between 1 and 10 annotations per item."
        )
    if "lease_minutes" in fields:
        _int_between(
            fields["lease_minutes"], 1, 240, "The lease must be between 1 and 240 minutes."
        )


def _clean_category_names(names) -> list[str]:
    cleaned = [n.strip() for n in names if n and n.strip()]
    seen: set[str] = set()
    for name in cleaned:
        if len(name) > 100:
            raise InvalidInput(f"Category names are limited to 100 characters: '{name[:40]}…'.")
        if name.lower() in seen:
            raise InvalidInput(f"Category '{name}' is listed twice.")
        seen.add(name.lower())
    if len(cleaned) > len(HOTKEY_ORDER):
        raise InvalidInput(
            f"At most {len(HOTKEY_ORDER)} categories can get a hotkey automatically."
        )
    return cleaned


def project_create(
    *, created_by, name: str, slug: str = "", category_names=(), **fields
) -> Project:
    """Create a project, make its creator a lead and add the initial categories (hotkeys
    1–9, then letters), all or nothing."""
    fields = {k: v for k, v in fields.items() if k in PROJECT_FIELDS}
    _validate_project_fields({"name": name, **fields})
    names = _clean_category_names(category_names)
    slug = slugify(slug or name)[:80]
    if not slug:
        raise InvalidInput("The project name must contain letters or digits.")
    try:
        with transaction.atomic():
            project = Project.objects.create(
                name=name.strip(), slug=slug, created_by=created_by, **fields
            )
            if created_by is not None:
                Membership.objects.create(user=created_by, project=project, role=Role.LEAD)
            Category.objects.bulk_create(
                Category(project=project, name=n, hotkey=key, order=i)
                for i, (n, key) in enumerate(zip(names, HOTKEY_ORDER, strict=False))
            )
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
            setattr(project, key, value.strip() if key == "name" else value)
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
    if key in RESERVED_KEYS:
        raise InvalidInput(
            f"'{key}' is reserved on the annotate page (0 none, U unsure, S skip, Z undo, "
            "R reveal, G guidelines, ? help)."
        )
    if len(key) != 1 or not key.isascii() or not key.isalnum():
        raise InvalidInput("A hotkey is one letter or digit.")
    return key


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("A category needs a name.")
    if len(name) > 100:
        raise InvalidInput("Category names are limited to 100 characters.")
    return name


def _clean_order(order) -> int:
    return _int_between(order, 0, 32767, "The order is a whole number from 0 to 32767.")


def _check_unique(*, project: Project, name: str | None, hotkey: str | None, exclude_pk=None):
    """Clear messages for the two unique constraints (the constraints still decide races)."""
    others = Category.objects.filter(project=project).exclude(pk=exclude_pk)
    if name is not None and others.filter(name=name).exists():
        raise Conflict(f"A category named '{name}' already exists in this project.")
    if hotkey is not None:
        holder = others.filter(hotkey=hotkey).values_list("name", flat=True).first()
        if holder is not None:
            raise Conflict(f"Hotkey '{hotkey}' is already used by '{holder}'.")


def category_create(
    *,
    project: Project,
    name: str,
    description: str = "",
    hotkey: str = "",
    order: int | None = None,
    sensitive: bool = False,
) -> Category:
    """Add a category; without a hotkey the next free one (1–9, then letters) is taken."""
    name = _clean_name(name)
    key = _clean_hotkey(hotkey) if (hotkey or "").strip() else _next_free_hotkey(project)
    order = Category.objects.filter(project=project).count() if order is None else order
    order = _clean_order(order)
    _check_unique(project=project, name=name, hotkey=key)
    try:
        with transaction.atomic():
            return Category.objects.create(
                project=project,
                name=name,
                description=(description or "").strip(),
                hotkey=key,
                order=order,
                sensitive=bool(sensitive),
            )
    except IntegrityError as exc:
        raise Conflict(f"Name '{name}' or hotkey '{key}' is already used in this project.") from exc


CATEGORY_FIELDS = ("name", "description", "hotkey", "order", "sensitive", "active")


def category_update(*, category: Category, **fields) -> Category:
    """Change a category. Everything is validated before anything is written."""
    changes = {k: v for k, v in fields.items() if k in CATEGORY_FIELDS}
    if "name" in changes:
        changes["name"] = _clean_name(changes["name"])
    if "hotkey" in changes:
        changes["hotkey"] = _clean_hotkey(changes["hotkey"])
    if "order" in changes:
        changes["order"] = _clean_order(changes["order"])
    if "description" in changes:
        changes["description"] = (changes["description"] or "").strip()
    for flag in ("sensitive", "active"):
        if flag in changes:
            changes[flag] = bool(changes[flag])
    _check_unique(
        project=category.project,
        name=changes.get("name"),
        hotkey=changes.get("hotkey"),
        exclude_pk=category.pk,
    )
    try:
        with transaction.atomic():
            Category.objects.filter(pk=category.pk).update(**changes)
    except IntegrityError as exc:
        raise Conflict("That name or hotkey is already used in this project.") from exc
    for key, value in changes.items():
        setattr(category, key, value)
    return category


def _lead_count_locked(project: Project) -> int:
    """Lock the project row (serialises concurrent role changes) and count its leads."""
    list(Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True))
    return Membership.objects.filter(project=project, role=Role.LEAD).count()


def membership_set(*, project: Project, username: str, role: str) -> Membership:
    """Add a user to the project or change their role. The last lead cannot be demoted.

    Locks the project row first, so two leads demoting each other at once cannot leave the
    project without a lead.
    """
    if role not in Role.values:
        raise InvalidInput(f"Unknown role '{role}'; use one of {', '.join(Role.values)}.")
    username = (username or "").strip()
    if not username:
        raise InvalidInput("Give the username of the person to add.")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise NotFound(f"No user named '{username}'.")
    with transaction.atomic():
        leads = _lead_count_locked(project)
        current = Membership.objects.filter(user=user, project=project).first()
        if current is not None and current.role == Role.LEAD and role != Role.LEAD and leads <= 1:
            raise Conflict(f"{username} is the project's only lead; make someone else lead first.")
        membership, _ = Membership.objects.update_or_create(
            user=user, project=project, defaults={"role": role}
        )
    return membership


def membership_remove(*, project: Project, membership_id: int, acting_user=None) -> None:
    """Remove a member. The last lead cannot be removed (locks the project row first)."""
    with transaction.atomic():
        leads = _lead_count_locked(project)
        membership = (
            Membership.objects.select_related("user").filter(project=project, pk=membership_id)
        ).first()
        if membership is None:
            raise NotFound("No such member.")
        if membership.role == Role.LEAD and leads <= 1:
            raise Conflict(
                f"{membership.user.username} is the project's only lead; a project keeps at "
                "least one lead."
            )
        membership.delete()

"""Lead and scientist pages: create and edit projects, categories, members, the items list and
the progress dashboard. Each view parses input, checks the role, calls one service or selector
and renders; service errors become messages and the page is shown again unchanged."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .. import stats
from ..agreement_stats import agreement_panel
from ..errors import ServiceError
from ..forms import (
    CategoryForm,
    ConsolidationForm,
    ItemFilterForm,
    MemberForm,
    ProjectCreateForm,
    ProjectForm,
    form_errors,
)
from ..models import Category, Membership
from ..permissions import Access, can_create_projects, project_access
from ..selectors import category_list
from ..services.consolidation import project_settings_update
from ..services.projects import (
    RESERVED_KEYS,
    category_create,
    category_update,
    membership_remove,
    membership_set,
    project_create,
)
from .agreement import adjudication_url


def _access(request: HttpRequest, slug: str, ability: str) -> Access:
    return project_access(user=request.user, slug=slug, ability=ability)


def _ctx(access: Access, **extra) -> dict:
    return {"project": access.project, "access": access, **extra}


def _preview(request: HttpRequest) -> HttpResponse:
    """The guideline preview fragment (htmx): Markdown rendered and sanitised by `|markdown`."""
    return render(
        request,
        "annotation/_guidelines_preview.html",
        {"guidelines": request.POST.get("guidelines", "")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def project_create_view(request: HttpRequest) -> HttpResponse:
    if not can_create_projects(request.user):
        raise PermissionDenied("You may not create projects; ask an administrator.")
    if request.method == "POST" and request.POST.get("action") == "preview":
        return _preview(request)
    form = ProjectCreateForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                project = project_create(created_by=request.user, **form.service_fields())
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"Project '{project.name}' created.")
                return redirect("dashboard", slug=project.slug)
        else:
            messages.error(request, form_errors(form))
    return render(request, "annotation/project_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def project_settings(request: HttpRequest, slug: str) -> HttpResponse:
    access = _access(request, slug, "can_manage")
    if request.method == "POST" and request.POST.get("action") == "preview":
        return _preview(request)
    form = ProjectForm.for_project(access.project, request.POST or None)
    consolidation = ConsolidationForm.for_project(access.project, request.POST or None)
    if request.method == "POST":
        if form.is_valid() and consolidation.is_valid():
            try:
                # One service for both forms: the consolidation rule is validated against the
                # new overlap, and a rule or overlap change starts the consolidation rebuild.
                project_settings_update(
                    project=access.project,
                    **form.service_fields(),
                    **consolidation.service_fields(),
                )
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, "Settings saved.")
                return redirect("project-settings", slug=slug)
        else:
            messages.error(request, " ".join(filter(None, map(form_errors, (form, consolidation)))))
    return render(
        request, "annotation/settings.html", _ctx(access, form=form, consolidation=consolidation)
    )


def _category_post(request: HttpRequest, access: Access) -> str | None:
    """Apply one add or update; return the error message, if any."""
    form = CategoryForm(request.POST)
    if not form.is_valid():
        return form_errors(form)
    action = request.POST.get("action")
    try:
        if action == "add":
            category = category_create(project=access.project, **form.create_fields())
            messages.success(request, f"Category '{category.name}' added ({category.hotkey}).")
            return None
        if action == "update":
            category = Category.objects.filter(
                project=access.project, pk=request.POST.get("category_id") or 0
            ).first()
            if category is None:
                return "No such category in this project."
            category_update(category=category, **form.update_fields(category))
            messages.success(request, f"Category '{category.name}' saved.")
            return None
    except ServiceError as exc:
        return exc.message
    return "Unknown action."


@login_required
@require_http_methods(["GET", "POST"])
def categories(request: HttpRequest, slug: str) -> HttpResponse:
    access = _access(request, slug, "can_manage")
    if request.method == "POST":
        error = _category_post(request, access)
        if error is None:
            return redirect("categories", slug=slug)
        messages.error(request, error)
    return render(
        request,
        "annotation/categories.html",
        _ctx(
            access,
            categories=category_list(project=access.project, active_only=False),
            add_form=CategoryForm(request.POST if request.POST.get("action") == "add" else None),
            reserved=sorted(RESERVED_KEYS),
        ),
    )


def _member_post(request: HttpRequest, access: Access) -> str | None:
    action = request.POST.get("action")
    try:
        if action == "remove":
            membership_remove(
                project=access.project,
                membership_id=int(request.POST.get("membership_id") or 0),
                acting_user=request.user,
            )
            messages.success(request, "Member removed.")
            return None
        form = MemberForm(request.POST)
        if not form.is_valid():
            return form_errors(form)
        membership = membership_set(project=access.project, **form.cleaned_data)
    except ValueError:
        return "No such member."
    except ServiceError as exc:
        return exc.message
    messages.success(
        request, f"{membership.user.username} is now {membership.get_role_display().lower()}."
    )
    return None


@login_required
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, slug: str) -> HttpResponse:
    access = _access(request, slug, "can_manage")
    if request.method == "POST":
        error = _member_post(request, access)
        if error is None:
            return redirect("members", slug=slug)
        messages.error(request, error)
    add_form = MemberForm(request.POST if request.POST.get("action") == "add" else None)
    return render(
        request,
        "annotation/members.html",
        _ctx(
            access,
            memberships=stats.membership_list(project=access.project),
            add_form=add_form,
            roles=Membership._meta.get_field("role").choices,
        ),
    )


@login_required
@require_http_methods(["GET"])
def item_list_view(request: HttpRequest, slug: str) -> HttpResponse:
    access = _access(request, slug, "can_read_all")
    jobs = stats.import_job_choices(project=access.project)
    form = ItemFilterForm(request.GET, import_jobs=jobs)
    filters = form.cleaned_data if form.is_valid() else {}
    if not form.is_valid():
        messages.error(request, form_errors(form))
    page = stats.item_page(
        project=access.project,
        state=filters.get("state") or "all",
        external_id_prefix=(filters.get("q") or "").strip(),
        import_job_id=filters.get("batch"),
        after=filters.get("after"),
    )
    next_query = None
    if page.next_after is not None:
        query = request.GET.copy()
        query["after"] = page.next_after
        next_query = query.urlencode()
    first_query = request.GET.copy()
    first_query.pop("after", None)
    return render(
        request,
        "annotation/items.html",
        _ctx(
            access,
            form=form,
            page=page,
            next_query=next_query,
            first_query=first_query.urlencode() if filters.get("after") else None,
        ),
    )


@login_required
@require_http_methods(["GET"])
def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    """Progress (cached aggregates) and agreement (the newest stored snapshot: nothing is
    computed here). Leads also see per-annotator figures; scientists see per-category ones."""
    access = _access(request, slug, "can_read_all")
    progress = stats.dashboard_stats(project=access.project)
    panel = agreement_panel(
        project=access.project,
        with_annotators=access.can_manage,
        confusion_key=request.GET.get("confusion"),
    )
    new_since = 0
    if panel.snapshot is not None:
        new_since = max(0, progress.states.annotations - panel.snapshot.annotation_count)
    return render(
        request,
        "annotation/dashboard.html",
        _ctx(
            access,
            stats=progress,
            agreement=panel,
            new_since=new_since,
            adjudication_url=adjudication_url(access),
        ),
    )

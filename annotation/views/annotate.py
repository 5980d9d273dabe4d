"""The annotator page and its endpoints (htmx fragments and small JSON answers).

The page claims the first item and renders it; `static/goldset/annotate.js` then prefetches,
submits (optimistically, with an idempotency key and an outbox), skips, undoes, renews and
releases through the POST endpoints below. Every endpoint checks `can_annotate`; service errors
become `{"error": message, "code": code}` with the service's status (400/404/409). Nothing here
ever shows another annotator's label: the fragment holds one item and this user's own form.
"""

import json
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from ..errors import InvalidInput, ServiceError
from ..permissions import project_access
from ..selectors import annotator_progress, category_list
from ..services.annotations import annotation_submit, annotation_undo
from ..services.queue import (
    assignment_release,
    assignment_renew,
    assignment_skip,
    item_claim_next,
)

SKIP_REASONS = (
    "Not in the language I label",
    "Cannot load / empty",
    "Unclear guideline",
    "Other",
)
MAX_HELD_IDS = 50


def _error(message: str, code: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message, "code": code}, status=status)


def _annotator_access(request, slug: str):
    return project_access(user=request.user, slug=slug, ability="can_annotate")


def endpoint(view):
    """Login, project access (`can_annotate`) and JSON errors for the page's XHR endpoints.

    The script needs a readable answer for every failure, so a lost session is a 401 JSON
    instead of a redirect to the login page.
    """

    @wraps(view)
    def wrapper(request, slug: str):
        if not request.user.is_authenticated:
            return _error("Your session ended: log in again.", "login_required", 401)
        try:
            access = _annotator_access(request, slug)
            return view(request, access.project, _payload(request))
        except ServiceError as exc:
            return _error(exc.message, exc.code, exc.status)
        except PermissionDenied as exc:
            return _error(str(exc) or "Not allowed.", "forbidden", 403)
        except Http404:
            return _error("No such project.", "not_found", 404)

    return wrapper


def _payload(request) -> dict:
    """The request's fields, from a JSON body or form data (lists via getlist)."""
    if request.method != "POST":
        return {}
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidInput("The request body is not valid JSON.", code="bad_json") from exc
        if not isinstance(data, dict):
            raise InvalidInput("The request body must be a JSON object.", code="bad_json")
        return data
    data = {key: request.POST.get(key) for key in request.POST}
    for key in ("categories", "exclude", "item_ids"):
        if key in request.POST:
            data[key] = request.POST.getlist(key)
    return data


def _int(value, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"'{field}' must be a whole number.", code="bad_field") from exc


def _int_list(value, field: str) -> list[int]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list):
        raise InvalidInput(f"'{field}' must be a list of ids.", code="bad_field")
    if len(value) > MAX_HELD_IDS:
        raise InvalidInput(f"'{field}' holds at most {MAX_HELD_IDS} ids.", code="bad_field")
    return [_int(v, field) for v in value]


def _bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "on", "yes"}
    return bool(value)


def _item_context(project, item, *, previous: dict | None = None) -> dict:
    categories = category_list(project=project)
    previous = previous or {}
    chosen = set(previous.get("categories") or [])
    return {
        "project": project,
        "item": item,
        "metadata_rows": _metadata_rows(item.metadata if item is not None else None),
        "categories": categories,
        "chosen": chosen,
        "previous": previous,
        "sensitive": any(c.sensitive for c in categories),
        "comment_key": _comment_key(categories),
    }


def _metadata_rows(metadata) -> list[tuple[str, str]]:
    """(key, value) pairs as plain strings; the template escapes them. Computed here because a
    hostile key such as "items" would shadow dict methods in template lookups."""
    if not metadata:
        return []
    if not isinstance(metadata, dict):
        return [("metadata", json.dumps(metadata, ensure_ascii=False))]
    rows = []
    for key, value in metadata.items():
        if not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False)
        rows.append((str(key), value))
    return rows


def _fragment(request, project, item, *, previous: dict | None = None, status: int = 200):
    context = _item_context(project, item, previous=previous)
    return render(request, "annotation/_annotate_item.html", context, status=status)


def _comment_key(categories) -> str:
    """C focuses the comment unless a category uses it as its hotkey; then '/'."""
    return "/" if any(c.hotkey.lower() == "c" for c in categories) else "c"


@login_required
@require_GET
def annotate_page(request, slug: str):
    access = _annotator_access(request, slug)
    project = access.project
    error = None
    try:
        claim = item_claim_next(project=project, annotator=request.user)
    except ServiceError as exc:  # e.g. the lease limit: show the page with the message
        claim, error = None, exc.message
    context = _item_context(project, claim.item if claim else None)
    context.update(
        {
            "access": access,
            "error": error,
            "skip_reasons": SKIP_REASONS,
            "progress": annotator_progress(project=project, annotator=request.user),
            "undo_seconds": settings.GOLDSET["UNDO_WINDOW_SECONDS"],
            "max_comment": 2000,
        }
    )
    return render(request, "annotation/annotate.html", context)


@require_POST
@endpoint
def next_item(request, project, data):
    """Claim one more item (the prefetch); `exclude` = ids the page already holds."""
    exclude = _int_list(data.get("exclude"), "exclude")
    claim = item_claim_next(project=project, annotator=request.user, exclude_item_ids=exclude)
    if claim is None:
        return HttpResponse(status=204)
    return _fragment(request, project, claim.item)


@require_POST
@endpoint
def submit(request, project, data):
    """Store a label. 201 for a new annotation, 200 for a replay of the same idempotency key."""
    result = annotation_submit(
        project=project,
        annotator=request.user,
        item_id=_int(data.get("item_id"), "item_id"),
        category_ids=_int_list(data.get("categories"), "categories"),
        none_of_these=_bool(data.get("none_of_these")),
        unsure=_bool(data.get("unsure")),
        comment=str(data.get("comment") or ""),
        time_spent_ms=_int(data.get("time_spent_ms") or 0, "time_spent_ms"),
        idempotency_key=str(data.get("idempotency_key") or ""),
    )
    body = {
        "annotation_id": result.annotation.pk,
        "item_id": result.annotation.item_id,
        "created": result.created,
    }
    return JsonResponse(body, status=201 if result.created else 200)


@require_POST
@endpoint
def skip(request, project, data):
    assignment = assignment_skip(
        project=project,
        annotator=request.user,
        item_id=_int(data.get("item_id"), "item_id"),
        reason=str(data.get("reason") or ""),
    )
    return JsonResponse({"item_id": assignment.item_id, "skipped": True})


@require_POST
@endpoint
def undo(request, project, data):
    """Withdraw the last submit; answer with the item's fragment pre-filled with that label."""
    undone = annotation_undo(
        project=project,
        annotator=request.user,
        annotation_id=_int(data.get("annotation_id"), "annotation_id"),
    )
    return _fragment(request, project, undone.item, previous=undone.previous)


@require_POST
@endpoint
def renew(request, project, data):
    held = assignment_renew(
        project=project,
        annotator=request.user,
        item_ids=_int_list(data.get("item_ids"), "item_ids"),
    )
    return JsonResponse({"held": held})


@require_POST
@endpoint
def release(request, project, data):
    released = assignment_release(
        project=project,
        annotator=request.user,
        item_ids=_int_list(data.get("item_ids"), "item_ids"),
    )
    return JsonResponse({"released": released})


@login_required
@require_GET
def progress(request, slug: str):
    project = _annotator_access(request, slug).project
    figures = annotator_progress(project=project, annotator=request.user)
    return render(
        request, "annotation/_annotate_progress.html", {"project": project, "progress": figures}
    )

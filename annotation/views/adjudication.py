"""Adjudication pages for leads, and the item page (leads and scientists read it; leads act).

- the queue: open cases by priority, filtered by reason and category, open counts per reason,
  keyset paging;
- a case: the item (escaped, never rendered as HTML), every annotator's label as A/B/C (names
  on request), time spent, comments, unsure flags, the current gold; the lead decides by
  keyboard (`static/goldset/adjudicate.js`) and lands on the next case;
- an item: its annotations, gold history, cases and audit events; override, reopen, and
  gold-question marking for leads.

Each view parses, checks the role, calls one service or selector, renders. Service errors
become a message and the page again with the service's status (400 / 404 / 409).
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from ..errors import ServiceError
from ..forms import CaseFilterForm, GoldLabelForm, form_errors
from ..models import AdjudicationCase
from ..permissions import Access, project_access
from ..selectors import category_list
from ..selectors_adjudication import (
    case_get,
    case_list,
    case_next_id,
    case_open_counts,
    item_gold_get,
)
from ..services.adjudication import (
    DISMISSIBLE,
    case_decide,
    case_dismiss,
    gold_override,
    gold_reopen,
)
from ..services.gold_questions import gold_question_set, gold_question_unset


def _filters(request: HttpRequest, categories) -> tuple[CaseFilterForm, dict]:
    form = CaseFilterForm(request.GET, categories=categories)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return form, {}
    data = form.cleaned_data
    return form, {"reason": data.get("reason") or None, "category_id": data.get("category")}


def _filter_query(filters: dict) -> str:
    """The filters as a query string, kept across the queue → case → next case flow."""
    pairs = {}
    if filters.get("reason"):
        pairs["reason"] = filters["reason"]
    if filters.get("category_id") is not None:
        pairs["category"] = filters["category_id"]
    return urlencode(pairs)


def _after(request: HttpRequest) -> tuple[float, int] | None:
    try:
        return float(request.GET["after_p"]), int(request.GET["after_id"])
    except (KeyError, ValueError):
        return None


@login_required
@require_GET
def queue(request: HttpRequest, slug: str) -> HttpResponse:
    access = project_access(user=request.user, slug=slug, ability="can_manage")
    project = access.project
    categories = category_list(project=project, active_only=False)
    form, filters = _filters(request, categories)
    page = case_list(project=project, after=_after(request), **filters)
    counts = case_open_counts(project=project)
    next_query = None
    if page.next_after is not None:
        query = request.GET.copy()
        query["after_p"], query["after_id"] = repr(page.next_after[0]), page.next_after[1]
        next_query = query.urlencode()
    return render(
        request,
        "annotation/adjudication.html",
        {
            "project": project,
            "access": access,
            "form": form,
            "page": page,
            "reason_counts": [
                (value, label, counts[value]) for value, label in AdjudicationCase.Reason.choices
            ],
            "current_reason": filters.get("reason"),
            "next_query": next_query,
            "filter_query": _filter_query(filters),
            "paged": _after(request) is not None,
        },
    )


@login_required
@require_GET
def next_case(request: HttpRequest, slug: str) -> HttpResponse:
    """Open the next case (highest priority; with `after=<case id>`, the one after it)."""
    access = project_access(user=request.user, slug=slug, ability="can_manage")
    project = access.project
    _, filters = _filters(request, category_list(project=project, active_only=False))
    skipped = request.GET.get("after", "")
    after = int(skipped) if skipped.isdigit() else None
    case_id = case_next_id(project=project, after_case_id=after, **filters)
    query = _filter_query(filters)
    if case_id is None:
        messages.success(request, "No more open cases here.")
        return redirect(reverse("adjudication", args=[slug]) + (f"?{query}" if query else ""))
    url = reverse("adjudication-case", args=[slug, case_id])
    return redirect(url + (f"?{query}" if query else ""))


def _case_post(request: HttpRequest, access: Access, case_id: int, categories) -> None:
    action = request.POST.get("action")
    if action == "dismiss":
        case_dismiss(
            project=access.project,
            case_id=case_id,
            lead=request.user,
            note=request.POST.get("note", ""),
        )
        messages.success(request, "Case dismissed; the gold label stands.")
        return
    if action != "decide":
        raise ServiceError("Unknown action.")
    form = GoldLabelForm(request.POST, categories=categories)
    if not form.is_valid():
        raise ServiceError(form_errors(form))
    data = form.cleaned_data
    decided = case_decide(
        project=access.project,
        case_id=case_id,
        lead=request.user,
        category_ids=data["categories"],
        none_of_these=data["none_of_these"],
        rationale=data["rationale"],
        guideline_ref=data["guideline_ref"],
    )
    extra = len(decided.cases) - 1
    also = f" (and {extra} other open case{'s' if extra > 1 else ''} of this item)" if extra else ""
    messages.success(request, f"Decided{also}.")


@login_required
@require_http_methods(["GET", "POST"])
def case_page(request: HttpRequest, slug: str, case_id: int) -> HttpResponse:
    access = project_access(user=request.user, slug=slug, ability="can_manage")
    project = access.project
    categories = category_list(project=project, active_only=False)
    _, filters = _filters(request, categories)
    query = _filter_query(filters)
    status = 200
    if request.method == "POST":
        try:
            _case_post(request, access, case_id, categories)
        except ServiceError as exc:
            messages.error(request, exc.message)
            status = exc.status
        else:
            return redirect(
                reverse("adjudication-next", args=[slug]) + (f"?{query}" if query else "")
            )
    detail = case_get(project=project, case_id=case_id)
    if detail is None:
        raise Http404("No such case in this project.")
    return render(
        request,
        "annotation/adjudication_case.html",
        {
            "project": project,
            "access": access,
            "detail": detail,
            "case": detail.case,
            "state": detail.state,
            **_label_form_context(request, detail.state, categories),
            "filter_query": query,
            "show_names": request.GET.get("names") == "1",
            "dismissible": detail.state.gold is not None and detail.case.reason in DISMISSIBLE,
            "flag": _label_error_flag(detail.case, categories),
        },
        status=status,
    )


def _label_error_flag(case: AdjudicationCase, categories) -> dict | None:
    """What a label-error case says about its label, from the facts the learning app stored in
    `details` when it raised the case: quality, suspected categories, the suggested label (one
    key accepts it) and a default rationale naming the check. None for other cases."""
    details = case.details or {}
    if case.reason != AdjudicationCase.Reason.LABEL_ERROR or "suggested" not in details:
        return None
    by_id = {c.pk: c for c in categories}
    suggested = [by_id[c] for c in details.get("suggested", []) if c in by_id]
    quality = details.get("quality")
    check = f"label-noise check {details['noise_run']}" if details.get("noise_run") else "a check"
    return {
        "quality": quality,
        "score": details.get("score"),
        "method": details.get("method", ""),
        "suspected": [by_id[c] for c in details.get("suspected", []) if c in by_id],
        "suggested": suggested,
        "suggested_none": not suggested,
        "rationale": f"Likely label error confirmed ({check}, label quality "
        f"{quality:.3f}): the suggested label is right."
        if quality is not None
        else f"Likely label error confirmed ({check}): the suggested label is right.",
    }


def _label_form_context(request: HttpRequest, state, categories) -> dict:
    """What the label form shows: the posted choice after an error, else the current gold
    label, else the categories every annotator chose (the lead toggles the disputed ones)."""
    if request.method == "POST":
        chosen = {int(c) for c in request.POST.getlist("categories") if c.isdigit()}
        none = request.POST.get("none_of_these") in ("on", "1", "true")
        rationale = request.POST.get("rationale", "")
        ref = request.POST.get("guideline_ref", "")
    elif state.gold is not None:
        chosen = {c.pk for c in state.gold.categories.all()}
        none, rationale, ref = state.gold.none_of_these, "", state.gold.guideline_ref
    else:
        sets = [{c.pk for c in v.categories} for v in state.annotations]
        chosen = set.intersection(*sets) if sets else set()
        nones = [v.annotation.none_of_these for v in state.annotations]
        none = bool(nones) and all(nones)
        rationale, ref = "", ""
    return {
        "categories": [c for c in categories if c.active or c.pk in chosen],
        "chosen": chosen,
        "none_chosen": none,
        "rationale": rationale,
        "guideline_ref": ref,
    }


def _item_post(request: HttpRequest, access: Access, item_id: int, categories) -> str:
    """Apply one lead action on the item page; returns the success message."""
    if not access.can_manage:
        raise PermissionDenied("Only leads change gold labels.")
    action = request.POST.get("action")
    project, lead = access.project, request.user
    if action == "reopen":
        gold_reopen(project=project, item_id=item_id, lead=lead, note=request.POST.get("note", ""))
        return "Reopened: the item is in the adjudication queue."
    if action == "unset_gold_question":
        gold_question_unset(project=project, item_id=item_id, lead=lead)
        return "No longer a gold question."
    if action not in ("override", "set_gold_question"):
        raise ServiceError("Unknown action.")
    form = GoldLabelForm(request.POST, categories=categories)
    if not form.is_valid():
        raise ServiceError(form_errors(form))
    data = form.cleaned_data
    if action == "set_gold_question":
        gold_question_set(
            project=project,
            item_id=item_id,
            lead=lead,
            category_ids=data["categories"],
            none_of_these=data["none_of_these"],
        )
        return "Marked as a gold question with this known label."
    gold_override(
        project=project,
        item_id=item_id,
        lead=lead,
        category_ids=data["categories"],
        none_of_these=data["none_of_these"],
        rationale=data["rationale"],
        guideline_ref=data["guideline_ref"],
    )
    return "Gold label set."


@login_required
@require_http_methods(["GET", "POST"])
def item_detail(request: HttpRequest, slug: str, item_id: int) -> HttpResponse:
    access = project_access(user=request.user, slug=slug, ability="can_read_all")
    project = access.project
    categories = category_list(project=project, active_only=False)
    status = 200
    if request.method == "POST":
        try:
            message = _item_post(request, access, item_id, categories)
        except ServiceError as exc:
            messages.error(request, exc.message)
            status = exc.status
        else:
            messages.success(request, message)
            return redirect("item-detail", slug=slug, item_id=item_id)
    state = item_gold_get(project=project, item_id=item_id, with_events=True)
    if state is None:
        raise Http404("No such item in this project.")
    return render(
        request,
        "annotation/item_detail.html",
        {
            "project": project,
            "access": access,
            "state": state,
            "item": state.item,
            **_label_form_context(request, state, categories),
            "show_names": request.GET.get("names") == "1",
        },
        status=status,
    )

"""The leads' decisions: decide or dismiss a case, override or reopen a gold label, and
`case_open`, the public entry for other apps (the learning app's suspected label errors).

A decision is about the item, not about one question: deciding a case sets a new current gold
label (source adjudication) and resolves ALL open cases of the item with it. One lead looking at
the item and setting its label answers a disagreement, an unsure flag and a suspected label
error at once; leaving the others open would ask the same lead the same question again.

Dismissing keeps the current gold label and closes only that case. It is for cases raised
against an existing gold label (a suspected label error, a lead's reopening); a disagreement
or unsure case has no label to keep and needs a decision. A dismissed label-error case
remembers the gold label it was raised against, and `case_open` does not raise the same flag
against the same gold label again.

Concurrency: every service locks the item row first (then reads the case under that lock), so
two leads deciding the same case at once are serialised: the first wins, the second finds the
case closed and gets a Conflict naming who closed it. Every change writes LabelEvents with the
state before and after (`gold.py`).
"""

from dataclasses import dataclass

from django.db import transaction

from ..errors import Conflict, InvalidInput, NotFound
from ..models import AdjudicationCase, Category, GoldLabel, Item, LabelEvent, Project
from . import gold as g

MAX_RATIONALE_CHARS = 5000
MAX_NOTE_CHARS = 2000
MAX_GUIDELINE_REF_CHARS = 200
DISMISSIBLE = (g.Reason.LABEL_ERROR, g.Reason.REOPENED)


@dataclass(frozen=True)
class Decided:
    gold: GoldLabel
    cases: list[AdjudicationCase]  # every case this decision resolved


def _lock_item(*, project: Project, item_id: int) -> Item:
    item = Item.objects.select_for_update().filter(project=project, pk=item_id).first()
    if item is None:
        raise NotFound("No such item in this project.")
    return item


def validate_gold_label(*, project: Project, category_ids, none_of_these: bool) -> list[int]:
    """A label a lead sets: known active categories of the project, or 'none of these'."""
    try:
        ids = sorted({int(c) for c in category_ids or ()})
    except (TypeError, ValueError):
        raise InvalidInput("Categories must be ids.", code="unknown_category") from None
    if ids:
        known = set(
            Category.objects.filter(project=project, active=True, pk__in=ids).values_list(
                "pk", flat=True
            )
        )
        unknown = [c for c in ids if c not in known]
        if unknown:
            raise InvalidInput(
                f"Unknown or inactive categories for this project: {unknown}.",
                code="unknown_category",
            )
    if none_of_these and ids:
        raise InvalidInput(
            "'None of these' cannot be combined with categories.", code="none_with_categories"
        )
    if not ids and not none_of_these:
        raise InvalidInput("Choose at least one category or 'none of these'.", code="empty_label")
    if not project.multi_label and len(ids) > 1:
        raise InvalidInput(
            "This project is single-label: choose exactly one category.", code="single_label"
        )
    return ids


def _clean_text(value: str, *, limit: int, what: str, required: bool, code: str) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"Write a {what}.", code=code)
    if len(text) > limit:
        raise InvalidInput(f"The {what} is limited to {limit} characters.", code=code)
    return text


def _decision_inputs(*, project, category_ids, none_of_these, rationale, guideline_ref):
    ids = validate_gold_label(
        project=project, category_ids=category_ids, none_of_these=none_of_these
    )
    rationale = _clean_text(
        rationale,
        limit=MAX_RATIONALE_CHARS,
        what="rationale (why this label)",
        required=True,
        code="rationale_required",
    )
    ref = _clean_text(
        guideline_ref,
        limit=MAX_GUIDELINE_REF_CHARS,
        what="guideline reference",
        required=False,
        code="bad_guideline_ref",
    )
    return ids, rationale, ref


def _closed_message(case: AdjudicationCase) -> str:
    who = case.closed_by.username if case.closed_by_id else "someone"
    return f"This case was already {case.get_status_display().lower()} by {who}."


def _decide_locked(*, project, item, lead, ids, none_of_these, rationale, ref) -> Decided:
    """Set the adjudicated gold label and resolve every open case of the item with it."""
    cases = g.open_cases(item)
    gold = g.gold_set(
        item=item,
        project=project,
        source=GoldLabel.Source.ADJUDICATION,
        category_ids=ids,
        none_of_these=none_of_these,
        actor=lead,
        decided_by=lead,
        rationale=rationale,
        guideline_ref=ref,
        annotation_ids=item.annotations.values_list("id", flat=True),
        case_ids=[c.pk for c in cases],
    )
    for case in cases:
        g.case_close_locked(case=case, status=g.Status.RESOLVED, actor=lead, gold=gold)
    g.label_state_set(item, Item.LabelState.GOLD)
    return Decided(gold=gold, cases=cases)


def case_decide(
    *,
    project: Project,
    case_id: int,
    lead,
    category_ids,
    none_of_these: bool = False,
    rationale: str,
    guideline_ref: str = "",
) -> Decided:
    """A lead's final label for the case's item (module docstring: resolves all its open
    cases). Conflict if the case is closed (another lead was faster)."""
    ids, rationale, ref = _decision_inputs(
        project=project,
        category_ids=category_ids,
        none_of_these=none_of_these,
        rationale=rationale,
        guideline_ref=guideline_ref,
    )
    item_id = (
        AdjudicationCase.objects.filter(project=project, pk=case_id)
        .values_list("item_id", flat=True)
        .first()
    )
    if item_id is None:
        raise NotFound("No such case in this project.")
    with transaction.atomic():
        item = _lock_item(project=project, item_id=item_id)
        case = AdjudicationCase.objects.select_related("closed_by").get(pk=case_id)
        if case.status != g.Status.OPEN:
            raise Conflict(_closed_message(case), code="case_closed")
        return _decide_locked(
            project=project,
            item=item,
            lead=lead,
            ids=ids,
            none_of_these=none_of_these,
            rationale=rationale,
            ref=ref,
        )


def case_dismiss(*, project: Project, case_id: int, lead, note: str = "") -> AdjudicationCase:
    """Close a case raised against the current gold label, keeping that label."""
    note = _clean_text(note, limit=MAX_NOTE_CHARS, what="note", required=False, code="bad_note")
    item_id = (
        AdjudicationCase.objects.filter(project=project, pk=case_id)
        .values_list("item_id", flat=True)
        .first()
    )
    if item_id is None:
        raise NotFound("No such case in this project.")
    with transaction.atomic():
        item = _lock_item(project=project, item_id=item_id)
        case = AdjudicationCase.objects.select_related("closed_by").get(pk=case_id)
        if case.status != g.Status.OPEN:
            raise Conflict(_closed_message(case), code="case_closed")
        gold = g.gold_current(item)
        if case.reason not in DISMISSIBLE or gold is None:
            raise Conflict(
                "Only a case raised against an existing gold label (a suspected label error, "
                "a reopening) can be dismissed; this one needs a decision.",
                code="not_dismissible",
            )
        g.case_close_locked(case=case, status=g.Status.DISMISSED, actor=lead, note=note, gold=gold)
        g.label_state_sync(item)
    return case


def gold_override(
    *,
    project: Project,
    item_id: int,
    lead,
    category_ids,
    none_of_these: bool = False,
    rationale: str,
    guideline_ref: str = "",
) -> Decided:
    """A lead sets the item's gold label directly (from the item page), whatever it had;
    open cases of the item are resolved with it. Gold questions change through
    `gold_question_set`."""
    ids, rationale, ref = _decision_inputs(
        project=project,
        category_ids=category_ids,
        none_of_these=none_of_these,
        rationale=rationale,
        guideline_ref=guideline_ref,
    )
    with transaction.atomic():
        item = _lock_item(project=project, item_id=item_id)
        if item.is_gold_question:
            raise Conflict(
                "This item is a gold question: change its known label there.",
                code="gold_question",
            )
        return _decide_locked(
            project=project,
            item=item,
            lead=lead,
            ids=ids,
            none_of_these=none_of_these,
            rationale=rationale,
            ref=ref,
        )


def gold_reopen(*, project: Project, item_id: int, lead, note: str) -> AdjudicationCase:
    """Send an item with a gold label back to the adjudication queue (reason reopened). Its
    gold label stays current until a lead decides again (or dismisses the case)."""
    note = _clean_text(
        note,
        limit=MAX_NOTE_CHARS,
        what="note (why reopen)",
        required=True,
        code="note_required",
    )
    with transaction.atomic():
        item = _lock_item(project=project, item_id=item_id)
        gold = g.gold_current(item)
        if gold is None or item.is_gold_question:
            raise Conflict(
                "Only an item with a gold label can be reopened (gold questions excepted).",
                code="nothing_to_reopen",
            )
        case, created = g.case_open_locked(
            item=item,
            reason=g.Reason.REOPENED,
            actor=lead,
            category_ids=gold.categories.values_list("id", flat=True),
            details={"note": note, "gold_label": gold.pk, "by": lead.pk},
        )
        if not created:
            raise Conflict("This item is already reopened.", code="already_open")
        g.audit(
            item=item,
            actor=lead,
            action=LabelEvent.Action.REOPEN,
            before=g.gold_snapshot(gold),
            after={"case": case.pk, "note": note},
        )
        g.label_state_set(item, Item.LabelState.ADJUDICATION)
    return case


@dataclass(frozen=True)
class CaseOpened:
    case: AdjudicationCase
    created: bool  # False: an open case for this item and reason existed (or a dismissed
    # label-error case against the same gold label), and that one is returned


def case_open(
    *,
    item_id: int,
    reason: str,
    priority: float | None = None,
    details: dict | None = None,
    category_ids=None,
    score: float | None = None,
    actor=None,
) -> CaseOpened:
    """Open a case (the learning app: reason label_error). Idempotent: an open case for the
    same item and reason is returned, not duplicated; a label error dismissed against the
    item's current gold label is not raised again. `priority` None: the formula of `gold.py`
    from `category_ids` (default: details["categories"]) and `score`."""
    if reason not in g.Reason.values:
        raise InvalidInput(f"Unknown case reason '{reason}'.", code="bad_reason")
    details = dict(details or {})
    if category_ids is None:
        category_ids = details.get("categories") or ()
    with transaction.atomic():
        item = Item.objects.select_for_update().filter(pk=item_id).first()
        if item is None:
            raise NotFound("No such item.")
        if reason == g.Reason.LABEL_ERROR:
            gold = g.gold_current(item)
            dismissed = (
                AdjudicationCase.objects.filter(
                    item=item, reason=reason, status=g.Status.DISMISSED, gold_label=gold
                ).first()
                if gold is not None
                else None
            )
            if dismissed is not None:
                return CaseOpened(case=dismissed, created=False)
        case, created = g.case_open_locked(
            item=item,
            reason=reason,
            actor=actor or g.system_user(),
            category_ids=category_ids,
            details=details,
            priority=priority,
            score=score,
        )
        g.label_state_set(item, Item.LabelState.ADJUDICATION)
    return CaseOpened(case=case, created=created)

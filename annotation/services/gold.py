"""Gold labels and adjudication cases: the low-level writes every decision path shares.

Consolidation (`consolidation.py`), the leads' decisions (`adjudication.py`) and gold questions
(`gold_questions.py`) all change an item's gold label and cases through these functions, so
every change is audited the same way (a `LabelEvent` with the state before and after) and
`Item.label_state` always follows from the rows:

    adjudication  when the item has an open case (whatever its gold label),
    gold          otherwise, when it has a current gold label,
    pending       otherwise.

Precondition of every function here: inside a transaction, with the item row locked
(`select_for_update`, or the submit's own `SELECT … FOR UPDATE`). Lock order is the queue's:
the item row first, then its cases and gold labels.

Case priority (higher first), cheap and explainable:

    priority = 2 · S + R (+ 0.5 · score for cases a model flagged with a score in [0, 1])

    S = 1 when any category the case is about is sensitive, else 0;
    R = 1 − p̂ for the rarest of those categories, where p̂ = (positives + 1) / (gold + 2) is the
        smoothed share of the project's current gold labels (gold questions excluded) that
        contain the category. A category never seen in gold gets R = 1 − 1 / (gold + 2).

So every sensitive case comes before every other case (2 > 1 + 0.5), and within each band rarer
categories come first. The counts behind p̂ are cached per project for PREVALENCE_CACHE_SECONDS
and deliberately not invalidated by each new gold label (a prevalence moves slowly, and a busy
project would otherwise recount on every case it opens): opening a case costs at most one
grouped count per project every few minutes. That count runs inside the transaction that
opens the case (the completing submit's, one item locked) and grows with the project's gold
labels; not measured at a million yet.

A case about no category (say an item every annotator marked unsure and nothing else) gets
priority 0.
"""

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from ..models import AdjudicationCase, Category, GoldLabel, Item, LabelEvent, Project
from .agreement.snapshots import agreement_note_change

PREVALENCE_CACHE_SECONDS = 600
SYSTEM_USERNAME = "goldset-system"

Case = AdjudicationCase
Reason = AdjudicationCase.Reason
Status = AdjudicationCase.Status
CONSOLIDATION_REASONS = (Reason.DISAGREEMENT, Reason.UNSURE)


def system_user():
    """The actor of automatic changes in the audit log (a consensus, a case opened by the
    rules or by the learning app): an inactive account nobody can log in with."""
    user, _ = get_user_model().objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"is_active": False, "password": "!"}
    )
    return user


# --- priority -------------------------------------------------------------------------------


def _prevalence_key(project_id: int) -> str:
    return f"gold-prevalence:{project_id}"


def gold_prevalence(*, project_id: int) -> tuple[int, dict[int, int]]:
    """(current gold labels, positives per category id) of the project, gold questions
    excluded; cached for PREVALENCE_CACHE_SECONDS."""
    cached = cache.get(_prevalence_key(project_id))
    if cached is not None:
        return cached
    current = GoldLabel.objects.filter(project_id=project_id, current=True).exclude(
        source=GoldLabel.Source.KNOWN
    )
    total = current.count()
    through = GoldLabel.categories.through
    positives = dict(
        through.objects.filter(goldlabel__in=current)
        .values("category_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("category_id", "n")
    )
    value = (total, positives)
    cache.set(_prevalence_key(project_id), value, PREVALENCE_CACHE_SECONDS)
    return value


def _priority(ids: set[int], sensitive: bool, total: int, positives: dict, score) -> float:
    bonus = 0.5 * min(1.0, max(0.0, float(score))) if score is not None else 0.0
    if not ids:
        return bonus
    rarest = min((positives.get(c, 0) + 1) / (total + 2) for c in ids)
    return 2.0 * sensitive + (1.0 - rarest) + bonus


def case_priority(*, project_id: int, category_ids, score: float | None = None) -> float:
    """The formula in the module docstring. `category_ids`: what the case is about."""
    ids = {int(c) for c in category_ids}
    sensitive = bool(ids) and Category.objects.filter(pk__in=ids, sensitive=True).exists()
    total, positives = gold_prevalence(project_id=project_id) if ids else (0, {})
    return _priority(ids, sensitive, total, positives, score)


def case_priorities_refresh(*, project_id: int) -> int:
    """Recompute the priority of every open case of the project from today's prevalence.

    A priority is computed when its case opens, from the gold labels of that moment; early in
    a project those are few and p̂ moves quickly, so older cases drift. The consolidation
    rebuild (and `manage.py consolidation_rebuild`) refreshes them. Cases opened with an
    explicit priority (details["priority_fixed"]) keep it. Returns how many changed."""
    cache.delete(_prevalence_key(project_id))
    total, positives = gold_prevalence(project_id=project_id)
    sensitive = set(
        Category.objects.filter(project_id=project_id, sensitive=True).values_list("pk", flat=True)
    )
    cases = AdjudicationCase.objects.filter(project_id=project_id, status=Status.OPEN).only(
        "id", "priority", "details"
    )
    changed = []
    for case in cases.prefetch_related("categories").iterator(chunk_size=2000):
        details = case.details or {}
        if details.get("priority_fixed"):
            continue
        ids = {c.pk for c in case.categories.all()}
        value = _priority(ids, bool(ids & sensitive), total, positives, details.get("score"))
        if abs(value - case.priority) > 1e-9:
            case.priority = value
            changed.append(case)
    AdjudicationCase.objects.bulk_update(changed, ["priority"], batch_size=1000)
    return len(changed)


# --- gold labels ----------------------------------------------------------------------------


def gold_current(item: Item) -> GoldLabel | None:
    return GoldLabel.objects.filter(item=item, current=True).first()


def gold_snapshot(gold: GoldLabel | None, category_ids=None) -> dict | None:
    """A gold label as the audit log stores it."""
    if gold is None:
        return None
    ids = category_ids if category_ids is not None else gold.categories.values_list("id", flat=True)
    return {
        "gold_label": gold.pk,
        "source": gold.source,
        "categories": sorted(int(c) for c in ids),
        "none_of_these": gold.none_of_these,
        "rationale": gold.rationale,
        "guideline_ref": gold.guideline_ref,
        "decided_by": gold.decided_by_id,
    }


def gold_label_of(gold: GoldLabel) -> tuple[frozenset[int], bool]:
    return frozenset(gold.categories.values_list("id", flat=True)), gold.none_of_these


def audit(*, item: Item, actor, action: str, before=None, after=None) -> LabelEvent:
    """Every gold and case change is audited here, so this is also where the agreement figures
    learn of it (debounced; acts after commit)."""
    agreement_note_change(project_id=item.project_id)
    return LabelEvent.objects.create(
        project_id=item.project_id,
        item_id=item.pk,
        actor=actor,
        action=action,
        before=before,
        after=after,
    )


def gold_withdraw(*, item: Item, gold: GoldLabel, actor, why: str, **facts) -> None:
    """Supersede the current gold label without a successor (it stays as history)."""
    before = gold_snapshot(gold)
    GoldLabel.objects.filter(pk=gold.pk).update(current=False, superseded_at=timezone.now())
    gold.current = False
    audit(
        item=item,
        actor=actor,
        action=LabelEvent.Action.GOLD_WITHDRAWN,
        before=before,
        after={"why": why, **facts},
    )


def gold_set(
    *,
    item: Item,
    project: Project,
    source: str,
    category_ids,
    none_of_these: bool,
    actor,
    decided_by=None,
    rationale: str = "",
    guideline_ref: str = "",
    annotation_ids=(),
    case_ids=(),
) -> GoldLabel:
    """Make a new current gold label, superseding the present one (one audit event with both)."""
    previous = gold_current(item)
    before = gold_snapshot(previous)
    if previous is not None:
        # The partial unique constraint allows one current row: retire the old one first.
        GoldLabel.objects.filter(pk=previous.pk).update(current=False, superseded_at=timezone.now())
    ids = sorted({int(c) for c in category_ids})
    gold = GoldLabel.objects.create(
        project=project,
        item=item,
        none_of_these=none_of_these,
        source=source,
        decided_by=decided_by,
        rationale=rationale,
        guideline_ref=guideline_ref,
        guidelines_version=project.guidelines_version,
        annotation_ids=sorted(annotation_ids),
    )
    if ids:
        gold.categories.through.objects.bulk_create(
            gold.categories.through(goldlabel_id=gold.pk, category_id=c) for c in ids
        )
    after = gold_snapshot(gold, ids)
    if case_ids:
        after["cases"] = sorted(case_ids)
    audit(item=item, actor=actor, action=LabelEvent.Action.GOLD, before=before, after=after)
    return gold


# --- cases ----------------------------------------------------------------------------------


def case_snapshot(case: AdjudicationCase) -> dict:
    return {
        "case": case.pk,
        "reason": case.reason,
        "status": case.status,
        "priority": round(case.priority, 6),
        "note": case.note,
        "gold_label": case.gold_label_id,
    }


def case_open_locked(
    *,
    item: Item,
    reason: str,
    actor,
    category_ids=(),
    details: dict | None = None,
    priority: float | None = None,
    score: float | None = None,
) -> tuple[AdjudicationCase, bool]:
    """Open a case for `reason` unless one is open already (returned with created=False)."""
    existing = AdjudicationCase.objects.filter(item=item, reason=reason, status=Status.OPEN).first()
    if existing is not None:
        return existing, False
    ids = sorted({int(c) for c in category_ids})
    details = dict(details or {})
    if priority is None:
        priority = case_priority(project_id=item.project_id, category_ids=ids, score=score)
        if score is not None:
            details["score"] = score
    else:
        details["priority_fixed"] = True
    case = AdjudicationCase.objects.create(
        project_id=item.project_id,
        item=item,
        reason=reason,
        priority=priority,
        details=details,
    )
    if ids:
        case.categories.through.objects.bulk_create(
            case.categories.through(adjudicationcase_id=case.pk, category_id=c) for c in ids
        )
    audit(
        item=item,
        actor=actor,
        action=LabelEvent.Action.CASE_OPEN,
        after={**case_snapshot(case), "categories": ids, "details": case.details},
    )
    return case, True


def case_close_locked(
    *, case: AdjudicationCase, status: str, actor, note: str = "", gold: GoldLabel | None = None
) -> AdjudicationCase:
    """Close an open case (resolved, dismissed or cancelled) and audit it."""
    before = case_snapshot(case)
    case.status = status
    case.closed_at = timezone.now()
    case.closed_by = actor
    case.note = note
    case.gold_label = gold
    case.save(update_fields=["status", "closed_at", "closed_by", "note", "gold_label"])
    audit(
        item=Item(pk=case.item_id, project_id=case.project_id),
        actor=actor,
        action=LabelEvent.Action.CASE_CLOSE,
        before=before,
        after=case_snapshot(case),
    )
    return case


def open_cases(item: Item) -> list[AdjudicationCase]:
    return list(AdjudicationCase.objects.filter(item=item, status=Status.OPEN).order_by("pk"))


def label_state_sync(item: Item) -> str:
    """Set `item.label_state` from its rows (see the module docstring); returns it."""
    if AdjudicationCase.objects.filter(item=item, status=Status.OPEN).exists():
        state = Item.LabelState.ADJUDICATION
    elif GoldLabel.objects.filter(item=item, current=True).exists():
        state = Item.LabelState.GOLD
    else:
        state = Item.LabelState.PENDING
    label_state_set(item, state)
    return state


def label_state_set(item: Item, state: str) -> None:
    if item.label_state != state:
        Item.objects.filter(pk=item.pk).update(label_state=state)
        item.label_state = state

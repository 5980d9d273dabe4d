"""Consolidation: an item's annotations become a gold label, or a case for a lead.

When an item has its k annotations (k = project.overlap + item.extra_overlap), the submit that
completed it calls `item_consolidate` inside its own transaction, with the item row locked.
Raw annotations are never changed; the result is a `GoldLabel` (source consensus) or an
`AdjudicationCase`, written through `gold.py` so every change is audited.

Rules (`decide`, pure):
- Any annotation marked unsure → a case (reason unsure).
- Multi-label: every category is decided on its own (chosen / not chosen), and so is the
  explicit "none of these". Single-label: each annotation is one class (its category, or
  "none of these" as a class of its own).
- unanimous: every annotator agrees on every category (single-label: the same class);
  majority (only with ≥ 3 annotations): strictly more than half agree on every category.
- The agreed label must be a label: at least one category, or "none of these" chosen by
  (a majority of) the annotators. Three annotators choosing three different categories do not
  make "none of these" by majority: that is a disagreement.
- Adaptive overlap (project setting, k = 2 only): on a disagreement between the two first
  annotators, the item asks for a third (extra_overlap += 1, one queue slot reopens) instead
  of a case; with the third annotation the majority over the three decides.
- More annotations than k (a submit that arrives after its lease expired): consolidate again
  over all of them. A consensus gold label that no longer holds is withdrawn and a case opened;
  a lead's decision (adjudicated or known gold) is never touched by consolidation.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from ..errors import InvalidInput
from ..models import AdjudicationCase, Annotation, GoldLabel, Item, Project
from . import gold as g
from .queue import item_open_slots_recount

AGREE = "agree"
DISAGREE = "disagree"
UNSURE = "unsure"
REBUILD_BATCH = 500


@dataclass(frozen=True)
class Vote:
    annotation_id: int
    categories: frozenset[int]
    none_of_these: bool = False
    unsure: bool = False


@dataclass(frozen=True)
class Decision:
    outcome: str  # agree | disagree | unsure
    categories: frozenset[int] = frozenset()  # the agreed label (agree only)
    none_of_these: bool = False
    disputed: frozenset[int] = frozenset()  # categories on which no rule decided
    involved: frozenset[int] = frozenset()  # every category any annotator chose


def _wins(count: int, n: int, majority: bool) -> bool:
    return count * 2 > n if majority else count == n


def decide(votes: Sequence[Vote], *, multi_label: bool, majority: bool) -> Decision:
    """The consolidation rules (module docstring) over one item's votes. Pure."""
    n = len(votes)
    involved = frozenset().union(*(v.categories for v in votes)) if votes else frozenset()
    if n == 0:
        return Decision(DISAGREE)
    if any(v.unsure for v in votes):
        return Decision(UNSURE, disputed=involved, involved=involved)
    majority = majority and n >= 3
    if not multi_label:
        classes = Counter(
            ("none",) if v.none_of_these or not v.categories else tuple(sorted(v.categories))
            for v in votes
        )
        top, count = classes.most_common(1)[0]
        if _wins(count, n, majority):
            if top == ("none",):
                return Decision(AGREE, none_of_these=True, involved=involved)
            return Decision(AGREE, categories=frozenset(top), involved=involved)
        return Decision(DISAGREE, disputed=involved, involved=involved)

    chosen, disputed = set(), set()
    for category in involved:
        yes = sum(category in v.categories for v in votes)
        if _wins(yes, n, majority):
            chosen.add(category)
        elif not _wins(n - yes, n, majority):
            disputed.add(category)
    nones = sum(v.none_of_these for v in votes)
    none_chosen = _wins(nones, n, majority)
    none_rejected = _wins(n - nones, n, majority)
    if not disputed and ((chosen and none_rejected) or none_chosen):
        return Decision(
            AGREE, categories=frozenset(chosen), none_of_these=none_chosen, involved=involved
        )
    return Decision(DISAGREE, disputed=frozenset(disputed or involved), involved=involved)


@dataclass(frozen=True)
class Consolidated:
    outcome: str  # gold | case | third_annotator | unchanged | waiting | skipped
    gold: GoldLabel | None = None
    case: AdjudicationCase | None = None

    @property
    def changed(self) -> bool:
        return self.outcome in ("gold", "case", "third_annotator")


def _votes(item: Item) -> list[Vote]:
    rows = list(
        Annotation.objects.filter(item=item)
        .order_by("created_at", "id")
        .values_list("id", "none_of_these", "unsure")
    )
    links: dict[int, set[int]] = {}
    through = Annotation.categories.through
    for annotation_id, category_id in through.objects.filter(annotation__item=item).values_list(
        "annotation_id", "category_id"
    ):
        links.setdefault(annotation_id, set()).add(category_id)
    return [
        Vote(pk, frozenset(links.get(pk, ())), none_of_these=none, unsure=unsure)
        for pk, none, unsure in rows
    ]


def item_consolidate(*, item_id: int, project: Project | None = None) -> Consolidated:
    """Consolidate the item's annotations if it has its k of them (module docstring).

    Precondition: inside a transaction with the item row locked (the submit holds it; the
    rebuild locks it). Idempotent: run twice, the second run changes nothing.
    """
    item = Item.objects.get(pk=item_id)
    project = project if project is not None else Project.objects.get(pk=item.project_id)
    if item.is_gold_question:
        return Consolidated("skipped")
    target = project.overlap + item.extra_overlap
    if item.annotation_count < target:
        return Consolidated("waiting")
    # A pending item has neither a current gold label nor an open case (gold.label_state_sync),
    # which saves the two look-ups for the common case of an item completed for the first time.
    pending = item.label_state == Item.LabelState.PENDING
    gold = None if pending else g.gold_current(item)
    if gold is not None and gold.source != GoldLabel.Source.CONSENSUS:
        return Consolidated("unchanged")  # a lead decided: the rules never override that
    votes = _votes(item)
    if len(votes) < target:
        return Consolidated("waiting")
    majority = item.extra_overlap > 0 or project.consolidation_rule == "majority"
    decision = decide(votes, multi_label=project.multi_label, majority=majority)
    annotation_ids = [v.annotation_id for v in votes]
    actor = g.system_user()

    if decision.outcome == AGREE and gold is not None:
        if g.gold_label_of(gold) == (decision.categories, decision.none_of_these):
            return Consolidated("unchanged", gold=gold)
        decision = Decision(DISAGREE, disputed=decision.involved, involved=decision.involved)
    if decision.outcome == AGREE:
        return _consensus(item, project, decision, annotation_ids, pending, actor)
    if (
        decision.outcome == DISAGREE
        and project.adaptive_overlap
        and project.overlap == 2
        and item.extra_overlap == 0
        and len(votes) == 2
        and gold is None
    ):
        Item.objects.filter(pk=item.pk).update(extra_overlap=1)
        item_open_slots_recount(project=project, item_ids=[item.pk])
        return Consolidated("third_annotator")
    if gold is not None:
        g.gold_withdraw(
            item=item, gold=gold, actor=actor, why="annotations_changed", annotations=annotation_ids
        )
    reason = g.Reason.UNSURE if decision.outcome == UNSURE else g.Reason.DISAGREEMENT
    case, created = g.case_open_locked(
        item=item,
        reason=reason,
        actor=actor,
        category_ids=decision.involved,
        details={
            "annotation_ids": annotation_ids,
            "disputed": sorted(decision.disputed),
            "rule": "majority" if majority and len(votes) >= 3 else "unanimous",
        },
    )
    g.label_state_set(item, Item.LabelState.ADJUDICATION)
    return Consolidated("case" if created or gold is not None else "unchanged", case=case)


def _consensus(item, project, decision, annotation_ids, pending, actor) -> Consolidated:
    if not pending:
        # Cases the rules opened earlier (before a rule change, or before more annotations
        # arrived) lost their cause. Cases for other reasons (a lead's reopening, a suspected
        # label error) stay open.
        for case in g.open_cases(item):
            if case.reason in g.CONSOLIDATION_REASONS:
                g.case_close_locked(
                    case=case, status=g.Status.CANCELLED, actor=actor, note="Annotators agree."
                )
    gold = g.gold_set(
        item=item,
        project=project,
        source=GoldLabel.Source.CONSENSUS,
        category_ids=decision.categories,
        none_of_these=decision.none_of_these,
        actor=actor,
        annotation_ids=annotation_ids,
    )
    if pending:
        g.label_state_set(item, Item.LabelState.GOLD)
    else:
        g.label_state_sync(item)
    return Consolidated("gold", gold=gold)


def consolidation_undo(*, item: Item, annotation_id: int) -> None:
    """After an annotation was undone: a consensus gold label built from it is withdrawn, the
    open cases the rules opened from it are cancelled, and the item's state follows. A lead's
    decision (adjudicated or known gold) is never touched.

    Precondition: inside the undo's transaction, item row locked, annotation already deleted.
    """
    if item.label_state == Item.LabelState.PENDING:
        return
    actor = g.system_user()
    gold = g.gold_current(item)
    if (
        gold is not None
        and gold.source == GoldLabel.Source.CONSENSUS
        and annotation_id in (gold.annotation_ids or [])
    ):
        g.gold_withdraw(item=item, gold=gold, actor=actor, why="undo", annotation=annotation_id)
    for case in g.open_cases(item):
        if case.reason in g.CONSOLIDATION_REASONS and annotation_id in (case.details or {}).get(
            "annotation_ids", []
        ):
            g.case_close_locked(
                case=case, status=g.Status.CANCELLED, actor=actor, note="An annotation was undone."
            )
    g.label_state_sync(item)


def consolidation_rebuild(*, project_id: int) -> int:
    """Consolidate every item of the project that has its k annotations and no decision yet
    (pending, or waiting for a lead on a case the rules opened), e.g. after a rule or overlap
    change or for data imported before consolidation existed. Existing gold labels stand (a
    lead can reopen them). Idempotent. One short transaction per item, so the queue never
    waits for the rebuild. Then the open cases' priorities are refreshed from today's gold
    prevalence (`gold.case_priorities_refresh`). Returns how many items changed."""
    project = Project.objects.get(pk=project_id)
    candidates = Item.objects.filter(
        project=project,
        is_gold_question=False,
        annotation_count__gte=project.overlap,
        label_state__in=[Item.LabelState.PENDING, Item.LabelState.ADJUDICATION],
    )
    changed, after = 0, 0
    while True:
        ids = list(
            candidates.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:REBUILD_BATCH]
        )
        if not ids:
            g.case_priorities_refresh(project_id=project.pk)
            return changed
        for item_id in ids:
            with transaction.atomic():
                if not Item.objects.select_for_update().filter(pk=item_id).exists():
                    continue  # deleted meanwhile
                changed += item_consolidate(item_id=item_id, project=project).changed
        after = ids[-1]


# --- project settings -----------------------------------------------------------------------

CONSOLIDATION_FIELDS = (
    "consolidation_rule",
    "adaptive_overlap",
    "gold_question_rate",
    "gold_alert_threshold",
)


def _float_between(value, low: float, high: float, message: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(message) from None
    if not low <= number <= high:  # also refuses NaN
        raise InvalidInput(message)
    return number


def _validate_consolidation(*, overlap: int, rule: str, adaptive: bool) -> None:
    if rule not in Project.ConsolidationRule.values:
        raise InvalidInput(
            f"Unknown consolidation rule '{rule}'; use unanimous or majority.", code="bad_rule"
        )
    if rule == Project.ConsolidationRule.MAJORITY and overlap < 3:
        raise InvalidInput(
            "The majority rule needs at least 3 annotations per item (overlap k ≥ 3): with 2, "
            "a majority is unanimity.",
            code="majority_needs_k3",
        )
    if adaptive and overlap != 2:
        raise InvalidInput(
            "Adaptive overlap works with exactly 2 annotations per item (k = 2): it asks a "
            "third annotator only where the first two disagree.",
            code="adaptive_needs_k2",
        )


def project_settings_update(*, project: Project, **fields) -> Project:
    """Change a project's settings, consolidation and gold-question ones included.

    The base fields go through `projects.project_update` (overlap recount, guideline version);
    the consolidation fields are validated together with the resulting overlap (majority needs
    k ≥ 3, adaptive overlap k = 2), all in one transaction. A new rule or overlap sends
    `consolidation_rebuild_task` once the change is committed.
    """
    from ..tasks import consolidation_rebuild_task  # tasks import the services
    from .projects import PROJECT_FIELDS, project_update

    base = {k: v for k, v in fields.items() if k in PROJECT_FIELDS}
    extra = {k: v for k, v in fields.items() if k in CONSOLIDATION_FIELDS}
    if "gold_question_rate" in extra:
        extra["gold_question_rate"] = _float_between(
            extra["gold_question_rate"], 0, 0.5, "The gold-question rate is a share from 0 to 0.5."
        )
    if "gold_alert_threshold" in extra:
        extra["gold_alert_threshold"] = _float_between(
            extra["gold_alert_threshold"],
            0,
            1,
            "The gold-question alert threshold is an accuracy from 0 to 1.",
        )
    if "adaptive_overlap" in extra:
        extra["adaptive_overlap"] = bool(extra["adaptive_overlap"])
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        try:
            overlap = int(base.get("overlap", locked.overlap))
        except (TypeError, ValueError):
            overlap = locked.overlap  # project_update reports the bad value
        rule = extra.get("consolidation_rule", locked.consolidation_rule)
        _validate_consolidation(
            overlap=overlap,
            rule=rule,
            adaptive=extra.get("adaptive_overlap", locked.adaptive_overlap),
        )
        rebuild = rule != locked.consolidation_rule or overlap != locked.overlap
        updated = project_update(project=locked, **base) if base else locked
        for key, value in extra.items():
            setattr(updated, key, value)
        if extra:
            updated.save(update_fields=[*extra, "updated_at"])
        if rebuild:
            transaction.on_commit(lambda: consolidation_rebuild_task.delay(updated.pk), robust=True)
    return updated

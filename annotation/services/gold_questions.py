"""Gold questions: items with a lead's known label, mixed into every annotator's queue.

Marking an item makes its known label the current gold label (source known), takes the item
out of the regular queue (open_slots 0; the queue serves it at `project.gold_question_rate`
instead, see `queue.py`) and resolves its open cases with that label. Annotations of a gold
question are stored as usual, never consolidated; the agreement app scores them against the
known label.

Unmarking withdraws the known label (so source "known" always means "a gold question's
answer"), puts the item back into the regular queue, and consolidates it at once if it already
has its k annotations.
"""

from django.db import transaction

from ..errors import Conflict, NotFound
from ..models import GoldLabel, Item, Project
from . import gold as g
from .adjudication import validate_gold_label
from .consolidation import item_consolidate
from .queue import item_open_slots_recount


def _lock_item(*, project: Project, item_id: int) -> Item:
    item = Item.objects.select_for_update().filter(project=project, pk=item_id).first()
    if item is None:
        raise NotFound("No such item in this project.")
    return item


def gold_question_set(
    *, project: Project, item_id: int, lead, category_ids, none_of_these: bool = False
) -> GoldLabel:
    """Mark the item as a gold question with this known label (or change its known label)."""
    ids = validate_gold_label(
        project=project, category_ids=category_ids, none_of_these=none_of_these
    )
    with transaction.atomic():
        item = _lock_item(project=project, item_id=item_id)
        cases = g.open_cases(item)
        gold = g.gold_set(
            item=item,
            project=project,
            source=GoldLabel.Source.KNOWN,
            category_ids=ids,
            none_of_these=none_of_these,
            actor=lead,
            decided_by=lead,
            rationale="Known label of a gold question.",
            case_ids=[c.pk for c in cases],
        )
        for case in cases:
            g.case_close_locked(case=case, status=g.Status.RESOLVED, actor=lead, gold=gold)
        if not item.is_gold_question:
            Item.objects.filter(pk=item.pk).update(is_gold_question=True)
            item_open_slots_recount(project=project, item_ids=[item.pk])
        g.label_state_set(item, Item.LabelState.GOLD)
    return gold


def gold_question_unset(*, project: Project, item_id: int, lead) -> Item:
    """Stop using the item as a gold question (module docstring)."""
    with transaction.atomic():
        item = _lock_item(project=project, item_id=item_id)
        if not item.is_gold_question:
            raise Conflict("This item is not a gold question.", code="not_gold_question")
        gold = g.gold_current(item)
        if gold is not None and gold.source == GoldLabel.Source.KNOWN:
            g.gold_withdraw(item=item, gold=gold, actor=lead, why="gold_question_unset")
        Item.objects.filter(pk=item.pk).update(is_gold_question=False)
        item_open_slots_recount(project=project, item_ids=[item.pk])
        g.label_state_sync(item)
        item_consolidate(item_id=item.pk, project=project)
    item.refresh_from_db()
    return item

"""Labeled fractions of active-learning batches, read once per freeze.

A model run picks a batch as a probability sample: every pick records its inclusion probability
π. The batch is served in a seeded random order and the next run releases the picks nobody
started, so the part of a batch that got labeled is (approximately) a simple random subsample
of it, and a labeled pick's effective inclusion probability is π × f, where f is the batch's
labeled fraction. Weighting by 1/π alone would treat a batch cut short as if all of it had
been labeled, overstating how much of the pool each of its labeled picks stands for.

Per run, f = (picks of the run whose item is in this version *as that run's pick*) / (picks of
the run). "As that run's pick": the item's `selection_run_id` is still the run (a pick released
and then picked again by a later run belongs to the later batch, with the later π); and the
item is what the freeze copies (current gold label, label state gold, not a gold question).
Audit picks are picks of the batch like any other. The denominator counts every pick the run
recorded, including those it could not queue (labeled or taken by a newer run between reading
the pool and saving): they were drawn and not labeled as part of this batch.

One aggregate query over the picks (a few per run, never per item), inside the freeze's
snapshot. The picks live in the learning app, which `datacards` does not import: its tables are
looked up through the app registry, and without them (or with no picks) nothing is adjusted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.apps import apps
from django.db import DatabaseError, connection, transaction

from annotation.models import GoldLabel, Item

logger = logging.getLogger(__name__)

ITEM = Item._meta.db_table
GOLD = GoldLabel._meta.db_table


@dataclass(frozen=True)
class BatchFraction:
    """One model run's batch: how many items it picked and how many of them this version
    holds as its picks."""

    run_id: int
    number: int
    picks: int
    labeled: int

    @property
    def fraction(self) -> float | None:
        """labeled / picks; None where nothing of the batch is in the version (no row to
        weight) or the batch has no recorded picks."""
        if self.picks <= 0 or self.labeled <= 0:
            return None
        return self.labeled / self.picks


def _tables() -> tuple[str, str] | None:
    try:
        picks = apps.get_model("learning", "PickedItem")
        runs = apps.get_model("learning", "ModelRun")
    except LookupError:
        return None
    return picks._meta.db_table, runs._meta.db_table


def _sql(picks: str, runs: str) -> str:
    return f"""
        SELECT p.run_id, r.number, COUNT(*),
               SUM(CASE WHEN i.selection_run_id = p.run_id
                             AND i.label_state = 'gold' AND i.is_gold_question = %s
                             AND EXISTS (SELECT 1 FROM {GOLD} g
                                         WHERE g.item_id = i.id AND g.current = %s)
                        THEN 1 ELSE 0 END)
        FROM {picks} p
        JOIN {runs} r ON r.id = p.run_id
        JOIN {ITEM} i ON i.id = p.item_id
        WHERE r.project_id = %s
        GROUP BY p.run_id, r.number
        ORDER BY p.run_id"""  # noqa: S608 (our tables)


def batch_fractions(*, project_id: int) -> dict[int, BatchFraction]:
    """{run id: BatchFraction} for every run of the project that recorded picks; {} without
    the learning app's tables. Precondition: inside the freeze's transaction (its snapshot)."""
    tables = _tables()
    if tables is None:
        return {}
    try:
        # A savepoint: a missing table (the learning app's migrations not applied) must not
        # abort the freeze's transaction.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_sql(*tables), [False, True, project_id])
            rows = cursor.fetchall()
    except DatabaseError:
        logger.warning(
            "no batch fractions for project %s: weights are 1/π", project_id, exc_info=True
        )
        return {}
    return {
        run_id: BatchFraction(
            run_id=run_id, number=number, picks=int(picks), labeled=int(labeled or 0)
        )
        for run_id, number, picks, labeled in rows
    }


def effective_probability(probability: float | None, fraction: float | None) -> float | None:
    """π × f: the probability an item was picked *and* labeled as part of its batch. Without π
    there is nothing to adjust (None); without a known fraction, π as recorded."""
    if probability is None:
        return None
    if fraction is None:
        return probability
    return probability * fraction

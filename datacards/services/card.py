"""The data card's recorded figures, gathered while a version freezes.

`CardAccumulator` sees every frozen row once (the freeze's streaming pass) and keeps running
counts only: prevalence per category (Wilson and Hájek, see `datacards.stats`), annotator-pair
agreement on the frozen annotations, gold sources, the sampling mix, annotators and the time
span. `card_build` adds what is read once per freeze inside the same snapshot: the agreement
snapshot (copied, so the card never changes later), adjudication and label-noise figures, the
items left out, each model run's batch with its labeled fraction (the f of the weights, see
`batches.py`), the label schema and the guidelines. The card is stored with the version.

Format 2 (weights 1/(π·f)) adds `weighting.rule`, `weighting.adjusted_items` and the batch
figures of `model_runs`; the documents fall back to the format-1 wording (weights 1/π) for
cards without them, so versions frozen before keep exporting the same bytes.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

from django.apps import apps
from django.core.exceptions import FieldError
from django.db import DatabaseError, transaction
from django.db.models import Count

from annotation.models import AdjudicationCase, AgreementSnapshot, Category, Item, Project

from ..canonical import iso
from ..stats import PairCounts, WeightedSums, hajek, wilson
from .batches import BatchFraction

CARD_FORMAT = 2
NONE_NAME = "None of these"
SELECTION_RULE = (
    "Items with a current gold label and no open adjudication case (label state 'gold'); "
    "gold questions are left out (they are the annotators' test, not a sample)."
)
WEIGHT_RULE = (
    "Each row's weight is 1/(π·f). π is the inclusion probability the design of the item's "
    "active-learning batch gave it (the inclusion_probability column, as recorded when the "
    "model run picked it); f is the labeled fraction of that batch: the batch's picks that "
    "are in this version over all of the batch's picks, audit picks included. A batch is "
    "served in a random order and the next model run releases the picks nobody started, so "
    "the labeled part of a batch is a simple random subsample of it and π·f is the item's "
    "effective inclusion probability. Items without an inclusion probability (not picked by "
    "a model run) weigh 1; where a batch's picks are not on record, f is taken as 1."
)
WEIGHT_ESTIMATOR = "Hájek (w = 1/(π·f)), linearised variance, Wilson interval at n_eff"


@dataclass
class CardAccumulator:
    category_names: list[str]  # schema order
    items: int = 0
    annotations: int = 0
    unsure_annotations: int = 0
    positives: list[int] = field(default_factory=list)
    none_count: int = 0
    weighted: list[WeightedSums] = field(default_factory=list)
    sum_w: float = 0.0
    sum_w2: float = 0.0
    weighted_items: int = 0
    pair_yes: list[int] = field(default_factory=list)
    pair_split: list[int] = field(default_factory=list)
    total_pairs: int = 0
    items_with_pairs: int = 0
    sources: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    runs: Counter = field(default_factory=Counter)
    cardinality: Counter = field(default_factory=Counter)
    annotators: set = field(default_factory=set)
    first_annotation: object = None
    last_annotation: object = None
    first_gold: object = None
    last_gold: object = None

    def __post_init__(self) -> None:
        n = len(self.category_names) + 1  # the last slot is "None of these"
        self.positives = [0] * n
        self.weighted = [WeightedSums() for _ in range(n)]
        self.pair_yes = [0] * n
        self.pair_split = [0] * n

    def add_item(
        self,
        *,
        gold: list[int],
        none_of_these: bool,
        source: str,
        decided_at,
        reason: str,
        run_id: int | None,
        weight: float,
        weighted: bool,
        votes: dict[int, int],
        deciding: int,
    ) -> None:
        """One row: `gold` the schema indices of its gold categories; `votes` maps a class index
        (the last is None of these) to the number of deciding annotations that chose it."""
        self.items += 1
        none_slot = len(self.category_names)
        classes = gold + [none_slot] if none_of_these else gold
        for c in classes:
            self.positives[c] += 1
            self.weighted[c].sum_wy += weight
            self.weighted[c].sum_w2y += weight * weight
        self.sum_w += weight
        self.sum_w2 += weight * weight
        self.weighted_items += weighted
        self.cardinality[min(len(gold), 3)] += 1
        self.sources[source] += 1
        self.reasons[reason] += 1
        if run_id is not None:
            self.runs[run_id] += 1
        if deciding >= 2:
            self.items_with_pairs += 1
            self.total_pairs += deciding * (deciding - 1) // 2
            for c, k in votes.items():
                if k:
                    self.pair_yes[c] += k * (k - 1) // 2
                    self.pair_split[c] += k * (deciding - k)
        if self.first_gold is None or decided_at < self.first_gold:
            self.first_gold = decided_at
        if self.last_gold is None or decided_at > self.last_gold:
            self.last_gold = decided_at

    def add_annotation(self, *, annotator_id: int, unsure: bool) -> None:
        self.annotations += 1
        self.unsure_annotations += unsure
        self.annotators.add(annotator_id)

    # --- results ---------------------------------------------------------------------------

    def prevalence(self) -> list[dict]:
        out = []
        names = [*self.category_names, NONE_NAME]
        for c, name in enumerate(names):
            k = self.positives[c]
            block = {
                "name": name,
                "kind": "none" if c == len(self.category_names) else "category",
                "positives": k,
                "prevalence": wilson(k, self.items).as_dict(),
                "weighted": None,
            }
            if self.weighted_items:
                sums = self.weighted[c]
                sums.sum_w, sums.sum_w2 = self.sum_w, self.sum_w2
                interval, n_eff = hajek(sums)
                block["weighted"] = {
                    **interval.as_dict(),
                    "n_eff": None if n_eff is None else round(n_eff, 2),
                }
            out.append(block)
        return out

    def pair_agreement(self) -> list[dict]:
        out = []
        for c, name in enumerate([*self.category_names, NONE_NAME]):
            counts = PairCounts(
                both_yes=self.pair_yes[c],
                split=self.pair_split[c],
                both_no=self.total_pairs - self.pair_yes[c] - self.pair_split[c],
            )
            out.append({"name": name, **counts.as_dict()})
        return out


def _agreement(project: Project) -> dict:
    """The project's newest finished agreement snapshot, per category (copied at freeze)."""
    snapshot = (
        AgreementSnapshot.objects.filter(project=project, status=AgreementSnapshot.Status.DONE)
        .order_by("-id")
        .first()
    )
    data = snapshot.data if snapshot is not None and isinstance(snapshot.data, dict) else {}
    categories = data.get("categories")
    if not isinstance(categories, list):
        return {"available": False}
    rows = []
    for block in categories:
        if not isinstance(block, dict):
            continue
        metrics = block.get("metrics") or {}
        rows.append(
            {
                "name": block.get("name", ""),
                "kind": block.get("kind", "category"),
                "n_items": block.get("n_items"),
                **{
                    key: _estimate(metrics.get(key))
                    for key in ("alpha", "ac1", "fleiss", "cohen", "positive", "percent")
                },
            }
        )
    return {
        "available": True,
        "snapshot_id": snapshot.pk,
        "computed_at": iso(snapshot.finished_at or snapshot.created_at),
        "annotations": (data.get("counts") or {}).get("annotations"),
        "level": (data.get("params") or {}).get("level"),
        "categories": rows,
    }


def _estimate(value) -> dict | None:
    if not isinstance(value, dict):
        return None
    return {k: value.get(k) for k in ("value", "low", "high")}


def _adjudication(project: Project, adjudicated_items: int) -> dict:
    rows = (
        AdjudicationCase.objects.filter(project=project)
        .values("reason", "status")
        .annotate(n=Count("id"))
        .order_by("reason", "status")
    )
    cases = [{"reason": r["reason"], "status": r["status"], "count": r["n"]} for r in rows]
    return {
        "cases": cases,
        "total": sum(r["count"] for r in cases),
        "items_decided_by_lead": adjudicated_items,
    }


def _label_issue_counts(project: Project) -> dict | None:
    """Issues found by the learning app's label-noise runs, by status; None where that app has
    no such table (the provider is optional)."""
    try:
        issues = apps.get_model("learning", "LabelIssue")
    except LookupError:
        return None
    try:
        # A savepoint: a missing table (the learning app's migration not applied yet) must not
        # abort the freeze's transaction.
        with transaction.atomic():
            rows = issues.objects.filter(project=project).values_list("status")
            return dict(rows.annotate(n=Count("id")).values_list("status", "n"))
    except (FieldError, DatabaseError):
        return None


def label_noise_review(project: Project) -> dict:
    """Label-noise review figures, from the providers that exist.

    First the learning app's label issues (cleanlab runs; a lead confirms = relabels, dismisses
    or the case is withdrawn), then, without any, the adjudication queue's label_error cases
    (status resolved = relabeled, dismissed = the label stood). With neither the review is "not
    reviewed".
    """
    issues = _label_issue_counts(project)
    if issues:
        return {
            "reviewed": True,
            "source": "label-noise runs (label issues)",
            "flagged": sum(issues.values()),
            "open": issues.get("open", 0),
            "relabeled": issues.get("confirmed", 0),
            "dismissed": issues.get("dismissed", 0),
            "cancelled": issues.get("withdrawn", 0),
        }
    counts = dict(
        AdjudicationCase.objects.filter(project=project, reason=AdjudicationCase.Reason.LABEL_ERROR)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    flagged = sum(counts.values())
    if not flagged:
        return {"reviewed": False, "source": "adjudication cases (label_error)"}
    return {
        "reviewed": True,
        "source": "adjudication cases (label_error)",
        "flagged": flagged,
        "open": counts.get("open", 0),
        "relabeled": counts.get("resolved", 0),
        "dismissed": counts.get("dismissed", 0),
        "cancelled": counts.get("cancelled", 0),
    }


def _excluded(project: Project) -> dict:
    by_state = dict(
        Item.objects.filter(project=project, is_gold_question=False)
        .values_list("label_state")
        .annotate(n=Count("id"))
        .values_list("label_state", "n")
    )
    return {
        "pending": by_state.get(Item.LabelState.PENDING, 0),
        "adjudication": by_state.get(Item.LabelState.ADJUDICATION, 0),
        "gold_questions": Item.objects.filter(project=project, is_gold_question=True).count(),
    }


def schema_of(categories: list[Category]) -> list[dict]:
    return [
        {
            "name": c.name,
            "description": c.description,
            "hotkey": c.hotkey,
            "sensitive": c.sensitive,
            "active": c.active,
            "order": c.order,
        }
        for c in categories
    ]


def _model_runs(acc: CardAccumulator, batches: dict[int, BatchFraction]) -> list[dict]:
    """Each model run with rows in the version: its rows, and its batch (picks, labeled as
    its picks, labeled fraction f; None where the picks are not on record)."""
    out = []
    for run_id, items in sorted(acc.runs.items()):
        batch = batches.get(run_id)
        fraction = batch.fraction if batch is not None else None
        out.append(
            {
                "run_id": run_id,
                "number": batch.number if batch is not None else None,
                "items": items,
                "picks": batch.picks if batch is not None else None,
                "labeled": batch.labeled if batch is not None else None,
                "labeled_fraction": None if fraction is None else round(fraction, 6),
            }
        )
    return out


def card_build(
    *,
    acc: CardAccumulator,
    project: Project,
    categories: list[Category],
    version_meta: dict,
    batches: dict[int, BatchFraction] | None = None,
) -> dict:
    """The whole card document (JSON-ready), read inside the freeze's snapshot. `batches`:
    the labeled fraction of each model run's batch, as the rows' weights used it."""
    batches = batches or {}
    model_runs = _model_runs(acc, batches)
    reason_labels = dict(Item.SelectionReason.choices)
    guidelines = project.guidelines or ""
    return {
        "format": CARD_FORMAT,
        "project": {
            "name": project.name,
            "slug": project.slug,
            "description": project.description,
            "multi_label": project.multi_label,
            "overlap": project.overlap,
            "consolidation_rule": project.consolidation_rule,
        },
        "version": version_meta,
        "selection": {"rule": SELECTION_RULE, "excluded": _excluded(project)},
        "counts": {
            "items": acc.items,
            "annotations": acc.annotations,
            "unsure_annotations": acc.unsure_annotations,
            "annotators": len(acc.annotators),
            "none_of_these": acc.positives[-1],
            "labels_per_item": {
                key: acc.cardinality.get(n, 0)
                for n, key in ((0, "0"), (1, "1"), (2, "2"), (3, "3+"))
            },
            "gold_sources": dict(sorted(acc.sources.items())),
        },
        "prevalence": acc.prevalence(),
        "weighting": {
            "weighted_items": acc.weighted_items,
            "applies": acc.weighted_items > 0,
            "estimator": WEIGHT_ESTIMATOR,
            "rule": WEIGHT_RULE,
            # Rows whose batch was cut short (f < 1): their weight is above 1/π.
            "adjusted_items": sum(
                r["items"]
                for r in model_runs
                if r["labeled_fraction"] is not None and r["labeled"] < r["picks"]
            ),
        },
        "pair_agreement": {
            "items_with_pairs": acc.items_with_pairs,
            "categories": acc.pair_agreement(),
        },
        "agreement": _agreement(project),
        "adjudication": _adjudication(project, acc.sources.get("adjudication", 0)),
        "label_noise": label_noise_review(project),
        "sampling": [
            {
                "reason": reason,
                "label": reason_labels.get(reason, reason),
                "items": n,
                "share": round(n / acc.items, 6) if acc.items else None,
            }
            for reason, n in sorted(acc.reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "model_runs": model_runs,
        "time_span": {
            "first_annotation": iso(acc.first_annotation),
            "last_annotation": iso(acc.last_annotation),
            "first_gold": iso(acc.first_gold),
            "last_gold": iso(acc.last_gold),
        },
        "schema": schema_of(categories),
        "guidelines": {
            "version": project.guidelines_version,
            "sha256": hashlib.sha256(guidelines.encode()).hexdigest(),
            "text": guidelines,
        },
    }

"""Runs, their metrics and their picks, as the pages and the API show them."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Left

from annotation.models import Item, Project

from ..models import LearningConfig, ModelRun, PickedItem
from .config import learning_config_get

RUNS_SHOWN = 50
CURVE_RUNS = 200
PICKS_PAGE = 100
SNIPPET_CHARS = 200


def model_run_list(*, project: Project) -> QuerySet[ModelRun]:
    """Runs of the project, newest first (the API pages through it by number)."""
    return (
        ModelRun.objects.filter(project=project)
        .select_related("requested_by")
        .defer("timings", "features")
        .order_by("-number")
    )


def model_run_get(*, project: Project, number: int) -> ModelRun | None:
    return (
        ModelRun.objects.filter(project=project, number=number)
        .select_related("requested_by")
        .first()
    )


def model_run_latest(*, project: Project) -> ModelRun | None:
    """The newest run (the one in flight, if any: only the newest run can be)."""
    return ModelRun.objects.filter(project=project).order_by("-number").first()


@dataclass
class LearningOverview:
    runs: list[ModelRun]
    in_flight: ModelRun | None
    latest_done: ModelRun | None
    config: LearningConfig
    chart_data: dict = field(default_factory=dict)

    @property
    def metric_table(self) -> list[tuple]:
        m = self.chart_data["metrics"]
        return list(
            zip(m["labels"], m["precision"], m["recall"], m["f1"], m["support"], strict=True)
        )

    @property
    def curve_table(self) -> list[tuple]:
        c = self.chart_data["curve"]
        return list(zip(c["runs"], c["gold"], c["macro_f1"], c["micro_f1"], strict=True))


def learning_overview(*, project: Project) -> LearningOverview:
    """The runs page: the newest runs, the settings, and the chart data (per-category metrics
    of the newest finished run; the learning curve over finished runs). Three queries."""
    runs = list(model_run_list(project=project)[:RUNS_SHOWN])
    done = list(
        ModelRun.objects.filter(project=project, status=ModelRun.Status.DONE)
        .order_by("-number")
        .only("pk", "number", "gold_count", "metrics", "categories", "mode", "finished_at")[
            :CURVE_RUNS
        ]
    )
    done.reverse()
    in_flight = runs[0] if runs and runs[0].in_flight else None
    latest_done = done[-1] if done else None
    return LearningOverview(
        runs=runs,
        in_flight=in_flight,
        latest_done=latest_done,
        config=learning_config_get(project=project),
        chart_data=_chart_data(done),
    )


def _chart_data(done: list[ModelRun]) -> dict:
    """{"metrics": per-category bars of the newest run, "curve": F1 against gold labels}.
    Only runs that cross-validated appear on the curve."""
    measured = [r for r in done if r.metrics.get("per_category")]
    names: dict[int, str] = {}
    for run in measured:  # oldest first, so the newest name of a category wins
        names.update({c["id"]: c["name"] for c in run.categories})
    curve = {
        "gold": [r.gold_count for r in measured],
        "runs": [r.number for r in measured],
        "macro_f1": [r.metrics.get("macro_f1") for r in measured],
        "micro_f1": [r.metrics.get("micro_f1") for r in measured],
        "categories": [
            {"id": cid, "name": name, "f1": [_f1_of(run, cid) for run in measured]}
            for cid, name in names.items()
        ],
    }
    latest = measured[-1] if measured else None
    metrics = {"run": None, "labels": [], "precision": [], "recall": [], "f1": [], "support": []}
    if latest is not None:
        metrics["run"] = latest.number
        for category, row in zip(latest.categories, latest.metrics["per_category"], strict=False):
            metrics["labels"].append(category["name"])
            for key in ("precision", "recall", "f1", "support"):
                metrics[key].append(row.get(key))
    return {"metrics": metrics, "curve": curve}


def _f1_of(run: ModelRun, category_id: int) -> float | None:
    for category, row in zip(run.categories, run.metrics["per_category"], strict=False):
        if category["id"] == category_id:
            return row.get("f1")
    return None


def metric_rows(run: ModelRun) -> list[dict]:
    """Per-category metric rows of a run with the category names it used."""
    rows = run.metrics.get("per_category") or []
    positives = run.metrics.get("gold_positives") or []
    out = []
    for c, category in enumerate(run.categories):
        row = rows[c] if c < len(rows) else {}
        out.append(
            {
                "id": category["id"],
                "name": category["name"],
                "gold_positives": positives[c] if c < len(positives) else None,
                **{k: row.get(k) for k in ("precision", "recall", "f1", "support")},
            }
        )
    return out


@dataclass(frozen=True)
class ReasonSummary:
    reason: str
    picked: int
    queued: int
    labeled: int
    released: int
    inclusion_sum: float


def pick_summary(*, run: ModelRun) -> list[ReasonSummary]:
    """Per reason: picks, how many reached the queue, how many have been labeled since, how
    many a later run released, and the sum of their inclusion probabilities. One query."""
    rows = (
        PickedItem.objects.filter(run=run)
        .values("reason")
        .annotate(
            picked=Count("pk"),
            queued=Count("pk", filter=Q(queued=True)),
            labeled=Count("pk", filter=Q(item__annotation_count__gt=0)),
            released=Count("pk", filter=Q(released_at__isnull=False)),
            inclusion_sum=Coalesce(Sum("inclusion_probability"), 0.0),
        )
        .order_by("reason")
    )
    return [ReasonSummary(**row) for row in rows]


@dataclass(frozen=True)
class PickRow:
    rank: int
    reason: str
    reason_label: str
    inclusion_probability: float
    score: float
    queued: bool
    released_at: datetime | None
    item_id: int
    external_id: str
    snippet: str
    label_state: str
    annotation_count: int
    still_current: bool  # the item's queue position still comes from this run


def picked_item_page(
    *, run: ModelRun, after_rank: int | None = None, limit: int = PICKS_PAGE
) -> list[PickRow]:
    """One page of a run's picks in serving order (keyset on rank). One query. The snippet is
    cut in the database and is item text: templates escape it like any item text."""
    picks = PickedItem.objects.filter(run=run)
    if after_rank is not None:
        picks = picks.filter(rank__gt=after_rank)
    rows = (
        picks.order_by("rank")
        .annotate(snippet=Left("item__text", SNIPPET_CHARS), item_run=F("item__selection_run_id"))
        .values_list(
            "rank", "reason", "inclusion_probability", "score", "queued", "released_at",
            "item_id", "item__external_id", "snippet", "item__label_state",
            "item__annotation_count", "item_run",
        )[:limit]
    )  # fmt: skip
    labels = dict(Item.SelectionReason.choices)
    return [
        PickRow(
            rank=r[0],
            reason=r[1],
            reason_label=labels.get(r[1], r[1]),
            inclusion_probability=r[2],
            score=r[3],
            queued=r[4],
            released_at=r[5],
            item_id=r[6],
            external_id=r[7],
            snippet=r[8],
            label_state=r[9],
            annotation_count=r[10],
            still_current=r[11] == run.pk,
        )
        for r in rows
    ]

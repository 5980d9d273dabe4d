"""Label-noise runs and label issues, as the lead page and the API show them.

The review's precision is the share of reviewed flags that leads confirmed:
confirmed / (confirmed + dismissed), with a Wilson score interval (z = 1.96), which stays in
[0, 1] and behaves with the handful of reviews a project has early on. Withdrawn issues (their
case was cancelled without a verdict) and open ones do not count.
"""

from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, QuerySet
from django.db.models.functions import Substr

from annotation.intervals import Z95
from annotation.intervals import wilson as wilson_interval
from annotation.models import Category, Project

from ..models import LabelIssue, NoiseRun

ISSUES_SHOWN = 50
RUNS_SHOWN = 20
SNIPPET_CHARS = 200
Status = LabelIssue.Status
ISSUE_FIELDS = (
    "id", "project_id", "item_id", "run_id", "gold_label_id", "given", "given_key",
    "suggested", "quality", "per_category_quality", "method", "status", "resolution",
    "case_id", "reviewed_by_id", "reviewed_at", "created_at",
    "item__id", "item__external_id", "item__project_id",
    "run__id", "run__number", "case__id", "case__status", "reviewed_by__id",
    "reviewed_by__username",
)  # fmt: skip


def wilson(successes: int, n: int, z: float = Z95) -> dict:
    """{"value", "low", "high"} of a proportion (unrounded); all None when n is 0. The one
    Wilson implementation is `annotation.intervals.wilson`."""
    return wilson_interval(successes, n, z).as_raw_dict()


# --- runs --------------------------------------------------------------------------------------


def noise_run_list(*, project: Project) -> QuerySet[NoiseRun]:
    """Noise runs of the project, newest first."""
    return (
        NoiseRun.objects.filter(project=project)
        .select_related("requested_by", "model_run")
        .defer("figures", "features", "model_run__metrics", "model_run__parameters")
        .order_by("-number")
    )


def noise_run_get(*, project: Project, number: int) -> NoiseRun | None:
    return (
        NoiseRun.objects.filter(project=project, number=number)
        .select_related("requested_by", "model_run")
        .first()
    )


def noise_run_latest(*, project: Project) -> NoiseRun | None:
    """The newest noise run (the one in flight, if any: only the newest can be)."""
    return NoiseRun.objects.filter(project=project).order_by("-number").first()


# --- issues ------------------------------------------------------------------------------------


def label_issue_queryset(
    *,
    project: Project,
    status: str | None = None,
    category_id: int | None = None,
    run_number: int | None = None,
) -> QuerySet[LabelIssue]:
    """Issues of the project, most suspicious (lowest quality) first, filtered. The item text
    arrives as a snippet; suspected categories are prefetched (two queries in all)."""
    issues = LabelIssue.objects.filter(project=project)
    if status:
        issues = issues.filter(status=status)
    if category_id is not None:
        issues = issues.filter(suspected_categories__id=category_id)
    if run_number is not None:
        issues = issues.filter(run__number=run_number)
    return (
        issues.select_related("item", "run", "case", "reviewed_by")
        .only(*ISSUE_FIELDS)
        .annotate(
            item_title=Substr("item__title", 1, SNIPPET_CHARS),
            item_snippet=Substr("item__text", 1, SNIPPET_CHARS + 1),
        )
        .prefetch_related(
            Prefetch("suspected_categories", queryset=Category.objects.order_by("order", "id"))
        )
        .order_by("quality", "id")
    )


def label_issue_get(*, project: Project, issue_id: int) -> LabelIssue | None:
    return label_issue_queryset(project=project).filter(pk=issue_id).first()


# --- the lead page -----------------------------------------------------------------------------


@dataclass
class AnnotatorRow:
    name: str
    items: int
    quality: list[float | None]  # per category of the table
    mean: float | None


@dataclass
class NoiseOverview:
    runs: list[NoiseRun]
    latest: NoiseRun | None
    latest_done: NoiseRun | None
    counts: dict[str, int]
    precision: dict
    open_issues: list[LabelIssue]
    chart_data: dict = field(default_factory=dict)
    annotator_categories: list[str] = field(default_factory=list)
    annotator_rows: list[AnnotatorRow] = field(default_factory=list)
    consensus_quality: list[float | None] = field(default_factory=list)

    @property
    def reviewed(self) -> int:
        return self.counts[Status.CONFIRMED] + self.counts[Status.DISMISSED]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def chart_table(self) -> list[tuple]:
        c = self.chart_data
        return list(zip(c["labels"], c["open"], c["confirmed"], c["dismissed"], strict=True))


def label_issue_counts(*, project: Project) -> dict[str, int]:
    """Issues per status (every status present). One grouped query."""
    counts = dict.fromkeys(Status.values, 0)
    rows = (
        LabelIssue.objects.filter(project=project)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("status", "n")
    )
    counts.update(dict(rows))
    return counts


def category_names(*, project: Project) -> dict[int, str]:
    """{category id: name} of every category of the project (inactive ones too), in order."""
    rows = Category.objects.filter(project=project).order_by("order", "id")
    return dict(rows.values_list("pk", "name"))


def with_label_names(issues: list[LabelIssue], names: dict[int, str]) -> list[LabelIssue]:
    """Set `given_names` and `suggested_names` on each issue (no query)."""
    for issue in issues:
        issue.given_names = [names.get(c, f"#{c}") for c in issue.given]
        issue.suggested_names = [names.get(c, f"#{c}") for c in issue.suggested]
    return issues


def _chart(project: Project, names: dict[int, str]) -> dict:
    """Issues per suspected category and status (one query)."""
    categories = list(names.items())
    through = LabelIssue.suspected_categories.through
    rows = (
        through.objects.filter(labelissue__project=project)
        .values("category_id", "labelissue__status")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("category_id", "labelissue__status", "n")
    )
    by = {(c, s): n for c, s, n in rows}
    shown = [(pk, name) for pk, name in categories if any((pk, s) in by for s in Status.values)]
    chart = {"labels": [name for _, name in shown]}
    for status in (Status.OPEN, Status.CONFIRMED, Status.DISMISSED):
        chart[str(status)] = [by.get((pk, status), 0) for pk, _ in shown]
    return chart


def _annotator_table(run: NoiseRun | None, *, names: bool):
    """(category names, rows, consensus quality per category) from a run's figures."""
    figures = (run.figures or {}).get("annotators") if run is not None else None
    if not figures or not figures.get("available"):
        return [], [], []
    categories = figures["categories"]
    rows = []
    for j, annotator in enumerate(figures["annotators"]):
        quality = [c["annotator_quality"].get(str(annotator["id"])) for c in categories]
        known = [q for q in quality if q is not None]
        rows.append(
            AnnotatorRow(
                name=annotator["username"] if names else f"Annotator {j + 1}",
                items=annotator["items"],
                quality=quality,
                mean=sum(known) / len(known) if known else None,
            )
        )
    return (
        [c["name"] for c in categories],
        rows,
        [c.get("consensus_quality") for c in categories],
    )


def noise_overview(*, project: Project, names: bool) -> NoiseOverview:
    """The lead page: the newest runs (the first one's progress or message), the newest
    finished run's annotator figures, issue counts and precision, the chart by category and
    status, and the most suspicious open issues. Seven queries whatever the numbers. `names`:
    show annotators' usernames (leads) or numbers (scientists)."""
    runs = list(noise_run_list(project=project)[:RUNS_SHOWN])
    latest_done = (
        NoiseRun.objects.filter(project=project, status=NoiseRun.Status.DONE)
        .order_by("-number")
        .only("pk", "number", "figures", "finished_at", "flagged_count", "raised_count")
        .first()
    )
    counts = label_issue_counts(project=project)
    confirmed, dismissed = counts[Status.CONFIRMED], counts[Status.DISMISSED]
    labels = category_names(project=project)
    open_issues = with_label_names(
        list(label_issue_queryset(project=project, status=Status.OPEN)[:ISSUES_SHOWN]), labels
    )
    categories, rows, consensus = _annotator_table(latest_done, names=names)
    return NoiseOverview(
        runs=runs,
        latest=runs[0] if runs else None,
        latest_done=latest_done,
        counts=counts,
        precision={**wilson(confirmed, confirmed + dismissed), "n": confirmed + dismissed},
        open_issues=open_issues,
        chart_data=_chart(project, labels),
        annotator_categories=categories,
        annotator_rows=rows,
        consensus_quality=consensus,
    )

"""Reads of agreement snapshots for the dashboard and the API: the newest finished snapshot and
whatever is newer (pending, running, failed), turned into display rows.

Nothing here computes a statistic: pages show what the background computation stored
(annotation/services/agreement). Two queries, however large the project: the newest done
snapshot (index agreement_latest_idx) and the newest row after it, without its data.
Every number is formatted here, so a missing value becomes "not enough data" (with the
statistic's reason as a tooltip) and can never reach the page as NaN; pre-formatted strings
also keep the template cheap (a page renders thousands of cells).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from .models import AgreementSnapshot, Project

Status = AgreementSnapshot.Status
NOT_ENOUGH = "not enough data"

# (key in the snapshot, column heading, what it measures) in table order.
METRICS = (
    ("alpha", "Krippendorff's α", "Krippendorff's alpha, nominal; any number of annotators"),
    ("ac1", "Gwet's AC1", "Gwet's AC1: stable when a category is rare"),
    ("cohen", "Cohen's κ", "Cohen's kappa per annotator pair, averaged over pairs"),
    ("fleiss", "Fleiss' κ", "Fleiss' kappa"),
    (
        "positive",
        "Positive agr.",
        "Positive-specific agreement: of the yes ratings, how many a second annotator shared",
    ),
    ("negative", "Negative agr.", "Negative-specific agreement"),
    (
        "percent",
        "Percent agr.",
        "Share of agreeing annotator pairs (high by the negatives alone when a category is rare)",
    ),
)


def fmt_number(value, digits: int = 2) -> str:
    return NOT_ENOUGH if value is None else f"{float(value):.{digits}f}"


def fmt_percent(value) -> str:
    return NOT_ENOUGH if value is None else f"{100 * float(value):.1f}%"


def fmt_count(value) -> str:
    return f"{int(value or 0):,}"


def fmt_ms(value) -> str:
    if value is None:
        return "–"
    seconds = float(value) / 1000
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def heat(value) -> str:
    """CSS class bucket of an agreement value (kappa, accuracy)."""
    if value is None:
        return "heat-none"
    for bucket, low in ((4, 0.8), (3, 0.6), (2, 0.4), (1, 0.2)):
        if value >= low:
            return f"heat-{bucket}"
    return "heat-0"


@dataclass(frozen=True)
class Cell:
    """One value: text, CI text, why it is missing, tooltip and heat class."""

    text: str
    ci: str = ""
    reason: str = ""
    missing: bool = False
    heat: str = ""


def estimate_cell(est: dict | None, digits: int = 2) -> Cell:
    est = est or {}
    value = est.get("value")
    if value is None:
        return Cell(text=NOT_ENOUGH, reason=est.get("reason") or "", missing=True)
    low, high = est.get("low"), est.get("high")
    ci = f"[{fmt_number(low, digits)}, {fmt_number(high, digits)}]" if low is not None else ""
    return Cell(text=fmt_number(value, digits), ci=ci, reason=est.get("reason") or "")


@dataclass(frozen=True)
class CategoryRow:
    key: str
    name: str
    kind: str
    active: bool
    items: str  # "n (pairable)"
    prevalence: str
    cells: list[Cell]


@dataclass(frozen=True)
class PairRow:
    a: str
    b: str
    counts: list[str]  # shared, n11, n10, n01, n00
    percent: str
    kappa: Cell
    positive: str


@dataclass(frozen=True)
class ConfusionBlock:
    key: str
    name: str
    pooled: list[str]  # both yes, one yes, both no
    pairs_n: str
    percent: str
    pairs: list[PairRow] = field(default_factory=list)
    pairs_total: int = 0


@dataclass(frozen=True)
class AnnotatorRow:
    username: str
    annotations: str
    median_time: str
    skip_rate: str
    peers: str  # same label · mean kappa
    gold: str
    gold_n: int
    gold_detail: str
    gold_questions: str
    gq_n: int
    few_answers: bool
    alert: bool
    alert_text: str
    peer_cells: list[Cell]  # per class: kappa vs peers, tooltip with the rest
    gq_cells: list[Cell]  # per class: gold-question accuracy


@dataclass(frozen=True)
class AgreementPanel:
    snapshot: AgreementSnapshot | None  # newest done
    newer: AgreementSnapshot | None  # newest row after it: pending, running or failed
    categories: list[CategoryRow] = field(default_factory=list)
    set_level: list[tuple[str, Cell]] = field(default_factory=list)
    options: list[tuple[str, str]] = field(default_factory=list)  # (key, name) per class
    confusion: ConfusionBlock | None = None  # the selected class only
    annotators: list[AnnotatorRow] = field(default_factory=list)
    any_gold_questions: bool = False
    chart: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)
    metric_headings: ClassVar = METRICS

    @property
    def in_progress(self) -> bool:
        return self.newer is not None and self.newer.status in (Status.PENDING, Status.RUNNING)

    @property
    def alerts(self) -> int:
        return sum(1 for a in self.annotators if a.alert)

    @property
    def computed_at(self) -> datetime | None:
        return self.snapshot.finished_at if self.snapshot else None


def agreement_snapshots(
    *, project: Project, newer: bool = True
) -> tuple[AgreementSnapshot | None, AgreementSnapshot | None]:
    """(newest done snapshot, newest row after it or None). Two indexed queries (one without
    `newer`)."""
    done = (
        AgreementSnapshot.objects.filter(project=project, status=Status.DONE)
        .order_by("-id")
        .first()
    )
    if not newer:
        return done, None
    after = AgreementSnapshot.objects.filter(project=project).order_by("-id")
    if done is not None:
        after = after.filter(id__gt=done.pk)
    return done, after.defer("data").first()


def _categories(data: dict) -> list[CategoryRow]:
    rows = []
    for c in data.get("categories", []):
        metrics = c.get("metrics", {})
        rows.append(
            CategoryRow(
                key=c["key"],
                name=c["name"],
                kind=c.get("kind", "category"),
                active=c.get("active", True),
                items=f"{c.get('n_items', 0):,} ({c.get('n_pairable_items', 0):,})",
                prevalence=fmt_percent(c.get("prevalence")),
                cells=[estimate_cell(metrics.get(key)) for key, _, _ in METRICS],
            )
        )
    return rows


def _chart(data: dict) -> dict:
    """Point and CI per category for alpha and AC1; null (a gap) where there is no value."""
    chart = {"labels": [c["name"] for c in data.get("categories", [])]}
    for key in ("alpha", "ac1"):
        series = {"value": [], "low": [], "high": []}
        for c in data.get("categories", []):
            est = c.get("metrics", {}).get(key) or {}
            value = est.get("value")
            series["value"].append(value)
            series["low"].append(est.get("low") if value is not None else None)
            series["high"].append(est.get("high") if value is not None else None)
        chart[key] = series
    return chart


def _names(data: dict) -> dict[int, str]:
    return {a["id"]: a["username"] for a in data.get("annotators", [])}


def confusion_block(data: dict, key: str | None, *, with_pairs: bool) -> ConfusionBlock | None:
    """The pooled 2×2 of one class (the first when `key` is unknown) and, for leads, its
    per-pair tables."""
    classes = data.get("categories", [])
    c = next((c for c in classes if c["key"] == key), classes[0] if classes else None)
    if c is None:
        return None
    conf = data.get("confusion", {}).get(c["key"], {})
    pooled = conf.get("pooled", {})
    pairs = []
    if with_pairs:
        names = _names(data)
        for pair, t in zip(data.get("pairs", []), conf.get("pairs", []), strict=False):
            kappa = t.get("kappa")
            pairs.append(
                PairRow(
                    a=names.get(pair["a"], f"user {pair['a']}"),
                    b=names.get(pair["b"], f"user {pair['b']}"),
                    counts=[fmt_count(pair["shared"])]
                    + [fmt_count(t[k]) for k in ("n11", "n10", "n01", "n00")],
                    percent=fmt_percent(t.get("percent")),
                    kappa=Cell(text=fmt_number(kappa), heat=heat(kappa)),
                    positive=fmt_number(t.get("positive")),
                )
            )
    return ConfusionBlock(
        key=c["key"],
        name=c["name"],
        pooled=[fmt_count(pooled.get(k)) for k in ("both_yes", "one_yes", "both_no")],
        pairs_n=fmt_count(pooled.get("pairs")),
        percent=fmt_percent(pooled.get("percent")),
        pairs=pairs,
        pairs_total=data.get("pairs_total", 0),
    )


def _peer_cell(peer: dict, gold: dict) -> Cell:
    tip = (
        f"agree {fmt_percent(peer.get('percent'))} over {peer.get('n', 0):,} pairs; "
        f"positive agreement {fmt_number(peer.get('positive'))}; "
        f"vs gold: κ {fmt_number(gold.get('kappa'))}, "
        f"positive agreement {fmt_number(gold.get('positive'))}"
    )
    kappa = peer.get("kappa")
    return Cell(text=fmt_number(kappa), reason=tip, missing=kappa is None, heat=heat(kappa))


def _gq_cell(q: dict, threshold: float) -> Cell:
    """Coloured against the project's alert threshold, not the kappa scale: red with ⚠ when it
    raises the alert, orange when below it on too few answers to alert, green otherwise."""
    accuracy = q.get("accuracy")
    tip = f"{q.get('correct', 0)} of {q.get('n', 0)} right"
    if q.get("gold_positives"):
        tip += f"; found {q.get('found', 0)} of {q['gold_positives']} positives"
    if accuracy is None:
        return Cell(text="–", reason=tip, missing=True, heat="heat-none")
    if q.get("alert"):
        return Cell(text=fmt_percent(accuracy) + " ⚠", reason=tip, heat="heat-0")
    below = accuracy < threshold
    return Cell(text=fmt_percent(accuracy), reason=tip, heat="heat-1" if below else "heat-4")


def _annotator_row(a: dict, classes: list[dict], threshold: float) -> AnnotatorRow:
    peers, gold, gq = a.get("peers", {}), a.get("gold", {}), a.get("gold_questions", {})
    keys = [c["key"] for c in classes]
    alert_names = [c["name"] for c in classes if c["key"] in gq.get("alert_classes", [])]
    alert_text = ""
    if gq.get("alert"):
        parts = (["whole label"] if gq.get("alert_exact") else []) + alert_names
        alert_text = "Below the gold-question threshold: " + ", ".join(parts)
    return AnnotatorRow(
        username=a["username"],
        annotations=fmt_count(a.get("annotations")),
        median_time=fmt_ms(a.get("median_time_ms")),
        skip_rate="–" if a.get("skip_rate") is None else fmt_percent(a["skip_rate"]),
        peers=f"{fmt_percent(peers.get('exact'))} · {fmt_number(peers.get('mean_kappa'))}",
        gold=f"{fmt_percent(gold.get('exact'))} · {fmt_number(gold.get('mean_kappa'))}",
        gold_n=gold.get("n", 0),
        gold_detail=f"n {gold.get('n', 0):,}, {gold.get('adjudicated', 0):,} adjudicated",
        gold_questions=fmt_percent(gq.get("accuracy")),
        gq_n=gq.get("n", 0),
        few_answers=bool(gq.get("n")) and not gq.get("enough"),
        alert=bool(gq.get("alert")),
        alert_text=alert_text,
        peer_cells=[
            _peer_cell(peers.get("per_class", {}).get(k, {}), gold.get("per_class", {}).get(k, {}))
            for k in keys
        ],
        gq_cells=[_gq_cell(gq.get("per_class", {}).get(k, {}), threshold) for k in keys],
    )


def _set_level(data: dict) -> list[tuple[str, Cell]]:
    labels = {"jaccard": "Set-level α (Jaccard)", "masi": "Set-level α (MASI)"}
    if not data.get("multi_label", True):
        labels["jaccard"] = "α over all classes (nominal)"
    found = data.get("set_level") or {}
    return [(label, estimate_cell(found[key])) for key, label in labels.items() if key in found]


def agreement_panel(
    *, project: Project, with_annotators: bool, confusion_key: str | None = None
) -> AgreementPanel:
    """What the dashboard shows. `with_annotators` (leads): the annotator table and the
    per-pair confusion; without it only per-category figures and the pooled confusion."""
    done, newer = agreement_snapshots(project=project)
    if done is None:
        return AgreementPanel(snapshot=None, newer=newer)
    data = done.data or {}
    classes = data.get("categories", [])
    annotators = []
    if with_annotators:
        threshold = data.get("params", {}).get("gold_alert_threshold", project.gold_alert_threshold)
        annotators = [_annotator_row(a, classes, threshold) for a in data.get("annotators", [])]
    return AgreementPanel(
        snapshot=done,
        newer=newer,
        categories=_categories(data),
        set_level=_set_level(data),
        options=[(c["key"], c["name"]) for c in classes],
        confusion=confusion_block(data, confusion_key, with_pairs=with_annotators),
        annotators=annotators,
        any_gold_questions=any(a.gq_n for a in annotators),
        chart=_chart(data),
        counts=data.get("counts", {}),
    )


def agreement_confusion(*, project: Project, key: str, with_pairs: bool) -> ConfusionBlock | None:
    """One class's confusion block from the newest done snapshot (one query)."""
    done, _ = agreement_snapshots(project=project, newer=False)
    return confusion_block(done.data or {}, key, with_pairs=with_pairs) if done else None


# --- the API's documents ------------------------------------------------------------------------


def agreement_document(*, project: Project, with_pairs: bool) -> dict:
    """The API's agreement body: the newest done snapshot's per-category figures with their
    pooled confusion (and, for leads, per-pair tables with usernames), plus any newer row."""
    done, newer = agreement_snapshots(project=project)
    data = done.data if done is not None else {}
    names = _names(data)
    categories = []
    for c in data.get("categories", []):
        conf = data.get("confusion", {}).get(c["key"], {})
        row = {**c, "pooled": conf.get("pooled", {})}
        if with_pairs:
            row["pairs"] = [
                {**t, "a": names.get(p["a"], str(p["a"])), "b": names.get(p["b"], str(p["b"]))}
                for p, t in zip(data.get("pairs", []), conf.get("pairs", []), strict=False)
            ]
        categories.append(row)
    return {
        "snapshot": done,
        "newer": newer,
        "multi_label": data.get("multi_label", project.multi_label),
        "counts": data.get("counts", {}),
        "categories": categories,
        "set_level": data.get("set_level"),
    }


def annotator_document(*, project: Project) -> dict:
    """The API's annotator-quality body from the newest done snapshot (one query)."""
    done, _ = agreement_snapshots(project=project, newer=False)
    data = done.data if done is not None else {}
    return {
        "snapshot": done,
        "gold_alert_threshold": data.get("params", {}).get(
            "gold_alert_threshold", project.gold_alert_threshold
        ),
        "annotators": data.get("annotators", []),
    }

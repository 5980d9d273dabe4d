"""Label issues: raising one (with its adjudication case), keeping its status in step with that
case, and the leads' review actions of the API.

Where the review happens: in the adjudication queue. An issue opens a case with reason
label_error through `annotation.services.adjudication.case_open` (the annotation app's public
entry), and the lead answers it like any case: decide (a new gold label, audited as every gold
change) or dismiss (the label stands). The API's confirm and dismiss call the same services.

How the issue follows its case: annotation must not import learning, so the learning side
listens. `case_closed_receiver` is connected to AdjudicationCase's post_save (apps.py) and, when
a label_error case closes, updates its issue in the same transaction as the lead's decision:

    case dismissed                              -> issue dismissed   (resolution dismissed)
    case resolved with a different gold label   -> issue confirmed   (resolution relabeled)
    case resolved with the same label again     -> issue dismissed   (resolution kept: the lead
                                                   looked and the label stood, which is what a
                                                   dismissal says; it counts against the flags'
                                                   precision)
    case cancelled                              -> issue withdrawn   (nobody judged the flag)

`label_issue_sync` derives the same from the cases' rows for a whole project; every noise run
calls it first, so a close that bypassed `save()` (a bulk update) is caught up.

A dismissed flag does not come back: the schema allows one issue per gold label row, and
`label_issue_raise` also skips an item whose current label (by content, so a lead re-deciding
the same label makes no difference) was dismissed before; `case_open` itself refuses a label
error dismissed against the current gold row.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from annotation.errors import Conflict, InvalidInput, NotFound
from annotation.models import AdjudicationCase, GoldLabel, Item, Project
from annotation.services.adjudication import case_decide, case_dismiss, case_open

from ..models import LabelIssue, NoiseRun

Status = LabelIssue.Status
Resolution = LabelIssue.Resolution
CaseStatus = AdjudicationCase.Status
LABEL_ERROR = AdjudicationCase.Reason.LABEL_ERROR


def label_key(category_ids) -> str:
    """A label as a comparable string: 'none' or sorted ids '3,7'."""
    ids = sorted({int(c) for c in category_ids})
    return ",".join(str(c) for c in ids) if ids else "none"


class _Skip(Exception):
    """Roll back the issue just written (its case could not be opened)."""


def label_issue_raise(
    *,
    run: NoiseRun,
    item_id: int,
    gold_id: int,
    given: list[int],
    finding,
    category_ids: list[int],
    method: str,
) -> str:
    """Turn one flag of `run` into an issue and an open label_error case, in one short
    transaction with the item row locked (lock order: item, then its cases and gold labels).

    `gold_id`/`given`: the gold label row the run read and its category ids. `finding`: a
    `learning.ml.noise.NoiseFinding` whose category indices are columns of `category_ids`.
    Returns what happened: "raised", "gold_changed" (the item's gold label is no longer the
    one checked), "already_open" (an open issue exists), "dismissed" (a lead already kept
    this label), "flagged_before" (this gold row had an issue, withdrawn since), "missing"
    (the item is gone).
    """
    key = label_key(given)
    suspected = [category_ids[c] for c in finding.suspected]
    suggested = sorted(category_ids[c] for c in finding.suggested)
    quality = min(1.0, max(0.0, float(finding.quality)))
    try:
        with transaction.atomic():
            item = Item.objects.select_for_update().filter(pk=item_id).first()
            if item is None:
                return "missing"
            current = (
                GoldLabel.objects.filter(item_id=item_id, current=True)
                .values_list("pk", flat=True)
                .first()
            )
            if current != gold_id:
                return "gold_changed"
            issues = LabelIssue.objects.filter(item_id=item_id)
            if issues.filter(status=Status.OPEN).exists():
                return "already_open"
            before = issues.filter(gold_label_id=gold_id).values_list("status", flat=True).first()
            if before is not None:
                return "dismissed" if before == Status.DISMISSED else "flagged_before"
            if issues.filter(status=Status.DISMISSED, given_key=key).exists():
                return "dismissed"
            issue = LabelIssue.objects.create(
                project_id=run.project_id,
                item_id=item_id,
                run=run,
                gold_label_id=gold_id,
                given=sorted(given),
                given_key=key,
                suggested=suggested,
                quality=quality,
                per_category_quality=_per_category(finding, category_ids),
                method=method,
            )
            issue.suspected_categories.set(suspected)
            case = _open_case(issue, run, suspected, suggested, quality)
            issue.case = case
            issue.save(update_fields=["case"])
    except _Skip:
        return "dismissed"
    return "raised"


def _per_category(finding, category_ids: list[int]) -> dict[str, float]:
    if finding.per_category_quality is None:
        return {}
    return {
        str(category_ids[c]): round(float(q), 6) for c, q in enumerate(finding.per_category_quality)
    }


def _open_case(issue: LabelIssue, run: NoiseRun, suspected, suggested, quality: float):

    opened = case_open(
        item_id=issue.item_id,
        reason=LABEL_ERROR,
        # details["score"] is set by case_open from `score` (1 − quality: higher = more
        # suspicious), and feeds the queue priority; the quality itself is kept beside it.
        details={
            "label_issue": issue.pk,
            "noise_run": run.number,
            "quality": round(quality, 6),
            "suspected": suspected,
            "suggested": suggested,
            "given": issue.given,
            "method": issue.method,
        },
        category_ids=suspected,
        score=round(1.0 - quality, 6),
    )
    if opened.case.status != CaseStatus.OPEN:
        # A label error dismissed against this very gold row (the adjudication app's own
        # memory): the flag stays dismissed.
        raise _Skip
    return opened.case


# --- keeping issues in step with their cases --------------------------------------------------


def _outcome(issue: LabelIssue, case: AdjudicationCase) -> tuple[str, str]:
    if case.status == CaseStatus.DISMISSED:
        return Status.DISMISSED, Resolution.DISMISSED
    if case.status == CaseStatus.CANCELLED:
        return Status.WITHDRAWN, Resolution.CANCELLED
    ids = (
        case.gold_label.categories.values_list("id", flat=True)
        if case.gold_label is not None
        else ()
    )
    if case.gold_label_id is not None and label_key(ids) == issue.given_key:
        return Status.DISMISSED, Resolution.KEPT
    return Status.CONFIRMED, Resolution.RELABELED


def _apply(issues) -> int:
    changed = 0
    for issue in issues:
        case = issue.case
        status, resolution = _outcome(issue, case)
        LabelIssue.objects.filter(pk=issue.pk, status=Status.OPEN).update(
            status=status,
            resolution=resolution,
            reviewed_by_id=case.closed_by_id,
            reviewed_at=case.closed_at or timezone.now(),
        )
        changed += 1
    return changed


def _closed_open_issues():
    return (
        LabelIssue.objects.filter(status=Status.OPEN, case__isnull=False)
        .exclude(case__status=CaseStatus.OPEN)
        .select_related("case", "case__gold_label")
        .only(
            "id",
            "given_key",
            "case__id",
            "case__status",
            "case__closed_by_id",
            "case__closed_at",
            "case__gold_label_id",
            "case__gold_label__id",
        )  # fmt: skip
    )


def label_issue_sync(*, project_id: int | None = None, case_ids=None) -> int:
    """Close the open issues whose case a lead closed (module docstring). Idempotent.
    Returns how many issues changed."""
    issues = _closed_open_issues()
    if project_id is not None:
        issues = issues.filter(project_id=project_id)
    if case_ids is not None:
        issues = issues.filter(case_id__in=list(case_ids))
    return _apply(issues)


def case_closed_receiver(sender, instance: AdjudicationCase, update_fields=None, **kwargs):
    """post_save of AdjudicationCase: a label_error case just closed, so its issue follows in
    the same transaction. Opening a case, or any other reason, costs nothing here."""
    if instance.reason != LABEL_ERROR or instance.status == CaseStatus.OPEN:
        return
    if update_fields is not None and "status" not in update_fields:
        return
    label_issue_sync(case_ids=[instance.pk])


# --- the review actions (API) ------------------------------------------------------------------


@dataclass(frozen=True)
class Reviewed:
    issue: LabelIssue
    gold: GoldLabel | None  # the new gold label of a confirmation


def _open_issue(project: Project, issue_id: int) -> tuple[LabelIssue, int]:
    """The open issue and its case's id; NotFound or Conflict otherwise."""
    issue = (
        LabelIssue.objects.filter(project=project, pk=issue_id)
        .select_related("case", "reviewed_by")
        .first()
    )
    if issue is None:
        raise NotFound("No such label issue in this project.")
    if issue.status != Status.OPEN:
        who = f" by {issue.reviewed_by.username}" if issue.reviewed_by is not None else ""
        raise Conflict(
            f"This issue is already {issue.get_status_display().lower()}{who}.",
            code="issue_closed",
        )
    if issue.case_id is None:
        raise Conflict("This issue has no adjudication case to review.", code="no_case")
    return issue, issue.case_id


def label_issue_confirm(
    *,
    project: Project,
    issue_id: int,
    lead,
    category_ids=None,
    none_of_these: bool = False,
    rationale: str,
    guideline_ref: str = "",
) -> Reviewed:
    """Confirm a flag and relabel: decide its case with `category_ids` (None: the suggested
    label). A label equal to the checked one is refused (that is a dismissal). Conflict when
    the issue or its case is closed already."""
    issue, case_id = _open_issue(project, issue_id)
    if category_ids is None:
        category_ids, none_of_these = issue.suggested, not issue.suggested
    if label_key(category_ids) == issue.given_key and (none_of_these or category_ids):
        raise InvalidInput(
            "That is the label the issue was raised against: dismiss the issue instead.",
            code="same_label",
        )
    decided = case_decide(
        project=project,
        case_id=case_id,
        lead=lead,
        category_ids=category_ids,
        none_of_these=none_of_these,
        rationale=rationale,
        guideline_ref=guideline_ref,
    )
    return Reviewed(issue=LabelIssue.objects.get(pk=issue.pk), gold=decided.gold)


def label_issue_dismiss(*, project: Project, issue_id: int, lead, note: str = "") -> Reviewed:
    """Dismiss a flag: the gold label stands (its case is dismissed). Conflict when the issue
    or its case is closed already."""
    issue, case_id = _open_issue(project, issue_id)
    case_dismiss(project=project, case_id=case_id, lead=lead, note=note)
    return Reviewed(issue=LabelIssue.objects.get(pk=issue.pk), gold=None)

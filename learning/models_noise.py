"""Label-noise review: runs that look for likely label errors among the gold labels, and the
issues they raise (each one reviewed by a lead in the adjudication queue).

Re-exported by `learning.models` (Django registers them there). Invariants in the schema: one
run number per project and at most one queued or running noise run per project; at most one
open issue per item; a gold label row is flagged at most once (so a dismissed flag never comes
back against the same gold label); quality scores in [0, 1]. The rules live in
`learning/services/noise*.py`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotation.models import AdjudicationCase, Category, GoldLabel, Item, Project


class NoiseRun(models.Model):
    """One check of a project's gold labels: out-of-fold probabilities of the project model,
    then cleanlab. Keeps what it saw, how it was configured, what it found, how long it took
    and how it ended ("not enough data" is an ending of its own, with its message in `error`)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        NOT_ENOUGH_DATA = "not_enough_data", "Not enough data"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "A lead's 'find label errors now'"
        MODEL_RUN = "model_run", "After a model run"

    IN_FLIGHT = (Status.QUEUED, Status.RUNNING)
    ENDED = (Status.DONE, Status.NOT_ENOUGH_DATA, Status.FAILED)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="noise_runs")
    number = models.PositiveIntegerField(help_text="1, 2, 3 … within the project.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    model_run = models.ForeignKey(
        "learning.ModelRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="noise_runs",
        help_text="The model run whose success requested this check.",
    )
    # The data snapshot, as for model runs: column c of every array is categories[c].
    gold_count = models.PositiveIntegerField(default=0)
    categories = models.JSONField(default=list, blank=True)
    features = models.JSONField(default=dict, blank=True, help_text="FeatureConfig.as_dict().")
    parameters = models.JSONField(
        default=dict, blank=True, help_text="Multi-label, folds, text limit."
    )
    seed = models.IntegerField(default=0)
    figures = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the check found: flagged, raised, skipped (why), classes left out, "
        "annotator quality.",
    )
    flagged_count = models.PositiveIntegerField(default=0)
    raised_count = models.PositiveIntegerField(
        default=0, help_text="Flags that became new issues (and adjudication cases)."
    )
    phase = models.CharField(max_length=30, blank=True)
    progress = models.FloatField(default=0.0, help_text="Fraction of the current phase done.")
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per phase.")
    error = models.TextField(
        blank=True, help_text="Why the run failed, or what data a 'not enough data' run needs."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="noiserun_unique_number"),
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status__in=["queued", "running"]),
                name="noiserun_one_in_flight",
            ),
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="noiserun_progress_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"noise run {self.number} of {self.project_id} ({self.status})"

    @property
    def in_flight(self) -> bool:
        return self.status in self.IN_FLIGHT


class LabelIssue(models.Model):
    """A gold label that looks wrong, and what a lead made of it.

    `gold_label` is the gold row the run checked; `given` its label then (category ids, [] for
    "none of these") and `given_key` the same as a comparable string. The issue is reviewed
    through its adjudication case (reason label_error): confirmed when a lead set a different
    label, dismissed when the lead dismissed the case or decided the same label again, withdrawn
    when the case was cancelled without a decision.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CONFIRMED = "confirmed", "Confirmed and relabeled"
        DISMISSED = "dismissed", "Dismissed (the label is right)"
        WITHDRAWN = "withdrawn", "Withdrawn (its case was cancelled)"

    class Resolution(models.TextChoices):
        RELABELED = "relabeled", "A lead set a different label"
        DISMISSED = "dismissed", "A lead dismissed the case"
        KEPT = "kept", "A lead decided the same label again"
        CANCELLED = "cancelled", "The case was cancelled"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="label_issues")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="label_issues")
    run = models.ForeignKey(NoiseRun, on_delete=models.CASCADE, related_name="issues")
    gold_label = models.ForeignKey(GoldLabel, on_delete=models.CASCADE, related_name="label_issues")
    given = models.JSONField(default=list, blank=True, help_text="Gold category ids checked.")
    given_key = models.CharField(max_length=400, help_text="'none' or sorted ids '3,7'.")
    suspected_categories = models.ManyToManyField(Category, blank=True, related_name="+")
    suggested = models.JSONField(
        default=list, blank=True, help_text="Category ids of the suggested label ([] = none)."
    )
    quality = models.FloatField(help_text="cleanlab label quality in [0, 1]; low = suspicious.")
    per_category_quality = models.JSONField(
        default=dict, blank=True, help_text="Multi-label: {category id: quality}."
    )
    method = models.CharField(max_length=60)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(max_length=10, choices=Resolution.choices, blank=True)
    case = models.ForeignKey(
        AdjudicationCase,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="label_issues",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["quality", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item"], condition=Q(status="open"), name="labelissue_one_open_per_item"
            ),
            models.UniqueConstraint(fields=["gold_label"], name="labelissue_one_per_gold_label"),
            models.CheckConstraint(
                condition=Q(quality__gte=0) & Q(quality__lte=1), name="labelissue_quality_0_1"
            ),
        ]
        indexes = [
            models.Index(fields=["project", "status", "quality"], name="labelissue_status_idx"),
            models.Index(fields=["item", "status"], name="labelissue_item_status_idx"),
        ]

    def __str__(self) -> str:
        return f"label issue {self.pk} of item {self.item_id} ({self.status})"

    @property
    def suggested_none(self) -> bool:
        return not self.suggested

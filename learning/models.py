"""Active learning: per-project settings and keyword seeds, model runs, and the items each run
picked (with why and how likely).

Invariants live in the schema: one run number per project, at most one queued or running run
per project (a partial unique index: a second request finds the first), strategy shares in
[0, 1] that sum to 1 with the audit share at or above its floor, inclusion probabilities in
(0, 1]. The orchestration rules live in `learning/services/`.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual

from annotation.models import Category, Item, Project

SHARE_FIELDS = (
    "share_uncertainty",
    "share_margin",
    "share_entropy",
    "share_multilabel",
    "share_boundary",
    "share_rare",
    "share_audit",
)
# Float shares entered as decimals (0.1 + 0.2 + 0.7) do not add up to exactly 1.
SHARE_SUM_TOLERANCE = 1e-6


def _share(default: float, help_text: str) -> models.FloatField:
    return models.FloatField(default=default, help_text=help_text)


class LearningConfig(models.Model):
    """How a project's active learning retrains and picks. Created on first use with the
    defaults below; a run copies what it needs into its own row when it is requested."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="learning_config"
    )
    enabled = models.BooleanField(
        default=True,
        help_text="Retrain automatically (every N gold labels / T minutes). "
        "A lead's 'retrain now' works either way.",
    )
    retrain_every_labels = models.PositiveIntegerField(
        default=50, help_text="Retrain after this many new gold labels (0: never by count)."
    )
    retrain_every_minutes = models.PositiveIntegerField(
        default=60,
        help_text="Retrain when this many minutes passed and there is new gold (0: never by time).",
    )
    batch_size = models.PositiveIntegerField(
        default=100, help_text="Items each run puts at the head of the queue."
    )
    min_gold_labels = models.PositiveIntegerField(
        default=20,
        help_text="Below this many gold labels a run does a cold start (keyword seeds and "
        "random) instead of training a model.",
    )
    share_uncertainty = _share(0.3, "Share of a batch picked by uncertainty sampling.")
    share_margin = _share(0.0, "Share picked by smallest margin.")
    share_entropy = _share(0.0, "Share picked by highest entropy.")
    share_multilabel = _share(0.0, "Share picked by the multi-label strategy.")
    share_boundary = _share(
        0.0, "Share picked nearest each category's decision boundary (multi-label projects)."
    )
    share_rare = _share(0.5, "Share picked by the rare-category hunt.")
    share_audit = _share(0.2, "Uniform random share (keeps the evaluation set unbiased).")
    audit_floor = models.FloatField(
        default=0.1,
        help_text="Smallest audit share allowed. Set by an administrator, not on the lead page.",
    )
    hashing = models.BooleanField(
        default=False, help_text="Hashed features: constant memory for very large pools."
    )
    url_tokens = models.BooleanField(default=True, help_text="Use URL and domain tokens.")
    seed = models.IntegerField(
        default=0, help_text="Random seed; run n uses seed + n, so every run is reproducible."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{name}__gte": 0}) & Q(**{f"{name}__lte": 1}),
                    name=f"learningconfig_{name}_0_1",
                )
                for name in SHARE_FIELDS
            ],
            models.CheckConstraint(
                condition=GreaterThanOrEqual(
                    sum((F(name) for name in SHARE_FIELDS[1:]), F(SHARE_FIELDS[0])),
                    1 - SHARE_SUM_TOLERANCE,
                )
                & LessThanOrEqual(
                    sum((F(name) for name in SHARE_FIELDS[1:]), F(SHARE_FIELDS[0])),
                    1 + SHARE_SUM_TOLERANCE,
                ),
                name="learningconfig_shares_sum_1",
            ),
            models.CheckConstraint(
                condition=Q(audit_floor__gte=0) & Q(audit_floor__lte=1),
                name="learningconfig_audit_floor_0_1",
            ),
            models.CheckConstraint(
                condition=Q(share_audit__gte=F("audit_floor")),
                name="learningconfig_audit_at_least_floor",
            ),
            models.CheckConstraint(
                condition=Q(batch_size__gte=1) & Q(batch_size__lte=10_000),
                name="learningconfig_batch_1_to_10000",
            ),
        ]

    def __str__(self) -> str:
        return f"learning settings of {self.project_id}"

    def shares(self) -> dict[str, float]:
        """{"uncertainty": 0.3, …, "audit": 0.2}: the StrategyMix fields."""
        return {name.removeprefix("share_"): getattr(self, name) for name in SHARE_FIELDS}


class KeywordSeed(models.Model):
    """Keywords a lead enters for a category; a cold start picks pool items matching them."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="keyword_seeds")
    category = models.OneToOneField(Category, on_delete=models.CASCADE, related_name="keyword_seed")
    keywords = models.TextField(blank=True, help_text="One keyword or phrase per line.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"seeds of {self.category_id}"

    def keyword_list(self) -> list[str]:
        return [k for k in self.keywords.splitlines() if k.strip()]


def _artifact_path(run: "ModelRun", filename: str) -> str:
    return f"learning/runs/{run.project_id}/{filename}"


class ModelRun(models.Model):
    """One retraining of a project's model: the data it saw, how it was configured, what it
    measured, what it picked, how long each phase took, and how it ended."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "A lead's 'retrain now'"
        LABELS = "labels", "New gold labels"
        SCHEDULE = "schedule", "Time since the last run"

    class Mode(models.TextChoices):
        MODEL = "model", "Trained model"
        COLD_START = "cold_start", "Cold start (keyword seeds and random)"

    IN_FLIGHT = (Status.QUEUED, Status.RUNNING)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_runs")
    number = models.PositiveIntegerField(help_text="1, 2, 3 … within the project.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mode = models.CharField(max_length=10, choices=Mode.choices, blank=True)
    # The data snapshot: how many gold labels the run trained on, and the category order that
    # column c of every array meant ([{"id": …, "name": …}, …]).
    gold_count = models.PositiveIntegerField(default=0)
    categories = models.JSONField(default=list, blank=True)
    features = models.JSONField(default=dict, blank=True, help_text="FeatureConfig.as_dict().")
    parameters = models.JSONField(
        default=dict, blank=True, help_text="Strategy mix, batch size, cold-start threshold."
    )
    seed = models.IntegerField(default=0)
    metrics = models.JSONField(
        default=dict, blank=True, help_text="Cross-validated per-category and macro metrics."
    )
    artifact = models.FileField(upload_to=_artifact_path, max_length=300, blank=True)
    artifact_size = models.BigIntegerField(default=0)
    pool_size = models.PositiveIntegerField(default=0)
    picked_count = models.PositiveIntegerField(default=0)
    phase = models.CharField(max_length=30, blank=True)
    progress = models.FloatField(default=0.0, help_text="Fraction of the current phase done.")
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per phase.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # A model run saves its picks as soon as the pool is scored and cross-validates after: the
    # queue has the new priorities from here on, while the run is still running.
    picks_saved_at = models.DateTimeField(
        null=True, blank=True, help_text="When the run's picks were written to the queue."
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="modelrun_unique_number"),
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status__in=["queued", "running"]),
                name="modelrun_one_in_flight",
            ),
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="modelrun_progress_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.number} of {self.project_id} ({self.status})"

    @property
    def in_flight(self) -> bool:
        return self.status in self.IN_FLIGHT


class PickedItem(models.Model):
    """One item a run put at the head of the queue, and why. Kept after later runs replace the
    batch, so the provenance of every labeled item can be traced to the run that picked it."""

    run = models.ForeignKey(ModelRun, on_delete=models.CASCADE, related_name="picks")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="learning_picks")
    rank = models.PositiveIntegerField(help_text="Serving order within the batch, 0 first.")
    reason = models.CharField(max_length=12, choices=Item.SelectionReason.choices)
    inclusion_probability = models.FloatField()
    score = models.FloatField(default=0.0, help_text="The strategy's score, for display.")
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The category a rare-category hunt or keyword seed picked the item for.",
    )
    queued = models.BooleanField(
        default=True,
        help_text="Written to the item's queue position. False: between reading the pool and "
        "saving, the item got labeled or a newer run took it.",
    )
    released_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A later run replaced the batch before anyone labeled this item.",
    )

    class Meta:
        ordering = ["run", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["run", "item"], name="pickeditem_unique_item"),
            models.UniqueConstraint(fields=["run", "rank"], name="pickeditem_unique_rank"),
            models.CheckConstraint(
                condition=Q(inclusion_probability__gt=0) & Q(inclusion_probability__lte=1),
                name="pickeditem_inclusion_probability_0_1",
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} #{self.rank}: {self.item_id} ({self.reason})"


# Label-noise review (its own module to keep this one readable); imported here so Django
# registers the models with the app.
from .models_noise import LabelIssue, NoiseRun  # noqa: E402, F401

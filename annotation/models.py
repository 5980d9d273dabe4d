"""Projects, their label schema, items, leases, annotations and the label audit log.

Invariants live in the schema: one annotation per item and annotator, unique idempotency keys,
unique external ids and hotkeys per project, non-negative queue counters. Domain rules live in
`services.py`, never in `save()` or signals.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Role(models.TextChoices):
    ANNOTATOR = "annotator", "Annotator"
    LEAD = "lead", "Lead"
    SCIENTIST = "scientist", "Scientist"


class Project(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    guidelines = models.TextField(blank=True, help_text="Markdown shown beside every item.")
    guidelines_version = models.PositiveIntegerField(default=1)
    multi_label = models.BooleanField(
        default=True, help_text="Several categories per item; off means exactly one (exclusive)."
    )
    overlap = models.PositiveSmallIntegerField(
        default=2, help_text="Independent annotations each item needs (k)."
    )
    lease_minutes = models.PositiveSmallIntegerField(
        default=10, help_text="How long an item stays reserved for an annotator without activity."
    )

    class ConsolidationRule(models.TextChoices):
        UNANIMOUS = "unanimous", "Unanimous: every annotator agrees"
        MAJORITY = "majority", "Majority (k ≥ 3): more than half agree"

    consolidation_rule = models.CharField(
        max_length=10, choices=ConsolidationRule.choices, default=ConsolidationRule.UNANIMOUS
    )
    adaptive_overlap = models.BooleanField(
        default=False,
        help_text="With k = 2, a disagreement first asks a third annotator before a lead.",
    )
    gold_question_rate = models.FloatField(
        default=0.0, help_text="Share of served items that are gold questions (0 to 0.5)."
    )
    gold_alert_threshold = models.FloatField(
        default=0.8, help_text="Gold-question accuracy below which an annotator is flagged."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(overlap__gte=1) & Q(overlap__lte=10), name="project_overlap_1_to_10"
            ),
            models.CheckConstraint(
                condition=Q(lease_minutes__gte=1) & Q(lease_minutes__lte=240),
                name="project_lease_1_to_240_minutes",
            ),
            models.CheckConstraint(
                condition=Q(gold_question_rate__gte=0) & Q(gold_question_rate__lte=0.5),
                name="project_gold_rate_0_to_half",
            ),
            models.CheckConstraint(
                condition=Q(gold_alert_threshold__gte=0) & Q(gold_alert_threshold__lte=1),
                name="project_gold_alert_0_to_1",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="categories")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    hotkey = models.CharField(max_length=1)
    order = models.PositiveSmallIntegerField(default=0)
    sensitive = models.BooleanField(
        default=False, help_text="Items in projects with sensitive categories are blurred."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["project", "order", "id"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="category_unique_name"),
            models.UniqueConstraint(fields=["project", "hotkey"], name="category_unique_hotkey"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "project"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.project} · {self.role}"


class ImportJob(models.Model):
    """One uploaded file and what became of it; items carry it as their import batch."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSONL = "jsonl", "JSON Lines"
        PARQUET = "parquet", "Parquet"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=300)
    original_name = models.CharField(max_length=300)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    file_size = models.BigIntegerField(default=0)
    format = models.CharField(max_length=10, choices=Format.choices)
    mapping = models.JSONField(default=dict, blank=True)
    skip_bad_rows = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    phase = models.CharField(max_length=30, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_processed = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_bad = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} → {self.project} ({self.status})"


class Item(models.Model):
    """A text to label.

    `open_slots` is the queue's counter: overlap minus annotations minus active leases. The
    claim query walks the partial index of items with open slots in priority order, so finished
    and fully leased items cost nothing however large the project grows.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=255)
    text = models.TextField()
    url = models.TextField(blank=True)
    title = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    prior_labels = models.JSONField(
        null=True, blank=True, help_text="Category names that came with the import, if any."
    )
    content_hash = models.CharField(max_length=64)
    import_job = models.ForeignKey(
        ImportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    priority = models.FloatField(default=0.0)
    annotation_count = models.PositiveSmallIntegerField(default=0)
    open_slots = models.SmallIntegerField(default=0)
    # Columns added after the bulk COPY paths were written carry database defaults too, so COPY
    # (which names its columns) and the ORM agree.
    extra_overlap = models.PositiveSmallIntegerField(
        default=0,
        db_default=0,
        help_text="Annotations asked beyond the project's k (adaptive overlap).",
    )

    class LabelState(models.TextChoices):
        PENDING = "pending", "Being annotated"
        ADJUDICATION = "adjudication", "Awaiting a lead"
        GOLD = "gold", "Gold label set"

    label_state = models.CharField(
        max_length=12,
        choices=LabelState.choices,
        default=LabelState.PENDING,
        db_default=LabelState.PENDING,
    )
    is_gold_question = models.BooleanField(
        default=False,
        db_default=False,
        help_text="A lead's item with a known label, mixed into every annotator's queue.",
    )

    class SelectionReason(models.TextChoices):
        RANDOM = "random", "Uniform random (import order)"
        AUDIT = "audit", "Random audit share"
        UNCERTAINTY = "uncertainty", "Model uncertainty"
        MARGIN = "margin", "Smallest margin"
        ENTROPY = "entropy", "Highest entropy"
        MULTILABEL = "multilabel", "Multi-label strategy"
        BOUNDARY = "boundary", "Category boundary"
        RARE = "rare", "Rare-category hunt"
        SEED = "seed", "Keyword seed"
        MANUAL = "manual", "Set by a lead"

    # Selection provenance (DESIGN decision 4): why the item sits where it does in the queue.
    selection_reason = models.CharField(
        max_length=12,
        choices=SelectionReason.choices,
        default=SelectionReason.RANDOM,
        db_default=SelectionReason.RANDOM,
    )
    selection_run_id = models.BigIntegerField(
        null=True, blank=True, help_text="The model run that set the priority (learning app)."
    )
    inclusion_probability = models.FloatField(
        null=True, blank=True, help_text="Probability the item was picked by its batch's design."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], name="item_unique_external_id"
            ),
            models.CheckConstraint(condition=Q(open_slots__gte=0), name="item_open_slots_nonneg"),
            models.CheckConstraint(
                condition=Q(inclusion_probability__isnull=True)
                | (Q(inclusion_probability__gt=0) & Q(inclusion_probability__lte=1)),
                name="item_inclusion_probability_0_1",
            ),
        ]
        indexes = [
            models.Index(
                "project",
                F("priority").desc(),
                "id",
                name="item_queue_idx",
                condition=Q(open_slots__gt=0),
            ),
            models.Index(fields=["project", "annotation_count"], name="item_progress_idx"),
            # The items list's id-prefix search (LIKE 'x%'): the unique index cannot serve it
            # under a non-C collation (C.UTF-8 included on PostgreSQL 15); SQLite ignores opclasses.
            models.Index(
                fields=["project", "external_id"],
                opclasses=["", "varchar_pattern_ops"],
                name="item_external_id_prefix_idx",
            ),
            models.Index(fields=["project", "label_state"], name="item_label_state_idx"),
            models.Index(
                fields=["project", "id"],
                name="item_gold_question_idx",
                condition=Q(is_gold_question=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.external_id}"


class Assignment(models.Model):
    """A lease: an item reserved for one annotator until `expires_at`."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        SUBMITTED = "submitted", "Submitted"
        SKIPPED = "skipped", "Skipped"
        RELEASED = "released", "Released"
        EXPIRED = "expired", "Expired"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    skip_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # At most one live lease per item and annotator.
            models.UniqueConstraint(
                fields=["item", "annotator"],
                condition=Q(state="active"),
                name="assignment_one_active_per_annotator",
            ),
        ]
        indexes = [
            models.Index(fields=["item", "annotator"], name="assignment_item_annotator_idx"),
            models.Index(
                fields=["project", "expires_at"],
                name="assignment_active_expiry_idx",
                condition=Q(state="active"),
            ),
            models.Index(
                fields=["annotator", "project"],
                name="assignment_active_mine_idx",
                condition=Q(state="active"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} → {self.annotator_id} ({self.state})"


class Annotation(models.Model):
    """One annotator's independent label for one item. Never edited by anyone but its author's
    undo; later stages (gold labels, adjudication) are stored separately."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="annotations")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations"
    )
    categories = models.ManyToManyField(Category, blank=True, related_name="annotations")
    none_of_these = models.BooleanField(default=False)
    unsure = models.BooleanField(default=False)
    comment = models.TextField(blank=True)
    time_spent_ms = models.PositiveIntegerField(default=0)
    idempotency_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item", "annotator"], name="annotation_one_per_annotator"
            ),
        ]
        indexes = [
            models.Index(fields=["annotator", "created_at"], name="annotation_mine_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} by {self.annotator_id}"


class LabelEvent(models.Model):
    """Append-only audit log of every label change. UPDATE and DELETE are refused by database
    triggers (migration 0002), not only by the code."""

    class Action(models.TextChoices):
        SUBMIT = "submit", "Submitted"
        UNDO = "undo", "Undone"
        GOLD = "gold", "Gold label set"
        GOLD_WITHDRAWN = "gold_withdrawn", "Gold label withdrawn"
        REOPEN = "reopen", "Reopened for adjudication"
        CASE_OPEN = "case_open", "Sent to adjudication"
        CASE_CLOSE = "case_close", "Adjudication case closed"

    project = models.ForeignKey(
        Project, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    item = models.ForeignKey(
        Item, on_delete=models.DO_NOTHING, related_name="label_events", db_constraint=False
    )
    annotation_id_ref = models.BigIntegerField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["item", "created_at"], name="labelevent_item_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.item_id} by {self.actor_id}"


class GoldLabel(models.Model):
    """The trusted label of an item. Raw annotations are never changed; a new decision (a lead's
    override, a confirmed label error) supersedes the current row, which stays as history.
    At most one current gold label per item (partial unique constraint)."""

    class Source(models.TextChoices):
        CONSENSUS = "consensus", "Annotators agreed"
        ADJUDICATION = "adjudication", "Decided by a lead"
        KNOWN = "known", "Known answer of a gold question"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="gold_labels")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="gold_labels")
    categories = models.ManyToManyField(Category, blank=True, related_name="gold_labels")
    none_of_these = models.BooleanField(default=False)
    source = models.CharField(max_length=12, choices=Source.choices)
    current = models.BooleanField(default=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rationale = models.TextField(blank=True)
    guideline_ref = models.CharField(max_length=200, blank=True)
    guidelines_version = models.PositiveIntegerField(default=1)
    annotation_ids = models.JSONField(
        default=list, blank=True, help_text="The annotations this label was consolidated from."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item"], condition=Q(current=True), name="gold_one_current_per_item"
            ),
        ]
        indexes = [
            models.Index(
                fields=["project", "created_at"],
                name="gold_current_idx",
                condition=Q(current=True),
            ),
        ]

    def __str__(self) -> str:
        return f"gold {self.item_id} ({self.source})"


class AdjudicationCase(models.Model):
    """An item waiting for a lead's decision, for one reason. Several reasons can exist per
    item (a disagreement, later a suspected label error); at most one open case per item and
    reason (partial unique constraint). Leads work the open cases by descending priority."""

    class Reason(models.TextChoices):
        DISAGREEMENT = "disagreement", "Annotators disagree"
        UNSURE = "unsure", "An annotator was unsure"
        LABEL_ERROR = "label_error", "Likely label error"
        REOPENED = "reopened", "Reopened by a lead"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved with a gold label"
        DISMISSED = "dismissed", "Dismissed"
        CANCELLED = "cancelled", "Cancelled (its cause went away)"

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="adjudication_cases"
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="adjudication_cases")
    reason = models.CharField(max_length=12, choices=Reason.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    priority = models.FloatField(default=0.0, help_text="Higher first: sensitive, rare, score.")
    details = models.JSONField(
        default=dict, blank=True, help_text="Reason-specific facts: categories, score, source."
    )
    # The categories the case is about (chosen by any annotator, or flagged by the model): the
    # queue filters on them, and a JSON lookup could not use an index (nor run on SQLite).
    categories = models.ManyToManyField(Category, blank=True, related_name="+")
    gold_label = models.ForeignKey(
        GoldLabel, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item", "reason"],
                condition=Q(status="open"),
                name="case_one_open_per_item_reason",
            ),
        ]
        indexes = [
            models.Index(
                "project",
                F("priority").desc(),
                "id",
                name="case_open_queue_idx",
                condition=Q(status="open"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason} {self.item_id} ({self.status})"


class AgreementSnapshot(models.Model):
    """Agreement and annotator-quality figures of a project, computed in the background after
    changes (never on a page view). The newest row is what pages and the API show."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="agreement_snapshots"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    data = models.JSONField(default=dict, blank=True)
    annotation_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "status", "-id"], name="agreement_latest_idx")]

    def __str__(self) -> str:
        return f"agreement {self.project_id} ({self.status})"

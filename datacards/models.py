"""Dataset versions: immutable snapshots of a project's gold labels, their rows, data cards,
curation notes and exports.

Immutability lives in the database as well as in the services: triggers (migration 0002) refuse
any change to a published version, to its rows and to the frozen fields of a draft; rows can only
be inserted while their version is freezing; curation notes are append-only. Domain rules live in
`services/`, never in `save()` or signals.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotation.models import Item, Project


class DatasetVersion(models.Model):
    """One frozen version of a project's dataset.

    Life cycle: freezing (the task copies the rows) → draft (rows and card frozen; the written
    sections may still change) → published (nothing changes any more). A freeze that fails ends
    as failed; a draft or failed version can be deleted, which removes its rows and keeps the
    version as a "deleted" tombstone so that a number is never given out twice.
    """

    class Status(models.TextChoices):
        FREEZING = "freezing", "Freezing"
        FAILED = "failed", "Failed"
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        DELETED = "deleted", "Deleted"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="The newest published version when this one was frozen (the diff baseline).",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.FREEZING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Filled by the freeze; frozen from then on (database triggers).
    started_at = models.DateTimeField(null=True, blank=True)
    frozen_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the canonical rows (= the JSONL export)."
    )
    item_count = models.PositiveIntegerField(default=0)
    annotation_count = models.PositiveIntegerField(default=0)
    guidelines_version = models.PositiveIntegerField(default=0)
    card = models.JSONField(default=dict, blank=True, help_text="Figures recorded at freeze.")
    error = models.TextField(blank=True)
    # Written by leads and scientists while draft; frozen on publish.
    summary = models.TextField(blank=True)
    motivation = models.TextField(blank=True)
    intended_use = models.TextField(blank=True)
    out_of_scope_use = models.TextField(blank=True)
    known_limitations = models.TextField(blank=True)
    license = models.CharField(
        max_length=64, blank=True, help_text="SPDX identifier (cc-by-4.0, …) or 'other'."
    )
    languages = models.CharField(
        max_length=200, blank=True, help_text="Comma-separated ISO 639-1 codes (en, de, …)."
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_by_name = models.CharField(max_length=150, blank=True)
    published_note_id = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="The newest curation note at publication: exports carry notes up to it.",
    )

    SECTION_FIELDS = (
        "summary",
        "motivation",
        "intended_use",
        "out_of_scope_use",
        "known_limitations",
        "license",
        "languages",
    )

    class Meta:
        ordering = ["project", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="version_unique_number"),
            # One freeze at a time per project: numbers, pseudonyms and the parent stay simple.
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status="freezing"),
                name="version_one_freezing_per_project",
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="version_number_positive"),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="version_published_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} v{self.number} ({self.status})"

    @property
    def has_rows(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.PUBLISHED)


class VersionItem(models.Model):
    """One frozen row of a version: the item, its gold label, its annotations (pseudonymised),
    its soft label distribution and its selection provenance.

    Nested values are stored as canonical JSON text (sorted keys, compact), so the bytes read
    back are the bytes written on SQLite and PostgreSQL alike, and exports rebuild the exact
    canonical row the content hash was computed from.
    """

    # No database foreign key and no index of its own: the insert trigger checks, once per COPY
    # batch, that every row's version exists and is freezing (a per-row deferred FK check
    # cost more than the COPY at a million rows), and the unique index (migration 0003) starts
    # with version_id.
    version = models.ForeignKey(
        DatasetVersion,
        on_delete=models.CASCADE,
        related_name="rows",
        db_constraint=False,
        db_index=False,
    )
    item_id = models.BigIntegerField(help_text="The project item (no foreign key: items may go).")
    external_id = models.CharField(max_length=255)
    text = models.TextField()
    url = models.TextField(blank=True)
    title = models.TextField(blank=True)
    metadata_json = models.TextField(default="{}")
    item_content_hash = models.CharField(max_length=64)
    labels_json = models.TextField(help_text="Gold category names, sorted: a JSON list.")
    none_of_these = models.BooleanField(default=False)
    gold_source = models.CharField(max_length=12)
    gold_decided_by = models.CharField(max_length=16, blank=True, help_text="Pseudonym.")
    # Canonical UTC text (2026-03-01T12:00:00.000000Z): read back and exported without parsing.
    gold_decided_at = models.CharField(max_length=27)
    gold_rationale = models.TextField(blank=True)
    gold_guideline_ref = models.CharField(max_length=200, blank=True)
    gold_guidelines_version = models.PositiveIntegerField(default=1)
    annotations_json = models.TextField(default="[]")
    soft_labels_json = models.TextField(default="null")
    soft_none_of_these = models.FloatField(null=True, blank=True)
    selection_reason = models.CharField(max_length=12, choices=Item.SelectionReason.choices)
    selection_run_id = models.BigIntegerField(null=True, blank=True)
    inclusion_probability = models.FloatField(
        null=True, blank=True, help_text="π as recorded when the model run picked the item."
    )
    # The effective inclusion probability is 1 / weight; f = 1 / (π · weight).
    weight = models.FloatField(
        default=1.0,
        help_text="1 / (π · f), f the labeled fraction of the item's batch (1 without π).",
    )

    # The unique index on (version, external_id) is made by migration 0003 per database: on
    # PostgreSQL with COLLATE "C" (byte order = code point order), which is the canonical row
    # order of the content hash and of every export, so those read it without sorting.

    def __str__(self) -> str:
        return f"v{self.version_id}:{self.external_id}"


class AnnotatorPseudonym(models.Model):
    """A stable pseudonym (A001, A002, …) per project and person, given at the first freeze that
    meets them and never changed: exports and cards name annotators only by these."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=16)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="pseudonym_unique_user"),
            models.UniqueConstraint(fields=["project", "code"], name="pseudonym_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.code}"


class CurationNote(models.Model):
    """An append-only log entry attached to a version (allowed on published versions: notes do
    not change the version's rows or hash). The database refuses UPDATE, and DELETE except of a
    draft's notes together with the draft."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The name as it was when written: exports of the version must not change with a rename.
    author_name = models.CharField(max_length=150)
    text = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["version", "id"]

    def __str__(self) -> str:
        return f"note {self.pk} on {self.version_id}"


class ExportJob(models.Model):
    """One export of a published version to a file, made by a Celery task with progress. The
    same version and options always give the same bytes, so a finished job is reused."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSONL = "jsonl", "JSON Lines"
        PARQUET = "parquet", "Parquet"
        HF = "hf", "Hugging Face folder (zip)"

    class Split(models.TextChoices):
        NONE = "none", "One file, no splits"
        TRAIN_TEST = "train_test", "Stratified train/test, near-duplicates kept together"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="exports")
    format = models.CharField(max_length=8, choices=Format.choices)
    split = models.CharField(max_length=12, choices=Split.choices, default=Split.NONE)
    test_fraction = models.FloatField(default=0.2)
    seed = models.IntegerField(default=0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    phase = models.CharField(max_length=30, blank=True)
    progress = models.FloatField(default=0.0, help_text="Fraction of the rows written.")
    file = models.FileField(upload_to="datacards/exports/", max_length=300, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    file_size = models.BigIntegerField(default=0)
    file_sha256 = models.CharField(max_length=64, blank=True)
    split_counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(test_fraction__gt=0) & Q(test_fraction__lt=1),
                name="export_test_fraction_0_1",
            ),
        ]
        indexes = [models.Index(fields=["version", "-id"], name="export_version_idx")]

    def __str__(self) -> str:
        return f"export {self.pk} of {self.version_id} ({self.format}, {self.status})"

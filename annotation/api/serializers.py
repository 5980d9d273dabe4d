"""Request parsers and response shapes of the API.

Input serializers only parse and type-check; every domain rule (ranges, reserved hotkeys,
label validity, idempotency) is the services' job, so the API and the pages give the same
messages. Output serializers never include another annotator's labels.
"""

import json
from urllib.parse import urlsplit

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Annotation, Category, ImportJob, Item, Project
from ..selectors import ITEM_STATES, import_job_progress

MAX_IDS_PER_REQUEST = 100
MAX_ROWS_PER_REQUEST = 10_000


# --- projects and categories ------------------------------------------------------------------


class ProjectSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(
        help_text="Your role: annotator, lead, scientist, or admin (superuser, no membership)."
    )

    class Meta:
        model = Project
        fields = [
            "id", "slug", "name", "description", "guidelines", "guidelines_version",
            "multi_label", "overlap", "lease_minutes", "consolidation_rule", "adaptive_overlap",
            "gold_question_rate", "gold_alert_threshold", "role", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_role(self, obj) -> str:
        role = getattr(obj, "role", None) or self.context.get("role")
        return role or "admin"


class ProjectCreateSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    slug = serializers.CharField(required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    guidelines = serializers.CharField(required=False, allow_blank=True, default="")
    multi_label = serializers.BooleanField(required=False, default=True)
    overlap = serializers.IntegerField(required=False, default=2)
    lease_minutes = serializers.IntegerField(required=False, default=10)
    categories = serializers.ListField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        default=list,
        help_text="Initial category names; hotkeys are assigned 1–9, then letters.",
    )


class ProjectUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    description = serializers.CharField(required=False, allow_blank=True)
    guidelines = serializers.CharField(required=False, allow_blank=True)
    multi_label = serializers.BooleanField(required=False)
    overlap = serializers.IntegerField(required=False)
    lease_minutes = serializers.IntegerField(required=False)
    consolidation_rule = serializers.ChoiceField(
        choices=Project.ConsolidationRule.choices,
        required=False,
        help_text="majority needs overlap ≥ 3.",
    )
    adaptive_overlap = serializers.BooleanField(
        required=False, help_text="Only with overlap 2: a disagreement asks a third annotator."
    )
    gold_question_rate = serializers.FloatField(required=False, help_text="0 to 0.5.")
    gold_alert_threshold = serializers.FloatField(required=False, help_text="0 to 1.")


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "description", "hotkey", "order", "sensitive", "active"]
        read_only_fields = fields


class CategoryCreateSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    hotkey = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Empty: the next free key."
    )
    order = serializers.IntegerField(required=False, allow_null=True, default=None)
    sensitive = serializers.BooleanField(required=False, default=False)


class CategoryUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    hotkey = serializers.CharField(required=False, allow_blank=True)
    order = serializers.IntegerField(required=False)
    sensitive = serializers.BooleanField(required=False)
    active = serializers.BooleanField(required=False)


# --- items and imports ------------------------------------------------------------------------


class ItemSerializer(serializers.ModelSerializer):
    """An item as leads and scientists see it: content and progress counts, no labels."""

    state = serializers.SerializerMethodField()

    class Meta:
        model = Item
        fields = [
            "id", "external_id", "text", "url", "title", "metadata", "prior_labels",
            "import_job", "priority", "annotation_count", "state", "label_state",
            "is_gold_question", "selection_reason", "inclusion_probability", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_state(self, obj) -> str:
        """Annotation progress (`label_state` says what consolidation made of it)."""
        if obj.annotation_count == 0:
            return "unlabeled"
        needed = self.context["overlap"] + obj.extra_overlap
        return "complete" if obj.annotation_count >= needed else "in_progress"


class ItemListQuerySerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=ITEM_STATES, required=False)
    external_id = serializers.CharField(required=False)
    import_job = serializers.IntegerField(required=False, min_value=1)


class ImportJobSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportJob
        fields = [
            "id", "status", "phase", "original_name", "format", "file_size", "skip_bad_rows",
            "rows_total", "rows_processed", "rows_imported", "rows_unchanged", "rows_bad",
            "message", "created_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields


class ImportProgressSerializer(serializers.Serializer):
    status = serializers.CharField()
    phase = serializers.CharField()
    rows_processed = serializers.IntegerField()
    rows_total = serializers.IntegerField()
    percent = serializers.FloatField()


class ImportJobSerializer(ImportJobSummarySerializer):
    """A job with its mapping, the bad rows ({"line", "reason"}, at most the kept ones) and
    its live progress (while it runs, the row's counters are only written at the end)."""

    progress = serializers.SerializerMethodField()

    class Meta(ImportJobSummarySerializer.Meta):
        fields = [*ImportJobSummarySerializer.Meta.fields, "mapping", "errors", "progress"]
        read_only_fields = fields

    @extend_schema_field(ImportProgressSerializer)
    def get_progress(self, obj) -> dict:
        return import_job_progress(job=obj)


class ImportFileSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV, JSONL or Parquet.")
    mapping = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text='JSON object, e.g. {"id": "doc_id", "text": "body", "metadata": "*"}.',
    )
    skip_bad_rows = serializers.BooleanField(required=False, default=False)
    format = serializers.ChoiceField(
        choices=ImportJob.Format.choices,
        required=False,
        help_text="Only when the file name's extension does not tell.",
    )

    def validate_mapping(self, value: str) -> dict | None:
        if not value.strip():
            return None
        try:
            mapping = json.loads(value)
        except ValueError as exc:
            raise serializers.ValidationError(f"mapping is not valid JSON: {exc}.") from None
        if not isinstance(mapping, dict):
            raise serializers.ValidationError("mapping must be a JSON object.")
        return mapping


class ImportRowsSerializer(serializers.Serializer):
    items = serializers.ListField(
        child=serializers.DictField(),
        allow_empty=False,
        max_length=MAX_ROWS_PER_REQUEST,
        help_text='Rows like {"id": "a1", "text": "…", "url": "…", "title": "…", '
        '"labels": [...], "metadata": {...}}.',
    )
    skip_bad_rows = serializers.BooleanField(required=False, default=False)
    mapping = serializers.DictField(
        required=False, allow_null=True, default=None, help_text="As for a file import."
    )


# --- the queue and annotations ----------------------------------------------------------------


class AnnotatorItemSerializer(serializers.ModelSerializer):
    """What an annotator sees of an item: its content only (blind labeling)."""

    domain = serializers.SerializerMethodField()

    class Meta:
        model = Item
        fields = ["id", "external_id", "text", "url", "domain", "title", "metadata"]
        read_only_fields = fields

    def get_domain(self, obj) -> str:
        return _domain(obj.url)

    def to_representation(self, instance) -> dict:
        return annotator_item_payload(instance)


def _domain(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "") if url else ""
    except ValueError:
        return ""


# The queue's responses (claim, submit) are built as plain dicts by the functions below: they are
# the API's hottest path, and DRF builds a ModelSerializer's fields anew for every instance, which
# cost more CPU than the whole claim (bench/queue_profile.py). The serializer classes keep the
# OpenAPI schema, and their to_representation delegates here so both always agree.
_DATETIME = serializers.DateTimeField()


def annotator_item_payload(item: Item) -> dict:
    return {
        "id": item.pk,
        "external_id": item.external_id,
        "text": item.text,
        "url": item.url,
        "domain": _domain(item.url),
        "title": item.title,
        "metadata": item.metadata,
    }


class ClaimSerializer(serializers.Serializer):
    item = AnnotatorItemSerializer()
    lease_expires_at = serializers.DateTimeField(source="assignment.expires_at")

    def to_representation(self, instance) -> dict:
        return {
            "item": annotator_item_payload(instance.item),
            "lease_expires_at": _DATETIME.to_representation(instance.assignment.expires_at),
        }


class NextRequestSerializer(serializers.Serializer):
    exclude = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        default=list,
        max_length=MAX_IDS_PER_REQUEST,
        help_text="Item ids the client already shows or prefetched.",
    )


class ItemIdsSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.IntegerField(), max_length=MAX_IDS_PER_REQUEST)


class HeldSerializer(serializers.Serializer):
    held = serializers.ListField(child=serializers.IntegerField())


class ReleasedSerializer(serializers.Serializer):
    released = serializers.IntegerField()


class SkipRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, trim_whitespace=False)


class SkippedSerializer(serializers.Serializer):
    item = serializers.IntegerField(source="item_id")
    state = serializers.CharField()
    skip_reason = serializers.CharField()


class SubmitRequestSerializer(serializers.Serializer):
    categories = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, max_length=200
    )
    none_of_these = serializers.BooleanField(required=False, default=False)
    unsure = serializers.BooleanField(required=False, default=False)
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False
    )
    time_spent_ms = serializers.IntegerField(required=False, default=0, min_value=0)
    idempotency_key = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="8–64 of A-Z a-z 0-9 - _; or send it in the Idempotency-Key header.",
    )


class CategoryRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AnnotationSerializer(serializers.ModelSerializer):
    """One of the requesting user's own annotations."""

    project = serializers.CharField(source="item.project.slug")
    item = serializers.IntegerField(source="item_id")
    item_external_id = serializers.CharField(source="item.external_id")
    categories = serializers.SerializerMethodField()

    class Meta:
        model = Annotation
        fields = [
            "id", "project", "item", "item_external_id", "categories", "none_of_these",
            "unsure", "comment", "time_spent_ms", "idempotency_key", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(CategoryRefSerializer(many=True))
    def get_categories(self, obj) -> list[dict]:
        return _category_refs(obj)

    def to_representation(self, instance) -> dict:
        return {
            "id": instance.pk,
            "project": instance.item.project.slug,
            "item": instance.item_id,
            "item_external_id": instance.item.external_id,
            "categories": _category_refs(instance),
            "none_of_these": instance.none_of_these,
            "unsure": instance.unsure,
            "comment": instance.comment,
            "time_spent_ms": instance.time_spent_ms,
            "idempotency_key": instance.idempotency_key,
            "created_at": _DATETIME.to_representation(instance.created_at),
        }


def _category_refs(annotation: Annotation) -> list[dict]:
    """Sorted by id so a replayed submit returns the same body. A submit that just stored the
    annotation hands over its categories (`category_refs`: (id, name) pairs) and saves a query;
    lists use the selector's prefetch through .all()."""
    refs = getattr(annotation, "category_refs", None)
    if refs is None:
        refs = [(c.pk, c.name) for c in annotation.categories.all()]
    return [{"id": pk, "name": name} for pk, name in sorted(refs)]


class UndoneSerializer(serializers.Serializer):
    item = AnnotatorItemSerializer()
    previous = serializers.DictField(help_text="The withdrawn label, to pre-fill the form.")


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    code = serializers.CharField()

"""Request parsers and response shapes of the label-noise API. Input serializers only parse;
the services own the rules (known categories, required rationale, closed issues), so the API
and the pages give the same messages."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotation.api.serializers import CategoryRefSerializer
from annotation.api.serializers_adjudication import GoldLabelSerializer

from ..models import LabelIssue, NoiseRun

MAX_CATEGORIES = 200
NOISE_RUN_FIELDS = [
    "number", "status", "trigger", "requested_by", "model_run", "gold_count", "flagged_count",
    "raised_count", "phase", "progress", "error", "created_at", "started_at", "finished_at",
]  # fmt: skip


class NoiseRunSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    model_run = serializers.SerializerMethodField(help_text="Number of the model run it followed.")
    error = serializers.CharField(
        read_only=True, help_text="Why it failed, or what a 'not enough data' check needs."
    )

    class Meta:
        model = NoiseRun
        fields = NOISE_RUN_FIELDS
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_model_run(self, obj: NoiseRun) -> int | None:
        return obj.model_run.number if obj.model_run_id else None


class NoiseRunDetailSerializer(NoiseRunSerializer):
    figures = serializers.SerializerMethodField(
        help_text="Flagged, outcomes of raising issues, classes left out, annotator quality."
    )

    class Meta:
        model = NoiseRun
        fields = [*NOISE_RUN_FIELDS, "categories", "features", "parameters", "seed", "figures",
                  "timings"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.DictField())
    def get_figures(self, obj: NoiseRun) -> dict:
        """Annotators are numbered, not named, for readers who are not leads."""
        figures = dict(obj.figures or {})
        annotators = figures.get("annotators")
        if self.context.get("names") or not annotators or "annotators" not in annotators:
            return figures
        numbered = [
            {**a, "username": f"Annotator {j + 1}"} for j, a in enumerate(annotators["annotators"])
        ]
        return {**figures, "annotators": {**annotators, "annotators": numbered}}


class NoiseRequestResultSerializer(serializers.Serializer):
    created = serializers.BooleanField(help_text="False: a check was already queued or running.")
    run = NoiseRunSerializer()


class LabelIssueSerializer(serializers.ModelSerializer):
    item = serializers.IntegerField(source="item_id", read_only=True)
    external_id = serializers.CharField(source="item.external_id", read_only=True)
    title = serializers.CharField(source="item_title", default="", read_only=True)
    text_snippet = serializers.CharField(source="item_snippet", default="", read_only=True)
    run = serializers.IntegerField(source="run.number", read_only=True)
    given_names = serializers.SerializerMethodField()
    suggested_names = serializers.SerializerMethodField()
    suspected = serializers.SerializerMethodField()
    case_status = serializers.CharField(source="case.status", default=None, read_only=True)
    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = LabelIssue
        fields = [
            "id", "item", "external_id", "title", "text_snippet", "run", "gold_label", "given",
            "given_names", "suspected", "suggested", "suggested_names", "suggested_none",
            "quality", "per_category_quality", "method", "status", "resolution", "case",
            "case_status", "reviewed_by", "reviewed_at", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def _names(self, ids) -> list[str]:
        names = self.context.get("category_names", {})
        return [names.get(c, f"#{c}") for c in ids]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_given_names(self, obj: LabelIssue) -> list[str]:
        return self._names(obj.given)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_suggested_names(self, obj: LabelIssue) -> list[str]:
        return self._names(obj.suggested)

    @extend_schema_field(CategoryRefSerializer(many=True))
    def get_suspected(self, obj: LabelIssue) -> list[dict]:
        return CategoryRefSerializer(obj.suspected_categories.all(), many=True).data


# The issue list's status filter (named in SPECTACULAR_SETTINGS' ENUM_NAME_OVERRIDES).
ISSUE_STATUS_FILTER = [*LabelIssue.Status.choices, ("all", "All")]


class LabelIssueListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ISSUE_STATUS_FILTER, required=False, default="all")
    category = serializers.IntegerField(
        required=False, min_value=1, help_text="Issues suspecting this category."
    )
    run = serializers.IntegerField(required=False, min_value=1, help_text="Raised by check n.")


class ConfirmRequestSerializer(serializers.Serializer):
    categories = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        allow_null=True,
        default=None,
        max_length=MAX_CATEGORIES,
        help_text="The new label's category ids; omitted or null: the suggested label.",
    )
    none_of_these = serializers.BooleanField(required=False, default=False)
    rationale = serializers.CharField(
        allow_blank=True, required=False, default="", trim_whitespace=False
    )
    guideline_ref = serializers.CharField(allow_blank=True, required=False, default="")


class DismissRequestSerializer(serializers.Serializer):
    note = serializers.CharField(allow_blank=True, required=False, default="")


class ReviewedSerializer(serializers.Serializer):
    issue = LabelIssueSerializer()
    gold = GoldLabelSerializer(allow_null=True, help_text="The new gold label of a confirmation.")


class NoiseSummarySerializer(serializers.Serializer):
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Issues by status.")
    precision = serializers.DictField(
        help_text="Share of reviewed flags leads confirmed: value, low, high (Wilson 95 %), n."
    )
    latest = NoiseRunSerializer(allow_null=True)

"""Request parsers and response shapes of the consolidation and adjudication API.

Input serializers only parse; the services own the rules (known categories, required rationale,
closed cases), so the API and the pages give the same messages. Annotators never reach these
shapes: they carry other annotators' labels (as letters unless a lead asks for names).
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import AdjudicationCase, GoldLabel, Item
from .serializers import CategoryRefSerializer

MAX_CATEGORIES = 200


class GoldLabelSerializer(serializers.ModelSerializer):
    categories = serializers.SerializerMethodField()
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = GoldLabel
        fields = [
            "id", "source", "current", "categories", "none_of_these", "decided_by", "rationale",
            "guideline_ref", "guidelines_version", "annotation_ids", "created_at",
            "superseded_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(CategoryRefSerializer(many=True))
    def get_categories(self, obj) -> list[dict]:
        return CategoryRefSerializer(obj.categories.all(), many=True).data


class CaseItemSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="item_id")
    external_id = serializers.CharField(source="item.external_id")
    label_state = serializers.CharField(source="item.label_state")
    title = serializers.CharField(source="item_title", default="")
    text_snippet = serializers.CharField(source="item_snippet", default="")


class CaseSerializer(serializers.ModelSerializer):
    """A case in the queue (item content as a snippet only)."""

    item = CaseItemSerializer(source="*")
    categories = serializers.SerializerMethodField(help_text="What the case is about.")
    closed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = AdjudicationCase
        fields = [
            "id", "item", "reason", "status", "priority", "categories", "details",
            "gold_label", "note", "closed_by", "created_at", "closed_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(CategoryRefSerializer(many=True))
    def get_categories(self, obj) -> list[dict]:
        return CategoryRefSerializer(obj.categories.all(), many=True).data


class CaseRowSerializer(CaseSerializer):
    """A case of one item (no item part: the item is the response's subject)."""

    class Meta(CaseSerializer.Meta):
        fields = [f for f in CaseSerializer.Meta.fields if f != "item"]
        read_only_fields = fields


class CaseListQuerySerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=AdjudicationCase.Reason.choices, required=False)
    category = serializers.IntegerField(required=False, min_value=1)
    status = serializers.ChoiceField(
        choices=[*AdjudicationCase.Status.choices, ("all", "All")],
        required=False,
        default=AdjudicationCase.Status.OPEN,
    )


class ItemContentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = [
            "id", "external_id", "text", "url", "title", "metadata", "label_state",
            "is_gold_question", "annotation_count", "extra_overlap",
        ]  # fmt: skip
        read_only_fields = fields


class LetteredAnnotationSerializer(serializers.Serializer):
    annotator = serializers.CharField(source="letter", help_text="A, B, C … in labeling order.")
    name = serializers.SerializerMethodField(help_text="Username, only with ?names=1.")
    id = serializers.IntegerField(source="annotation.pk")
    categories = CategoryRefSerializer(many=True)
    none_of_these = serializers.BooleanField(source="annotation.none_of_these")
    unsure = serializers.BooleanField(source="annotation.unsure")
    comment = serializers.CharField(source="annotation.comment")
    time_spent_ms = serializers.IntegerField(source="annotation.time_spent_ms")
    created_at = serializers.DateTimeField(source="annotation.created_at")

    def get_name(self, obj) -> str | None:
        return obj.annotator if self.context.get("names") else None


class CaseDetailSerializer(serializers.Serializer):
    case = CaseRowSerializer()
    item = ItemContentSerializer(source="state.item")
    annotations = LetteredAnnotationSerializer(source="state.annotations", many=True)
    gold = GoldLabelSerializer(source="state.gold", allow_null=True)
    open_cases = CaseRowSerializer(source="state.open_cases", many=True)


class ItemGoldSerializer(serializers.Serializer):
    """An item's consolidation state (leads and scientists): no per-annotator labels."""

    item = serializers.IntegerField(source="item.pk")
    external_id = serializers.CharField(source="item.external_id")
    label_state = serializers.CharField(source="item.label_state")
    is_gold_question = serializers.BooleanField(source="item.is_gold_question")
    annotation_count = serializers.IntegerField(source="item.annotation_count")
    annotations_needed = serializers.SerializerMethodField(
        help_text="The project's overlap k plus any extra annotator adaptive overlap asked for."
    )
    gold = GoldLabelSerializer(allow_null=True)
    history = GoldLabelSerializer(many=True, help_text="Every gold label, newest first.")
    cases = CaseRowSerializer(many=True)

    def get_annotations_needed(self, obj) -> int:
        return self.context["overlap"] + obj.item.extra_overlap


class LabelRequestSerializer(serializers.Serializer):
    categories = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, max_length=MAX_CATEGORIES
    )
    none_of_these = serializers.BooleanField(required=False, default=False)


class DecideRequestSerializer(LabelRequestSerializer):
    rationale = serializers.CharField(
        allow_blank=True, required=False, default="", trim_whitespace=False
    )
    guideline_ref = serializers.CharField(allow_blank=True, required=False, default="")


class DecidedSerializer(serializers.Serializer):
    gold = GoldLabelSerializer()
    resolved_cases = serializers.SerializerMethodField(help_text="Every case the decision closed.")

    def get_resolved_cases(self, obj) -> list[int]:
        return [c.pk for c in obj.cases]


class NoteRequestSerializer(serializers.Serializer):
    note = serializers.CharField(allow_blank=True, required=False, default="")


class GoldQuestionRequestSerializer(LabelRequestSerializer):
    is_gold_question = serializers.BooleanField(
        help_text="true: mark (or change the known label); false: stop using as a gold question."
    )

"""Request parsers and response shapes of the learning API. Input serializers only parse and
type-check; the services own the rules, so the API and the pages give the same messages."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import LearningConfig, ModelRun, PickedItem
from ..services.config import EDITABLE_FIELDS

RUN_FIELDS = [
    "number", "status", "trigger", "mode", "requested_by", "gold_count", "pool_size",
    "picked_count", "phase", "progress", "macro_f1", "micro_f1", "error", "created_at",
    "started_at", "picks_saved_at", "finished_at",
]  # fmt: skip


class ModelRunSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    macro_f1 = serializers.SerializerMethodField()
    micro_f1 = serializers.SerializerMethodField()

    class Meta:
        model = ModelRun
        fields = RUN_FIELDS
        read_only_fields = fields

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_macro_f1(self, obj: ModelRun) -> float | None:
        return obj.metrics.get("macro_f1")

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_micro_f1(self, obj: ModelRun) -> float | None:
        return obj.metrics.get("micro_f1")


class ReasonSummarySerializer(serializers.Serializer):
    reason = serializers.CharField()
    picked = serializers.IntegerField()
    queued = serializers.IntegerField()
    labeled = serializers.IntegerField()
    released = serializers.IntegerField()
    inclusion_sum = serializers.FloatField()


class ModelRunDetailSerializer(ModelRunSerializer):
    pick_summary = serializers.SerializerMethodField()

    class Meta:
        model = ModelRun
        fields = [
            *RUN_FIELDS, "categories", "features", "parameters", "seed", "metrics", "timings",
            "artifact_size", "pick_summary",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(ReasonSummarySerializer(many=True))
    def get_pick_summary(self, obj: ModelRun) -> list[dict]:
        return ReasonSummarySerializer(self.context.get("summary", []), many=True).data


class RetrainResultSerializer(serializers.Serializer):
    created = serializers.BooleanField(help_text="False: a run was already queued or running.")
    run = ModelRunSerializer()


class PickedItemSerializer(serializers.ModelSerializer):
    external_id = serializers.CharField(source="item.external_id", read_only=True)
    label_state = serializers.CharField(source="item.label_state", read_only=True)
    annotation_count = serializers.IntegerField(source="item.annotation_count", read_only=True)

    class Meta:
        model = PickedItem
        fields = [
            "rank", "item", "external_id", "reason", "inclusion_probability", "score", "queued",
            "released_at", "label_state", "annotation_count",
        ]  # fmt: skip
        read_only_fields = fields


class LearningConfigSerializer(serializers.ModelSerializer):
    class Meta:
        model = LearningConfig
        fields = [*EDITABLE_FIELDS, "audit_floor", "updated_at"]
        read_only_fields = fields


class LearningConfigUpdateSerializer(serializers.Serializer):
    """PUT needs every field; PATCH any of them."""

    enabled = serializers.BooleanField()
    retrain_every_labels = serializers.IntegerField()
    retrain_every_minutes = serializers.IntegerField()
    batch_size = serializers.IntegerField()
    min_gold_labels = serializers.IntegerField()
    share_uncertainty = serializers.FloatField()
    share_margin = serializers.FloatField()
    share_entropy = serializers.FloatField()
    share_multilabel = serializers.FloatField()
    share_boundary = serializers.FloatField()
    share_rare = serializers.FloatField()
    share_audit = serializers.FloatField()
    hashing = serializers.BooleanField()
    url_tokens = serializers.BooleanField()
    seed = serializers.IntegerField()


class SeedSerializer(serializers.Serializer):
    category_id = serializers.IntegerField()
    category = serializers.CharField(read_only=True)
    keywords = serializers.ListField(child=serializers.CharField(allow_blank=True))


class SeedsUpdateSerializer(serializers.Serializer):
    seeds = SeedSerializer(many=True, help_text="Categories left out get no seeds.")

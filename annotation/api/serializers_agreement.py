"""Response shapes of the agreement and annotator-quality endpoints.

They describe the stored snapshot document (annotation/services/agreement) for the OpenAPI
schema and serialize it as it is: numbers are floats or null, never NaN; a null value comes
with a `reason` ("not enough data: …", "no variation: …").
"""

from rest_framework import serializers


class EstimateSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(allow_null=True, help_text="Lower bound of the 95% bootstrap CI.")
    high = serializers.FloatField(allow_null=True, help_text="Upper bound of the 95% bootstrap CI.")
    reason = serializers.CharField(allow_blank=True, help_text="Why value is null (else empty).")


class MetricsSerializer(serializers.Serializer):
    alpha = EstimateSerializer(help_text="Krippendorff's alpha (nominal).")
    ac1 = EstimateSerializer(help_text="Gwet's AC1.")
    cohen = EstimateSerializer(help_text="Cohen's kappa per annotator pair, averaged.")
    fleiss = EstimateSerializer(help_text="Fleiss' kappa.")
    positive = EstimateSerializer(help_text="Positive-specific agreement.")
    negative = EstimateSerializer(help_text="Negative-specific agreement.")
    percent = EstimateSerializer(help_text="Percent agreement over annotator pairs.")


class TableSerializer(serializers.Serializer):
    """A 2×2 table (rows: first rater yes/no; columns: second rater or reference yes/no)."""

    n = serializers.IntegerField()
    n11 = serializers.IntegerField()
    n10 = serializers.IntegerField()
    n01 = serializers.IntegerField()
    n00 = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True)
    kappa = serializers.FloatField(allow_null=True, help_text="Cohen's kappa of the table.")
    positive = serializers.FloatField(allow_null=True, help_text="Positive-specific agreement.")


class PooledSerializer(serializers.Serializer):
    both_yes = serializers.IntegerField()
    one_yes = serializers.IntegerField()
    both_no = serializers.IntegerField()
    pairs = serializers.IntegerField(help_text="Annotator pairs of labels on shared items.")
    percent = serializers.FloatField(allow_null=True)


class PairTableSerializer(TableSerializer):
    a = serializers.CharField(help_text="First annotator's username.")
    b = serializers.CharField(help_text="Second annotator's username.")


class CategorySerializer(serializers.Serializer):
    key = serializers.CharField(help_text='"c<category id>", or "none" for None of these.')
    name = serializers.CharField()
    category_id = serializers.IntegerField(allow_null=True)
    kind = serializers.ChoiceField(choices=["category", "none"])
    active = serializers.BooleanField()
    n_items = serializers.IntegerField(help_text="Items with at least one label.")
    n_pairable_items = serializers.IntegerField(help_text="Items with two or more labels.")
    n_positive = serializers.IntegerField(help_text="Labels choosing this class.")
    prevalence = serializers.FloatField(allow_null=True)
    metrics = MetricsSerializer()
    pooled = PooledSerializer(help_text="All annotator pairs on shared items, pooled.")
    pairs = PairTableSerializer(
        many=True, required=False, help_text="Per annotator pair (leads only)."
    )


class SnapshotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    annotation_count = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)


class SetLevelSerializer(serializers.Serializer):
    n_items = serializers.IntegerField()
    jaccard = EstimateSerializer(help_text="Set-level alpha, Jaccard distance.")
    masi = EstimateSerializer(required=False, help_text="Set-level alpha, MASI (multi-label).")


class AgreementSerializer(serializers.Serializer):
    snapshot = SnapshotSerializer(allow_null=True, help_text="The newest finished snapshot.")
    newer = SnapshotSerializer(
        allow_null=True, help_text="A newer snapshot pending, running or failed, if any."
    )
    multi_label = serializers.BooleanField(allow_null=True)
    counts = serializers.DictField(child=serializers.IntegerField())
    categories = CategorySerializer(many=True)
    set_level = SetLevelSerializer(
        allow_null=True,
        help_text="Alpha over whole label sets (single-label: nominal alpha over classes).",
    )


class PeersSerializer(serializers.Serializer):
    pairs = serializers.IntegerField(help_text="(item, peer) pairs compared.")
    exact = serializers.FloatField(allow_null=True, help_text="Share with the identical label.")
    mean_kappa = serializers.FloatField(allow_null=True)
    per_class = serializers.DictField(child=TableSerializer())


class GoldSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    adjudicated = serializers.IntegerField()
    exact = serializers.FloatField(allow_null=True)
    mean_kappa = serializers.FloatField(allow_null=True)
    per_class = serializers.DictField(child=TableSerializer())


class GoldQuestionClassSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    correct = serializers.IntegerField()
    accuracy = serializers.FloatField(allow_null=True)
    gold_positives = serializers.IntegerField()
    found = serializers.IntegerField()
    recall = serializers.FloatField(allow_null=True)
    alert = serializers.BooleanField()


class GoldQuestionsSerializer(serializers.Serializer):
    n = serializers.IntegerField(help_text="Gold questions answered.")
    unanswered = serializers.IntegerField(help_text="Answered unsure without a label.")
    correct = serializers.IntegerField()
    accuracy = serializers.FloatField(allow_null=True, help_text="Whole label correct.")
    enough = serializers.BooleanField(help_text="Enough answers to raise an alert.")
    alert = serializers.BooleanField()
    alert_exact = serializers.BooleanField()
    alert_classes = serializers.ListField(child=serializers.CharField())
    per_class = serializers.DictField(child=GoldQuestionClassSerializer())


class AnnotatorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    annotations = serializers.IntegerField()
    gold_question_annotations = serializers.IntegerField()
    median_time_ms = serializers.FloatField(allow_null=True)
    skips = serializers.IntegerField()
    skip_rate = serializers.FloatField(allow_null=True)
    peers = PeersSerializer()
    gold = GoldSerializer()
    gold_questions = GoldQuestionsSerializer()


class AnnotatorListSerializer(serializers.Serializer):
    snapshot = SnapshotSerializer(allow_null=True)
    gold_alert_threshold = serializers.FloatField()
    annotators = AnnotatorSerializer(many=True)

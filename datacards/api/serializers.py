"""Response shapes and request parsers of the versions API. Input serializers only parse;
every rule (status, ranges, formats) is the services' job, so pages and API say the same."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import CurationNote, DatasetVersion, ExportJob


class VersionSummarySerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    parent = serializers.SerializerMethodField()

    class Meta:
        model = DatasetVersion
        fields = [
            "number", "status", "parent", "created_by", "created_at", "frozen_at",
            "published_at", "published_by_name", "content_hash", "item_count",
            "annotation_count", "guidelines_version", "error",
        ]  # fmt: skip
        read_only_fields = fields

    def get_parent(self, obj) -> int | None:
        return obj.parent.number if obj.parent_id else None


class VersionDetailSerializer(VersionSummarySerializer):
    sections = serializers.SerializerMethodField()
    card = serializers.JSONField(read_only=True, help_text="Figures recorded at freeze.")
    progress = serializers.SerializerMethodField()

    class Meta(VersionSummarySerializer.Meta):
        fields = [*VersionSummarySerializer.Meta.fields, "sections", "card", "progress"]
        read_only_fields = fields

    def get_sections(self, obj) -> dict:
        return {name: getattr(obj, name) for name in DatasetVersion.SECTION_FIELDS}

    @extend_schema_field(serializers.DictField())
    def get_progress(self, obj) -> dict:
        return self.context.get("progress") or {}


class SectionsSerializer(serializers.Serializer):
    summary = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    motivation = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    intended_use = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    out_of_scope_use = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False
    )
    known_limitations = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False
    )
    license = serializers.CharField(required=False, allow_blank=True)
    languages = serializers.CharField(required=False, allow_blank=True)


class NoteSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author_name", read_only=True)

    class Meta:
        model = CurationNote
        fields = ["id", "author", "text", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


class NoteCreateSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False)


class ExportJobSerializer(serializers.ModelSerializer):
    download = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id", "format", "split", "test_fraction", "seed", "status", "phase", "progress",
            "file_name", "file_size", "file_sha256", "split_counts", "error", "created_at",
            "finished_at", "download",
        ]  # fmt: skip
        read_only_fields = fields

    def get_download(self, obj) -> str | None:
        if obj.status != ExportJob.Status.DONE:
            return None
        request = self.context.get("request")
        path = (
            f"/api/projects/{self.context['slug']}/versions/{obj.version.number}/exports/"
            f"{obj.pk}/download/"
        )
        return request.build_absolute_uri(path) if request else path


class ExportCreateSerializer(serializers.Serializer):
    format = serializers.CharField(help_text="csv, jsonl, parquet or hf (Hugging Face zip).")
    split = serializers.CharField(required=False, default="none", help_text="none or train_test")
    test_fraction = serializers.FloatField(required=False, default=0.2)
    seed = serializers.IntegerField(required=False, default=0)


class DiffQuerySerializer(serializers.Serializer):
    # "from" is a Python keyword: the fields are renamed below.
    to = serializers.IntegerField(min_value=1)
    limit = serializers.IntegerField(required=False, default=100)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.IntegerField(min_value=1)
        return fields


class DiffSerializer(serializers.Serializer):
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    counts = serializers.DictField()
    prevalence = serializers.ListField(child=serializers.DictField())
    relabeled = serializers.ListField(child=serializers.DictField())
    added = serializers.ListField(child=serializers.DictField())
    removed = serializers.ListField(child=serializers.DictField())
    content_changed = serializers.ListField(child=serializers.DictField())
    limit = serializers.IntegerField()

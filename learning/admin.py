"""Django admin for the learning models (admins' escape hatch: the audit floor is set here)."""

from django.contrib import admin

from .models import KeywordSeed, LabelIssue, LearningConfig, ModelRun, NoiseRun, PickedItem


@admin.register(LearningConfig)
class LearningConfigAdmin(admin.ModelAdmin):
    list_display = ["project", "enabled", "retrain_every_labels", "retrain_every_minutes",
                    "batch_size", "share_audit", "audit_floor"]  # fmt: skip
    list_select_related = ["project"]


@admin.register(KeywordSeed)
class KeywordSeedAdmin(admin.ModelAdmin):
    list_display = ["category", "project", "updated_at"]
    list_select_related = ["category", "project"]


@admin.register(ModelRun)
class ModelRunAdmin(admin.ModelAdmin):
    list_display = ["project", "number", "status", "trigger", "mode", "gold_count",
                    "picked_count", "created_at", "finished_at"]  # fmt: skip
    list_filter = ["status", "trigger", "mode"]
    list_select_related = ["project"]
    readonly_fields = ["project", "number", "requested_by", "created_at", "started_at",
                       "finished_at"]  # fmt: skip


@admin.register(PickedItem)
class PickedItemAdmin(admin.ModelAdmin):
    list_display = ["run", "rank", "item", "reason", "inclusion_probability", "score", "queued",
                    "released_at"]  # fmt: skip
    list_filter = ["reason", "queued"]
    raw_id_fields = ["run", "item"]


@admin.register(NoiseRun)
class NoiseRunAdmin(admin.ModelAdmin):
    list_display = ["project", "number", "status", "trigger", "gold_count", "flagged_count",
                    "raised_count", "created_at", "finished_at"]  # fmt: skip
    list_filter = ["status", "trigger"]
    list_select_related = ["project"]
    readonly_fields = ["project", "number", "requested_by", "model_run", "created_at",
                       "started_at", "finished_at"]  # fmt: skip


@admin.register(LabelIssue)
class LabelIssueAdmin(admin.ModelAdmin):
    list_display = ["project", "item", "run", "quality", "status", "resolution", "reviewed_by",
                    "created_at"]  # fmt: skip
    list_filter = ["status", "resolution"]
    list_select_related = ["project", "item", "run", "reviewed_by"]
    raw_id_fields = ["item", "run", "gold_label", "case", "reviewed_by"]
    filter_horizontal = ["suspected_categories"]

"""Admin: versions, notes and exports are shown read-only (the services own every write, and
the database refuses changes to published versions anyway)."""

from django.contrib import admin

from .models import AnnotatorPseudonym, CurationNote, DatasetVersion, ExportJob


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DatasetVersion)
class DatasetVersionAdmin(ReadOnly):
    list_display = ("project", "number", "status", "item_count", "content_hash", "frozen_at")
    list_filter = ("status",)
    exclude = ("card",)


@admin.register(CurationNote)
class CurationNoteAdmin(ReadOnly):
    list_display = ("version", "author_name", "created_at")


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnly):
    list_display = ("version", "format", "split", "status", "file_name", "created_at")


@admin.register(AnnotatorPseudonym)
class AnnotatorPseudonymAdmin(ReadOnly):
    list_display = ("project", "code", "user")

"""Django admin for every model (admins' escape hatch; leads use the project pages)."""

from django.contrib import admin

from .models import (
    Annotation,
    Assignment,
    Category,
    ImportJob,
    Item,
    LabelEvent,
    Membership,
    Project,
)


class CategoryInline(admin.TabularInline):
    model = Category
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "multi_label", "overlap", "lease_minutes", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [CategoryInline, MembershipInline]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "hotkey", "order", "sensitive", "active"]
    list_filter = ["project", "sensitive", "active"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", "project"]
    autocomplete_fields = ["user"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["original_name", "project", "status", "rows_imported", "rows_bad", "created_at"]
    list_filter = ["status", "format"]
    readonly_fields = ["errors"]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["external_id", "project", "annotation_count", "open_slots", "priority"]
    list_filter = ["project"]
    search_fields = ["external_id"]
    raw_id_fields = ["import_job"]
    show_full_result_count = False  # counting a million rows per page view is not worth it


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["item", "annotator", "state", "expires_at", "created_at"]
    list_filter = ["state"]
    raw_id_fields = ["item"]
    show_full_result_count = False


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["item", "annotator", "none_of_these", "unsure", "created_at"]
    list_filter = ["unsure", "none_of_these"]
    raw_id_fields = ["item"]
    show_full_result_count = False


@admin.register(LabelEvent)
class LabelEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only (database triggers refuse changes)."""

    list_display = ["created_at", "action", "item", "actor"]
    list_filter = ["action"]
    raw_id_fields = ["item"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

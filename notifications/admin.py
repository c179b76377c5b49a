"""Notices in admin: a read-only list for support staff (they are history, never edited here)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "kind", "subject", "object_type", "object_id", "read_at")
    list_filter = ("kind", "object_type", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("recipient__email", "subject")
    date_hierarchy = "created_at"
    list_select_related = ("recipient",)
    ordering = ("-created_at",)
    readonly_fields = [field.name for field in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

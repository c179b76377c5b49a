from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from reputation.models import Feedback, FeedbackWindow


class ReadOnlyAdmin(admin.ModelAdmin):
    """Feedback is written by the parties and never edited, not even by staff."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(FeedbackWindow)
class FeedbackWindowAdmin(ReadOnlyAdmin):
    list_display = ["contract", "opened_at", "closes_at", "published_at"]
    list_filter = ["published_at"]


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ["window", "author", "subject", "subject_role", "submitted_at"]
    list_filter = ["subject_role"]
    search_fields = ["author__email", "subject__email"]

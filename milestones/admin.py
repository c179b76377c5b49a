"""Milestones in Django admin: read-only. Every change goes through the services (and the site's pages)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from core.money import format_money
from milestones.models import DeliverableFile, Milestone, MilestoneEvent, Submission


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MilestoneEventInline(ReadOnlyInline):
    model = MilestoneEvent
    fields = readonly_fields = ("at", "actor", "action", "from_state", "to_state", "note")


class SubmissionInline(ReadOnlyInline):
    model = Submission
    fields = readonly_fields = ("revision", "submitted_by", "submitted_at", "message", "changes_requested_note")


# Money with its currency, never raw minor units.
SHOWN_AS = {"amount": "amount_display"}


@admin.register(Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    # `due_date` is the agreed date, read the same by everyone; `due_at` its end in the contract's zone.
    list_display = ["title", "contract", "state", "amount_display", "due_date", "auto_release_at"]
    list_filter = ["state", "currency"]
    search_fields = ["title", "contract__title", "contract__client__email", "contract__freelancer__email"]
    list_select_related = ["contract"]
    exclude = list(SHOWN_AS)
    readonly_fields = [SHOWN_AS.get(f.name, f.name) for f in Milestone._meta.fields] + ["page_link"]
    inlines = [SubmissionInline, MilestoneEventInline]

    @admin.display(description="Amount")
    def amount_display(self, obj: Milestone) -> str:
        return format_money(obj.amount, obj.currency)

    @admin.display(description="Milestone page")
    def page_link(self, obj: Milestone) -> str:
        return format_html(
            '<a href="{}">Open the milestone page (actions, files, history)</a>',
            reverse("milestones:detail", args=[obj.pk]),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # View only: a "Save" here would write back the whole row it read, outside the
        # services and their row lock, and could undo a transition committed meanwhile.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DeliverableFile)
class DeliverableFileAdmin(admin.ModelAdmin):
    list_display = ["original_name", "submission", "size", "sha256", "uploaded_at"]
    search_fields = ["original_name", "sha256"]
    readonly_fields = ["submission", "original_name", "size", "sha256", "uploaded_at", "download_link"]
    exclude = ["file"]

    @admin.display(description="Download")
    def download_link(self, obj: DeliverableFile) -> str:
        url = reverse("milestones:file_download", args=[obj.submission.milestone_id, obj.pk])
        return format_html('<a href="{}">Download (as an attachment)</a>', url)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # view only: a delivered file's record is proof of delivery

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyInline
from core.money import format_money
from marketplace.models import Job, JobEvent, Proposal, ProposalMilestone


class JobEventInline(ReadOnlyInline):
    model = JobEvent
    fields = readonly_fields = ("at", "actor", "action", "proposal", "note")


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["title", "client", "status", "budget_display", "category", "created_at"]
    list_filter = ["status", "category", "currency"]
    search_fields = ["title", "description", "client__email"]
    list_select_related = ["client"]
    exclude = ["budget"]  # shown with its currency by budget_display, never in raw minor units
    readonly_fields = ["client", "budget_display", "currency", "created_at", "closed_at", "status"]
    inlines = [JobEventInline]

    @admin.display(description="Budget")
    def budget_display(self, job: Job) -> str:
        return format_money(job.budget, job.currency)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are posted through the site, by their client

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ProposalMilestoneInline(ReadOnlyInline):
    model = ProposalMilestone
    fields = readonly_fields = ("position", "title", "deliverables", "amount_display", "due_date")

    @admin.display(description="Amount")
    def amount_display(self, obj: ProposalMilestone) -> str:
        return format_money(obj.amount, obj.proposal.job.currency)


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["__str__", "freelancer", "status", "created_at", "decided_at"]
    list_filter = ["status"]
    search_fields = ["job__title", "freelancer__email"]
    list_select_related = ["job", "freelancer"]
    readonly_fields = ["job", "freelancer", "status", "decline_message", "created_at", "updated_at", "decided_at"]
    inlines = [ProposalMilestoneInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

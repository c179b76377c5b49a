"""Contracts in Django admin: read-only history for staff; changes happen on the site, through services."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from contracts.models import ChangeRequest, Contract, ContractEvent, ContractMessage
from core.admin import ReadOnlyInline
from core.money import format_money


class ContractEventInline(ReadOnlyInline):
    model = ContractEvent
    fields = readonly_fields = ("at", "actor", "action", "note")


class ContractMessageInline(ReadOnlyInline):
    model = ContractMessage
    fields = readonly_fields = ("created_at", "author", "body")


class ChangeRequestInline(ReadOnlyInline):
    model = ChangeRequest
    fields = readonly_fields = (
        "created_at",
        "kind",
        "number",
        "milestone",
        "proposed_by",
        "title",
        "amount_display",
        "due_date",
        "status",
    )

    @admin.display(description="Amount")
    def amount_display(self, obj: ChangeRequest) -> str:
        return format_money(obj.amount, obj.contract.currency)


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ["title", "client", "freelancer", "status", "currency", "timezone", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = ["title", "client__email", "freelancer__email"]
    list_select_related = ["client", "freelancer"]
    inlines = [ChangeRequestInline, ContractMessageInline, ContractEventInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a contract starts only by accepting a proposal

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

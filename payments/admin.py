"""The ledger in Django admin: read-only and searchable. Money moves only through the services.

The only actions are on payouts (there is no real bank in the demo): staff mark a payout
completed or failed, and each action calls the service.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from core.money import format_money
from payments.errors import PaymentError
from payments.ledger.models import Account, Balance, Entry, LedgerTransaction
from payments.models import ClientWithdrawal, EarningsLot, Payout
from payments.services import payout_complete, payout_fail
from users.models import User


class ReadOnlyAdmin(admin.ModelAdmin):
    """View and search only: no add, change or delete of ledger rows."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class EntryInline(admin.TabularInline):
    model = Entry
    fields = ["account", "direction", "amount_display"]
    readonly_fields = ["account", "direction", "amount_display"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description="Amount")
    def amount_display(self, obj: Entry) -> str:
        return format_money(obj.amount, obj.currency)


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["pk", "kind", "currency", "user", "milestone_id", "balance_display", "created_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["user__email", "user__display_name", "=milestone_id", "=id"]
    list_select_related = ["user", "balance"]

    @admin.display(description="Balance")
    def balance_display(self, obj: Account) -> str:
        return format_money(obj.balance.amount, obj.currency)


@admin.register(Balance)
class BalanceAdmin(ReadOnlyAdmin):
    exclude = ["amount"]  # the change page shows amount_display (with its currency) instead
    readonly_fields = ["amount_display"]
    list_display = ["account", "amount_display", "may_go_negative"]
    list_filter = ["account__kind", "currency"]
    search_fields = ["account__user__email", "=account__milestone_id", "=account__id"]
    list_select_related = ["account"]

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: Balance) -> str:
        return format_money(obj.amount, obj.currency)


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ["pk", "created_at", "kind", "memo", "user", "milestone_id", "idempotency_key"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key", "memo", "external_ref", "user__email", "=milestone_id", "=id"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    inlines = [EntryInline]


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    exclude = ["amount"]  # the change page shows amount_display (with its currency) instead
    readonly_fields = ["amount_display"]
    list_display = ["pk", "transaction", "account", "direction", "amount_display"]
    list_filter = ["direction", "currency", "account__kind"]
    search_fields = ["transaction__idempotency_key", "transaction__memo", "account__user__email", "=transaction__id"]
    list_select_related = ["transaction", "account"]

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: Entry) -> str:
        return format_money(obj.amount, obj.currency)


@admin.register(EarningsLot)
class EarningsLotAdmin(ReadOnlyAdmin):
    exclude = ["amount"]  # the change page shows amount_display (with its currency) instead
    readonly_fields = ["amount_display"]
    list_display = [
        "pk",
        "freelancer",
        "milestone_id",
        "milestone_title",
        "amount_display",
        "available_at",
        "matured_at",
    ]
    list_filter = ["currency"]
    search_fields = ["freelancer__email", "milestone_title", "=milestone_id"]
    list_select_related = ["freelancer"]

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: EarningsLot) -> str:
        return format_money(obj.amount, obj.currency)


@admin.register(ClientWithdrawal)
class ClientWithdrawalAdmin(ReadOnlyAdmin):
    """Clients' balances paid back to their cards: settled by the gateway, so there is nothing to act on."""

    exclude = ["amount"]  # the change page shows amount_display (with its currency) instead
    readonly_fields = ["amount_display"]
    list_display = ["pk", "user", "amount_display", "card_last4", "status", "requested_at", "settled_at"]
    list_filter = ["status", "currency"]
    search_fields = ["user__email", "user__display_name", "=refund_id", "=id"]
    list_select_related = ["user"]

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: ClientWithdrawal) -> str:
        return format_money(obj.amount, obj.currency)


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    exclude = ["amount"]  # the change page shows amount_display (with its currency) instead
    readonly_fields = ["amount_display"]
    list_display = ["pk", "user", "amount_display", "status", "requested_at", "settled_at", "settled_by", "reason"]
    list_filter = ["status", "currency"]
    search_fields = ["user__email", "idempotency_key", "=id"]
    list_select_related = ["user", "settled_by"]
    actions = ["mark_completed", "mark_failed"]

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: Payout) -> str:
        return format_money(obj.amount, obj.currency)

    def _settle(self, request: HttpRequest, queryset: QuerySet[Payout], *, completed: bool) -> None:
        actor = request.user
        if not isinstance(actor, User):  # the admin site lets only signed-in staff this far
            raise PermissionDenied
        done = 0
        for payout in queryset.order_by("pk"):
            try:
                if completed:
                    payout_complete(payout=payout, actor=actor)
                else:
                    payout_fail(payout=payout, reason="The bank refused the transfer; check your details.", actor=actor)
                done += 1
            except PaymentError as error:
                self.message_user(request, f"Payout #{payout.pk}: {error}", messages.ERROR)
        if done:
            outcome = "completed" if completed else "failed (money back in available earnings)"
            self.message_user(request, f"{done} payout(s) marked {outcome}.", messages.SUCCESS)

    def has_settle_permission(self, request: HttpRequest) -> bool:
        """Settling needs the change permission on payouts, though rows are never edited directly."""
        return request.user.has_perm("payments.change_payout")

    @admin.action(description="Mark selected payouts completed (money reached the bank)", permissions=["settle"])
    def mark_completed(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        self._settle(request, queryset, completed=True)

    @admin.action(
        description="Mark selected payouts failed (money returns to available earnings)", permissions=["settle"]
    )
    def mark_failed(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        self._settle(request, queryset, completed=False)

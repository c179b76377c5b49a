"""The escrow ledger: immutable accounts, append-only balanced transactions, stored balances.

Conventions (see README "Ledger"):
- Every amount is a positive integer in minor units with an ISO currency.
- An entry either credits an account (adds to its balance) or debits it (takes from it).
- A transaction's credits equal its debits per currency; PostgreSQL refuses to commit otherwise.
- Balances are never written by Python: a database trigger applies each entry to its account's
  balance row as the entry is inserted, and a CHECK keeps every balance but the world's >= 0.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.money import CURRENCY_CHOICES, format_money


class AccountKind(models.TextChoices):
    WORLD = "world", "Outside world (payment provider)"
    CLIENT_BALANCE = "client_balance", "Client balance"
    ESCROW = "escrow", "Milestone escrow"
    PENDING_EARNINGS = "pending_earnings", "Pending earnings"
    AVAILABLE_EARNINGS = "available_earnings", "Available earnings"
    PAYOUTS_IN_FLIGHT = "payouts_in_flight", "Payouts in flight"
    PLATFORM_FEES = "platform_fees", "Platform fee revenue"


USER_ACCOUNT_KINDS = (
    AccountKind.CLIENT_BALANCE,
    AccountKind.PENDING_EARNINGS,
    AccountKind.AVAILABLE_EARNINGS,
    AccountKind.PAYOUTS_IN_FLIGHT,
)
PLATFORM_ACCOUNT_KINDS = (AccountKind.WORLD, AccountKind.PLATFORM_FEES)


class Account(models.Model):
    """Where money sits. Immutable once created (PostgreSQL refuses UPDATE and DELETE)."""

    kind = models.CharField(max_length=20, choices=AccountKind.choices)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_accounts"
    )
    milestone = models.ForeignKey(
        "milestones.Milestone", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_accounts"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            # Who owns an account follows from its kind.
            models.CheckConstraint(
                condition=(
                    models.Q(kind__in=PLATFORM_ACCOUNT_KINDS, user__isnull=True, milestone__isnull=True)
                    | models.Q(kind__in=USER_ACCOUNT_KINDS, user__isnull=False, milestone__isnull=True)
                    | models.Q(kind=AccountKind.ESCROW, user__isnull=True, milestone__isnull=False)
                ),
                name="payments_account_owner_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["kind", "currency"],
                condition=models.Q(user__isnull=True, milestone__isnull=True),
                name="payments_account_one_platform_account_per_currency",
            ),
            models.UniqueConstraint(
                fields=["kind", "user", "currency"],
                condition=models.Q(user__isnull=False),
                name="payments_account_one_per_user_kind_currency",
            ),
            models.UniqueConstraint(
                fields=["milestone"],
                condition=models.Q(milestone__isnull=False),
                name="payments_account_one_escrow_per_milestone",
            ),
        ]

    def __str__(self) -> str:
        label = AccountKind(self.kind).label
        if self.user_id:
            return f"{label} of user #{self.user_id} ({self.currency})"
        if self.milestone_id:
            return f"Escrow of milestone #{self.milestone_id} ({self.currency})"
        return f"{label} ({self.currency})"


class Balance(models.Model):
    """The stored balance of one account, moved only by the entry-insert trigger."""

    account = models.OneToOneField(Account, on_delete=models.PROTECT, primary_key=True, related_name="balance")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount = models.BigIntegerField(default=0)
    # Only the outside world may go below zero: it is where deposits come from.
    may_go_negative = models.BooleanField(default=False)

    class Meta:
        ordering = ["account_id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0) | models.Q(may_go_negative=True),
                name="payments_balance_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {format_money(self.amount, self.currency)}"


class TransactionKind(models.TextChoices):
    DEPOSIT = "deposit", "Deposit"
    FUND = "fund", "Escrow funded"
    CHANGE = "change", "Change order"
    RELEASE = "release", "Escrow released"
    FEE = "fee", "Platform fee"
    BONUS = "bonus", "Bonus"
    REFUND = "refund", "Escrow refunded"
    SPLIT = "split", "Escrow split"
    MATURE = "mature", "Earnings available"
    PAYOUT = "payout", "Payout"
    REVERSAL = "reversal", "Reversal"


class LedgerTransaction(models.Model):
    """Two or more entries committed together under one idempotency key. Append-only."""

    kind = models.CharField(max_length=10, choices=TransactionKind.choices, db_index=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    # SHA-256 of the parameters: a replay with the same key must bring the same parameters.
    fingerprint = models.CharField(max_length=64)
    # The caller's one-time form token (scoped by user), so a replayed form finds its transaction.
    request_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    milestone = models.ForeignKey(
        "milestones.Milestone", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_transactions"
    )
    # Plain ids: payments sits below contracts and disputes and does not depend on them.
    contract_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    dispute_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_transactions",
        help_text="The user on whose behalf the money moved.",
    )
    reverses = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by")
    external_ref = models.CharField(max_length=100, blank=True, help_text="The gateway's charge or payout id.")
    memo = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    # Set in memory (never stored) when a service returns an earlier transaction for a replay.
    replayed: bool = False

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}: {self.memo}"


class EntryDirection(models.TextChoices):
    CREDIT = "credit", "Credit (in)"
    DEBIT = "debit", "Debit (out)"


class Entry(models.Model):
    """One leg of a transaction. Immutable: PostgreSQL refuses UPDATE and DELETE."""

    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    direction = models.CharField(max_length=6, choices=EntryDirection.choices)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "entries"
        indexes = [models.Index(fields=["account", "-id"], name="payments_entry_account_recent")]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payments_entry_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(direction__in=["credit", "debit"]), name="payments_entry_direction_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {format_money(self.amount, self.currency)} on {self.account}"

    @property
    def signed_amount(self) -> int:
        return self.amount if self.direction == EntryDirection.CREDIT else -self.amount


class EarningsLot(models.Model):
    """A freelancer's share of one release (or bonus), pending until `available_at`."""

    freelancer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="earnings_lots")
    source_transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT, related_name="earnings_lot")
    milestone = models.ForeignKey(
        "milestones.Milestone", on_delete=models.PROTECT, null=True, blank=True, related_name="earnings_lots"
    )
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    available_at = models.DateTimeField(db_index=True)
    matured_transaction = models.OneToOneField(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="matured_lot"
    )
    matured_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["available_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payments_lot_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(matured_transaction__isnull=True, matured_at__isnull=True)
                | models.Q(matured_transaction__isnull=False, matured_at__isnull=False),
                name="payments_lot_matured_fields_together",
            ),
        ]

    def __str__(self) -> str:
        return f"Lot #{self.pk}: {format_money(self.amount, self.currency)} from {self.available_at:%Y-%m-%d}"

    @property
    def is_matured(self) -> bool:
        return self.matured_transaction_id is not None


class PayoutStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class Payout(models.Model):
    """A withdrawal of available earnings to the user's bank: requested, then completed or failed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(
        max_length=10, choices=PayoutStatus.choices, default=PayoutStatus.REQUESTED, db_index=True
    )
    reason = models.CharField(max_length=300, blank=True, help_text="Why the payout failed.")
    idempotency_key = models.CharField(max_length=120)
    requested_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff member who marked the payout completed or failed.",
    )

    # Set in memory (never stored) when payout_request returns an earlier payout for a replayed form.
    replayed: bool = False
    request_transaction = models.OneToOneField(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="payout_requested"
    )
    settle_transaction = models.OneToOneField(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="payout_settled"
    )

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payments_payout_amount_positive"),
            models.UniqueConstraint(fields=["user", "idempotency_key"], name="payments_payout_key_unique_per_user"),
        ]

    def __str__(self) -> str:
        return f"Payout #{self.pk}: {format_money(self.amount, self.currency)} ({self.get_status_display()})"

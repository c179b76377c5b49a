"""The ledger's tables: immutable accounts, stored balances, append-only balanced transactions.

Conventions (see README "Ledger"):
- Every amount is a positive integer in minor units with an ISO currency code.
- An entry either credits an account (adds to its balance) or debits it (takes from it).
- A transaction's credits equal its debits per currency; PostgreSQL refuses to commit otherwise.
- Balances are never written by Python: a database trigger applies each entry to its account's
  balance row as the entry is inserted, and a CHECK keeps every balance but the world's >= 0.

Milestones and contracts are referenced by plain indexed ids: the ledger knows nothing about them.
The table names stay `payments_*`, as the database guards (migration 0002) name them.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


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


def _minor(amount: int, currency: str) -> str:
    return f"{amount} {currency} (minor units)"


class Account(models.Model):
    """Where money sits. Immutable once created (PostgreSQL refuses UPDATE and DELETE)."""

    kind = models.CharField(max_length=20, choices=AccountKind.choices)
    currency = models.CharField(max_length=3)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_accounts"
    )
    # The milestone whose escrow this is (escrow accounts only).
    milestone_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "payments_account"
        ordering = ["pk"]
        constraints = [
            # Who owns an account follows from its kind.
            models.CheckConstraint(
                condition=(
                    models.Q(kind__in=PLATFORM_ACCOUNT_KINDS, user__isnull=True, milestone_id__isnull=True)
                    | models.Q(kind__in=USER_ACCOUNT_KINDS, user__isnull=False, milestone_id__isnull=True)
                    | models.Q(kind=AccountKind.ESCROW, user__isnull=True, milestone_id__isnull=False)
                ),
                name="payments_account_owner_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["kind", "currency"],
                condition=models.Q(user__isnull=True, milestone_id__isnull=True),
                name="payments_account_one_platform_account_per_currency",
            ),
            models.UniqueConstraint(
                fields=["kind", "user", "currency"],
                condition=models.Q(user__isnull=False),
                name="payments_account_one_per_user_kind_currency",
            ),
            models.UniqueConstraint(
                fields=["milestone_id"],
                condition=models.Q(milestone_id__isnull=False),
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
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField(default=0)
    # Only the outside world may go below zero: it is where deposits come from.
    may_go_negative = models.BooleanField(default=False)

    class Meta:
        db_table = "payments_balance"
        ordering = ["account_id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0) | models.Q(may_go_negative=True),
                name="payments_balance_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {_minor(self.amount, self.currency)}"


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
    WITHDRAWAL = "withdrawal", "Balance withdrawn to card"
    REVERSAL = "reversal", "Reversal"


class LedgerTransaction(models.Model):
    """Two or more entries committed together under one idempotency key. Append-only."""

    kind = models.CharField(max_length=10, choices=TransactionKind.choices, db_index=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    # SHA-256 of the parameters: a replay with the same key must bring the same parameters.
    fingerprint = models.CharField(max_length=64)
    # The caller's one-time form token (scoped by user), so a replayed form finds its transaction.
    request_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    # Plain ids: the ledger does not depend on the apps that own milestones and contracts.
    milestone_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    contract_id = models.BigIntegerField(null=True, blank=True, db_index=True)
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
        db_table = "payments_ledgertransaction"
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
    currency = models.CharField(max_length=3)
    # HMAC of this entry, its transaction and account, and the previous entry's HMAC on the same
    # account, keyed by LEDGER_CHAIN_KEY (never stored in the database): see payments/ledger/chain.py.
    # An entry inserted behind the ledger's back gets "" and fails `ledger_verify`.
    chain_hmac = models.CharField(max_length=64, db_default="")

    class Meta:
        db_table = "payments_entry"
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
        return f"{self.get_direction_display()} {_minor(self.amount, self.currency)} on {self.account}"

    @property
    def signed_amount(self) -> int:
        return self.amount if self.direction == EntryDirection.CREDIT else -self.amount

"""Earnings and payouts, on top of the ledger core (`payments.ledger`).

The ledger's own models are re-exported here: the rest of the project talks to `payments`, and
`payments.ledger` stays an implementation detail of it.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.money import CURRENCY_CHOICES, format_money
from payments.ledger.models import (
    Account,
    AccountKind,
    Balance,
    Entry,
    EntryDirection,
    LedgerTransaction,
    TransactionKind,
)

__all__ = [
    "Account",
    "AccountKind",
    "Balance",
    "ClientWithdrawal",
    "EarningsLot",
    "Entry",
    "EntryDirection",
    "LedgerTransaction",
    "Payout",
    "PayoutDestination",
    "PayoutStatus",
    "TransactionKind",
]


class EarningsLot(models.Model):
    """A freelancer's share of one release (or bonus), pending until `available_at`."""

    freelancer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="earnings_lots")
    source_transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT, related_name="earnings_lot")
    # A plain id: payments sits below milestones. The title is kept as it was when the money was released.
    milestone_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    milestone_title = models.CharField(max_length=200, blank=True)
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
    # Where it goes, masked ("Ada Lovelace, •••• 1234"), as it was when the payout was requested.
    destination_label = models.CharField(max_length=250, blank=True)
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


class PayoutDestination(models.Model):
    """Where a user's payouts go (one per user). The test gateway needs only a holder and an account label;
    only the label's last four characters are kept, so the full account is never stored or shown."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="payout_destination")
    account_holder = models.CharField(max_length=200)
    account_last4 = models.CharField(max_length=4)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.label

    @property
    def masked(self) -> str:
        return f"•••• {self.account_last4}"

    @property
    def label(self) -> str:
        return f"{self.account_holder}, {self.masked}"


class ClientWithdrawal(models.Model):
    """A client's unspent balance paid back to their card: requested (the ledger has moved it to the
    world), then completed (the gateway paid it) or failed (moved back by a reversal)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="client_withdrawals")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(
        max_length=10, choices=PayoutStatus.choices, default=PayoutStatus.REQUESTED, db_index=True
    )
    # The form's one-time token: a replayed form finds this withdrawal instead of making another.
    idempotency_key = models.CharField(max_length=120)
    card_last4 = models.CharField(max_length=4)
    refund_id = models.CharField(max_length=100, blank=True, help_text="The gateway's refund id, once paid.")
    reason = models.CharField(max_length=300, blank=True, help_text="Why the gateway refused it.")
    requested_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)
    request_transaction = models.OneToOneField(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="client_withdrawal"
    )
    reversal_transaction = models.OneToOneField(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="client_withdrawal_reversed"
    )

    # Set in memory (never stored) when client_withdraw returns an earlier withdrawal for a replayed form.
    replayed: bool = False

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payments_client_withdrawal_amount_positive"),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], name="payments_client_withdrawal_key_unique_per_user"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"Withdrawal to card #{self.pk}: {format_money(self.amount, self.currency)} ({self.get_status_display()})"
        )

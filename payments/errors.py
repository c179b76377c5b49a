"""Domain errors of the payments app; each message is safe to show to the user."""

from core.errors import DomainError


class PaymentError(DomainError):
    """Money could not move; nothing was changed. The message is safe to show to a user."""


class InsufficientFunds(PaymentError):
    """The client balance (or the earnings) is lower than the amount asked for."""


class EscrowEmpty(PaymentError):
    """The milestone's escrow holds nothing (already released or refunded), or less than asked."""


class EarningsNotYetAvailable(PaymentError):
    """An earnings lot is still inside its hold period."""


class PaymentDeclined(PaymentError):
    """The gateway declined the card; nothing moved."""


class PaymentGatewayUnavailable(PaymentError):
    """A network error at the gateway; nothing moved, and trying again later is safe."""


class IdempotencyConflict(PaymentError):
    """The same idempotency key was used before with different parameters."""


class PayoutStateError(PaymentError):
    """The payout already reached a different end (completed vs failed)."""

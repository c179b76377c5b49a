"""Errors of the ledger core. `payments` turns them into its domain errors (`payments.errors`)."""


class LedgerError(Exception):
    """Nothing was written; the message is safe to show to a user."""


class LedgerIdempotencyConflict(LedgerError):
    """The same idempotency key was used before with different parameters."""

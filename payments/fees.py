"""The platform fee and its rounding rule.

fee = amount * PLATFORM_FEE_BPS // 10_000, rounded down (in the freelancer's favour); the
freelancer's share is amount - fee, so fee + share equals the amount exactly, for every amount.
The same rule applies to a bonus, computed on the bonus on its own.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

BPS_PER_WHOLE = 10_000  # basis points: 1000 bps = 10 %


@dataclass(frozen=True)
class FeeSplit:
    amount: int
    fee: int
    share: int  # what the freelancer receives


def platform_fee_rate_bps() -> int:
    rate = int(settings.PLATFORM_FEE_BPS)
    if not 0 <= rate <= BPS_PER_WHOLE:
        raise ImproperlyConfigured("PLATFORM_FEE_BPS must be between 0 and 10000 (0 % to 100 %).")
    return rate


def platform_fee_split(*, amount: int, rate_bps: int | None = None) -> FeeSplit:
    """Split an amount into the platform fee (rounded down) and the freelancer's share."""
    rate = platform_fee_rate_bps() if rate_bps is None else rate_bps
    if amount < 0:
        raise ValueError("A fee is computed on a non-negative amount.")
    fee = amount * rate // BPS_PER_WHOLE
    return FeeSplit(amount=amount, fee=fee, share=amount - fee)

"""The platform fee's rounding rule: fee + share == amount, always, and the fee never rounds up."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given, settings
from hypothesis import strategies as st

from payments.fees import platform_fee_split


@settings(max_examples=300, deadline=None)
@given(amount=st.integers(min_value=0, max_value=10**15), rate_bps=st.integers(min_value=0, max_value=10_000))
def test_fee_plus_share_is_exactly_the_amount_and_the_fee_is_rounded_down(amount, rate_bps):
    # When any amount is split at any rate
    split = platform_fee_split(amount=amount, rate_bps=rate_bps)
    # Then nothing is lost or created, and the fee is the largest whole unit not above the exact fee
    assert split.fee + split.share == amount
    assert 0 <= split.fee <= amount
    assert split.fee * 10_000 <= amount * rate_bps < (split.fee + 1) * 10_000


@pytest.mark.parametrize(
    ("amount", "fee", "share"),
    [(100_005, 10_000, 90_005), (9, 0, 9), (10, 1, 9), (19, 1, 18), (1, 0, 1), (0, 0, 0)],
)
def test_worked_examples_at_ten_percent(amount, fee, share):
    # When amounts are split at 10 %, then fees round down
    split = platform_fee_split(amount=amount, rate_bps=1000)
    assert (split.fee, split.share) == (fee, share)


def test_the_rate_comes_from_settings_and_must_be_sane(settings):
    # Given 2.5 % in settings, it is used
    settings.PLATFORM_FEE_BPS = 250
    assert platform_fee_split(amount=10_000).fee == 250
    # Given more than 100 %, or a negative amount, it is refused
    settings.PLATFORM_FEE_BPS = 10_001
    with pytest.raises(ImproperlyConfigured):
        platform_fee_split(amount=10_000)
    with pytest.raises(ValueError, match="non-negative"):
        platform_fee_split(amount=-1, rate_bps=1000)

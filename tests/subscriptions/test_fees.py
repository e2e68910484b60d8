"""subscriptions.fees: the published rate, the gross-up and the breakdown."""

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import strategies as st

from subscriptions import fees
from subscriptions.fees import BANK_DEBIT_RATE, FeeRate, breakdown, gross_up, largest_gift
from subscriptions.models import MAX_AMOUNT_CENTS, MIN_AMOUNT_CENTS

STRIPE_CARD = FeeRate(basis_points=290, fixed_cents=30)

rates = st.builds(
    FeeRate,
    basis_points=st.integers(min_value=0, max_value=fees.MAX_PERCENT_BASIS_POINTS),
    fixed_cents=st.integers(min_value=0, max_value=1000),
    cap_cents=st.none() | st.integers(min_value=0, max_value=10_000),
)
gifts = st.integers(min_value=0, max_value=10 * MAX_AMOUNT_CENTS)


def exact_fee(charge: int, rate: FeeRate) -> int:
    """The fee worked out with Decimal, rounded half up: an independent check of the
    integer maths in FeeRate.fee."""
    fee = (Decimal(charge) * rate.basis_points / 10_000).quantize(
        Decimal(1), rounding="ROUND_HALF_UP"
    ) + rate.fixed_cents
    return int(fee if rate.cap_cents is None else min(fee, rate.cap_cents))


@given(charge=st.integers(min_value=0, max_value=10 * MAX_AMOUNT_CENTS), rate=rates)
def test_the_fee_is_the_rate_rounded_half_up_plus_the_fixed_part(charge, rate):
    assert rate.fee(charge) == exact_fee(charge, rate)


@given(gift=gifts, rate=rates)
def test_the_gross_up_is_the_smallest_charge_whose_estimated_net_reaches_the_gift(gift, rate):
    charge = gross_up(gift, rate)
    assert charge - exact_fee(charge, rate) >= gift
    # One cent less falls short (or would be less than the gift itself).
    assert charge == gift or (charge - 1) - exact_fee(charge - 1, rate) < gift


@given(gift=gifts, rate=rates)
def test_the_gross_up_is_never_above_the_closed_form(gift, rate):
    # ceil((gift + fixed) / (1 - pct)): the formula the published rate suggests.
    closed = -(-(gift + rate.fixed_cents) * 10_000 // (10_000 - rate.basis_points))
    assert gift <= gross_up(gift, rate) <= closed


@given(gift=st.integers(min_value=MIN_AMOUNT_CENTS, max_value=MAX_AMOUNT_CENTS))
def test_the_largest_gift_is_the_last_one_whose_charge_fits(gift):
    most = largest_gift(MAX_AMOUNT_CENTS, STRIPE_CARD)
    assert (gross_up(gift, STRIPE_CARD) <= MAX_AMOUNT_CENTS) == (gift <= most)


@pytest.mark.parametrize(
    ("gift", "charge", "text"),
    [
        (1000, 1061, "$10.00 + $0.61 fees = $10.61 a week"),
        (500, 546, "$5.00 + $0.46 fees = $5.46 a week"),
        (100, 134, "$1.00 + $0.34 fees = $1.34 a week"),
        (2500, 2606, "$25.00 + $1.06 fees = $26.06 a week"),
    ],
)
def test_the_breakdown_at_stripes_us_card_rate(gift, charge, text):
    shown = breakdown(gift, STRIPE_CARD)
    assert (shown.gift_cents, shown.charge_cents, shown.fee_cents) == (gift, charge, charge - gift)
    assert str(shown) == text


def test_the_rate_comes_from_settings(settings):
    settings.CARD_FEE_PERCENT = "3.49"
    settings.CARD_FEE_FIXED_CENTS = 49
    assert fees.card_rate() == FeeRate(basis_points=349, fixed_cents=49)
    assert fees.card_rate().describe() == "3.49% + 49c"
    assert gross_up(1000) == gross_up(1000, FeeRate(349, 49))


def test_the_default_rate_is_stripes_us_card_rate():
    assert fees.card_rate() == STRIPE_CARD
    assert fees.card_rate().describe() == "2.9% + 30c"


@pytest.mark.parametrize(
    ("text", "basis_points"), [("2.9", 290), ("0", 0), ("2.95", 295), (" 3 ", 300), ("20", 2000)]
)
def test_percentages_are_parsed_exactly(text, basis_points):
    assert fees.percent_to_basis_points(text) == basis_points


@pytest.mark.parametrize("text", ["2.955", "abc", "", "-1", "20.01", "NaN", "Infinity", "1e400"])
def test_a_bad_percentage_is_a_configuration_error(text):
    with pytest.raises(ImproperlyConfigured, match="CARD_FEE_PERCENT"):
        fees.percent_to_basis_points(text)


@pytest.mark.parametrize("fixed", [-1, 1001, "30", True])
def test_a_bad_fixed_fee_is_a_configuration_error(settings, fixed):
    settings.CARD_FEE_FIXED_CENTS = fixed
    with pytest.raises(ImproperlyConfigured, match="CARD_FEE_FIXED_CENTS"):
        fees.card_rate()


def test_what_a_5_dollar_weekly_gift_loses_by_card_and_by_bank_debit():
    # The figures README gives ("What a $5 weekly gift loses").
    card, bank = STRIPE_CARD.fee(500), BANK_DEBIT_RATE.fee(500)
    assert (card, card * 52) == (45, 2340)  # 14.5c rounds half up to 15c, + 30c
    assert (bank, bank * 52) == (4, 208)
    assert BANK_DEBIT_RATE.fee(100_000) == 500  # the $5.00 cap
    assert BANK_DEBIT_RATE.describe() == "0.8% capped at $5.00"

"""The published card rate, and the gross-up for a donor who covers the fees.

The rate (settings.CARD_FEE_PERCENT, CARD_FEE_FIXED_CENTS; Stripe's US card rate, 2.9% +
30c, by default) only sizes the charge: a donor who covers the fees and gives $10.00 a
week is charged the smallest amount whose estimated net reaches $10.00 ($10.61). The fee
the ledger records is always the one Stripe reports for the payment (its balance
transaction), never this estimate: a card that costs more (an international card, say)
leaves a little less than the gift, and bank debit, which costs less, a little more; what
is left, all of it, is given.

All sums are integer cents; the percentage is held in basis points (hundredths of a
percent, 2.9% = 290), parsed from text with Decimal, so no float ever touches money.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.templatetags.money import format_cents

BASIS_POINTS = 10_000  # 100%
# A rate this high is a typo (29 for 2.9), not a processor's price.
MAX_PERCENT_BASIS_POINTS = 2_000


def percent_to_basis_points(text) -> int:
    """'2.9' -> 290. Whole basis points only (at most two decimals), 0 <= rate <= 20%;
    anything else is a configuration error, raised at once."""
    try:
        value = Decimal(str(text).strip()) * 100
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value != value.to_integral_value():
        raise ImproperlyConfigured(
            f"CARD_FEE_PERCENT must be a percentage with at most two decimals, like 2.9; "
            f"got {text!r}."
        )
    basis_points = int(value)
    if not 0 <= basis_points <= MAX_PERCENT_BASIS_POINTS:
        raise ImproperlyConfigured(
            f"CARD_FEE_PERCENT must be between 0 and {MAX_PERCENT_BASIS_POINTS / 100:g}; "
            f"got {text!r}."
        )
    return basis_points


@dataclass(frozen=True)
class FeeRate:
    """A processor's price: basis_points of the charge (rounded half up to the cent, as
    Stripe rounds) plus fixed_cents, at most cap_cents when there is a cap."""

    basis_points: int
    fixed_cents: int
    cap_cents: int | None = None

    def fee(self, charge_cents: int) -> int:
        fee = (charge_cents * self.basis_points + BASIS_POINTS // 2) // BASIS_POINTS
        fee += self.fixed_cents
        return fee if self.cap_cents is None else min(fee, self.cap_cents)

    def net(self, charge_cents: int) -> int:
        return charge_cents - self.fee(charge_cents)

    def describe(self) -> str:
        """'2.9% + 30c', '0.8% capped at $5.00'."""
        text = f"{Decimal(self.basis_points) / 100:f}".rstrip("0").rstrip(".") + "%"
        if self.fixed_cents:
            text += f" + {self.fixed_cents}c"
        if self.cap_cents is not None:
            text += f" capped at {format_cents(self.cap_cents)}"
        return text


# Stripe's published US price for ACH Direct Debit: 0.8%, at most $5.00 a payment.
BANK_DEBIT_RATE = FeeRate(basis_points=80, fixed_cents=0, cap_cents=500)


def card_rate() -> FeeRate:
    """The published rate from settings, read at call time (tests override settings)."""
    fixed = settings.CARD_FEE_FIXED_CENTS
    if isinstance(fixed, bool) or not isinstance(fixed, int) or not 0 <= fixed <= 1000:
        raise ImproperlyConfigured(
            f"CARD_FEE_FIXED_CENTS must be whole cents from 0 to 1000; got {fixed!r}."
        )
    return FeeRate(percent_to_basis_points(settings.CARD_FEE_PERCENT), fixed)


def gross_up(gift_cents: int, rate: FeeRate | None = None) -> int:
    """The smallest charge whose estimated net (charge - fee) reaches gift_cents.

    Start from ceil((gift + fixed) / (1 - pct)) in integers, which is never below the
    answer, then step down while one cent less still nets the gift: the fee is rounded
    half up, so the exact formula can be a cent high. net() never falls when the charge
    rises (a cent more raises the fee by at most a cent, the rate being below 100%), so
    the first charge that fails ends the walk.
    """
    rate = rate or card_rate()
    if isinstance(gift_cents, bool) or not isinstance(gift_cents, int) or gift_cents < 0:
        raise ValueError(f"gift_cents must be a non-negative whole number, got {gift_cents!r}.")
    keep = BASIS_POINTS - rate.basis_points
    charge = -(-(gift_cents + rate.fixed_cents) * BASIS_POINTS // keep)
    while charge > gift_cents and rate.net(charge - 1) >= gift_cents:
        charge -= 1
    while rate.net(charge) < gift_cents:  # never taken; a guard against a wrong bound
        charge += 1
    return charge


def largest_gift(max_charge_cents: int, rate: FeeRate | None = None) -> int:
    """The largest gift whose gross-up is at most max_charge_cents."""
    return (rate or card_rate()).net(max_charge_cents)


@dataclass(frozen=True)
class FeeBreakdown:
    """What a donor who covers the fees sees before confirming."""

    gift_cents: int
    charge_cents: int

    @property
    def fee_cents(self) -> int:
        return self.charge_cents - self.gift_cents

    def __str__(self) -> str:
        return (
            f"{format_cents(self.gift_cents)} + {format_cents(self.fee_cents)} fees = "
            f"{format_cents(self.charge_cents)} a week"
        )


def breakdown(gift_cents: int, rate: FeeRate | None = None) -> FeeBreakdown:
    return FeeBreakdown(gift_cents=gift_cents, charge_cents=gross_up(gift_cents, rate))

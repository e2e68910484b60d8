import datetime as dt
import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from core.templatetags.money import format_cents

from . import fees
from .models import MAX_AMOUNT_CENTS, MIN_AMOUNT_CENTS
from .services import PAUSE_MAX_DAYS, require_pause_until

# Dollars with at most two decimals; no floats anywhere between the form and the cents.
_DOLLARS = re.compile(r"^\$?\s*(\d{1,9})(?:\.(\d{1,2}))?$")


def dollars_to_cents(text: str) -> int | None:
    """'12.5' -> 1250; None when the text is not an amount in dollars and cents."""
    match = _DOLLARS.match(text.strip().replace(",", ""))
    if match is None:
        return None
    return int(Decimal(match.group(0).lstrip("$").strip()) * 100)


class AmountForm(forms.Form):
    """The weekly amount in dollars (`amount`, e.g. "10" or "12.50") -> cents, and whether
    the donor adds the processing fee (`covers_fees`).

    Covering the fees, `amount` is the gift and the charge is its gross-up
    (subscriptions.fees); the charge, not the gift, must fit the subscription bounds.
    The donor sees "$10.00 + $0.61 fees = $10.61 a week" before anything happens: a post
    whose `confirmed_charge` is not the charge computed now (no confirmation yet, or the
    rate or the amount changed since) needs_review(), and the view shows the breakdown
    with a Confirm button instead of acting. Without covering, the amount typed is the
    charge and no review is needed.
    """

    amount = forms.CharField(
        label="Weekly amount (US dollars)",
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=(
            f"From {format_cents(MIN_AMOUNT_CENTS)} to {format_cents(MAX_AMOUNT_CENTS)} "
            "a week, in dollars and cents."
        ),
    )

    covers_fees = forms.BooleanField(
        required=False,
        label="Add the processing fee so charities receive the full amount",
    )
    # The charge (cents) the donor saw and confirmed; text, so a tampered value is just
    # "not confirmed" (the breakdown is shown again), never a hidden form error.
    confirmed_charge = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)

    def clean_amount(self) -> int:
        cents = dollars_to_cents(self.cleaned_data["amount"])
        if cents is None:
            raise forms.ValidationError(
                "Enter an amount in dollars, like 10 or 12.50.", code="invalid"
            )
        if cents < MIN_AMOUNT_CENTS:
            raise forms.ValidationError(
                f"The weekly amount must be at least {format_cents(MIN_AMOUNT_CENTS)}.",
                code="min_value",
            )
        if cents > MAX_AMOUNT_CENTS:
            raise forms.ValidationError(
                f"The weekly amount must be at most {format_cents(MAX_AMOUNT_CENTS)}.",
                code="max_value",
            )
        return cents

    def clean(self):
        cleaned = super().clean()
        gift = cleaned.get("amount")
        if gift is None or not cleaned.get("covers_fees"):
            return cleaned
        rate = fees.card_rate()
        charge = fees.gross_up(gift, rate)
        if charge > MAX_AMOUNT_CENTS:
            most = fees.largest_gift(MAX_AMOUNT_CENTS, rate)
            self.add_error(
                "amount",
                forms.ValidationError(
                    f"Covering the fees, {format_cents(gift)} would be a charge of "
                    f"{format_cents(charge)} a week, over the {format_cents(MAX_AMOUNT_CENTS)} "
                    f"limit: choose at most {format_cents(most)}, or do not cover the fees.",
                    code="max_value",
                ),
            )
        elif charge == gift:
            self.add_error(
                "covers_fees",
                forms.ValidationError(
                    "At the published rate there is no fee to cover.", code="no_fee"
                ),
            )
        return cleaned

    def terms(self) -> dict:
        """What to subscribe to, for a valid form: amount_cents (the weekly charge),
        covers_fees and gift_cents (None unless covering the fees)."""
        gift = self.cleaned_data["amount"]
        if not self.cleaned_data.get("covers_fees"):
            return {"amount_cents": gift, "covers_fees": False, "gift_cents": None}
        return {"amount_cents": fees.gross_up(gift), "covers_fees": True, "gift_cents": gift}

    def breakdown(self) -> fees.FeeBreakdown | None:
        terms = self.terms()
        if not terms["covers_fees"]:
            return None
        return fees.FeeBreakdown(
            gift_cents=terms["gift_cents"], charge_cents=terms["amount_cents"]
        )

    def needs_review(self) -> bool:
        terms = self.terms()
        return terms["covers_fees"] and self.cleaned_data.get("confirmed_charge") != str(
            terms["amount_cents"]
        )


class PauseUntilForm(forms.Form):
    """The date a paused gift starts again (`until`, YYYY-MM-DD from a date input): after
    today and within a year (services.require_pause_until, checked again there). `today`
    is the local date the view read from the clock."""

    until = forms.DateField(
        label="Pause until",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": "Choose the date your gift should start again.",
            "invalid": "Enter a date, like 2027-01-15.",
        },
        help_text="Nothing is charged before this date; the gift starts again on it.",
    )

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        widget = self.fields["until"].widget
        widget.attrs["min"] = (today + dt.timedelta(days=1)).isoformat()
        widget.attrs["max"] = (today + dt.timedelta(days=PAUSE_MAX_DAYS)).isoformat()

    def clean_until(self) -> dt.date:
        try:
            return require_pause_until(self.cleaned_data["until"], today=self.today)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["paused_until"]) from None

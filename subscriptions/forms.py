import re
from decimal import Decimal

from django import forms

from core.templatetags.money import format_cents

from .models import MAX_AMOUNT_CENTS, MIN_AMOUNT_CENTS

# Dollars with at most two decimals; no floats anywhere between the form and the cents.
_DOLLARS = re.compile(r"^\$?\s*(\d{1,9})(?:\.(\d{1,2}))?$")


def dollars_to_cents(text: str) -> int | None:
    """'12.5' -> 1250; None when the text is not an amount in dollars and cents."""
    match = _DOLLARS.match(text.strip().replace(",", ""))
    if match is None:
        return None
    return int(Decimal(match.group(0).lstrip("$").strip()) * 100)


class AmountForm(forms.Form):
    """The weekly amount in dollars (`amount`, e.g. "10" or "12.50") -> amount_cents."""

    amount = forms.CharField(
        label="Weekly amount (US dollars)",
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=(
            f"From {format_cents(MIN_AMOUNT_CENTS)} to {format_cents(MAX_AMOUNT_CENTS)} "
            "a week, in dollars and cents."
        ),
    )

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

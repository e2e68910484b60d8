"""placeholder until the billing branch lands: the amount form of the demo views."""

from decimal import Decimal, InvalidOperation

from django import forms

from .models import MAX_AMOUNT_CENTS, MIN_AMOUNT_CENTS


class AmountForm(forms.Form):
    """A weekly amount typed in dollars ("10" or "12.50"), cleaned to integer cents."""

    amount = forms.CharField(label="Weekly amount (US dollars)", max_length=12)

    def clean_amount(self) -> int:
        raw = self.cleaned_data["amount"].strip().lstrip("$").replace(",", "")
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise forms.ValidationError("Enter an amount in dollars, like 10 or 12.50.") from None
        if not value.is_finite() or value != value.quantize(Decimal("0.01")):
            raise forms.ValidationError("Enter dollars and at most two digits of cents.")
        cents = int(value * 100)
        if not MIN_AMOUNT_CENTS <= cents <= MAX_AMOUNT_CENTS:
            raise forms.ValidationError(
                f"The weekly amount must be between ${MIN_AMOUNT_CENTS // 100} and "
                f"${MAX_AMOUNT_CENTS // 100:,}."
            )
        return cents

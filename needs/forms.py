"""Forms for needs: the portal's need form and the dollars field the admin shares.

Gaps are typed in dollars and cents ("12,500.00", "12500", "$12,500.5") and become
integer cents through Decimal, never a float; a third decimal, a sign, an exponent or
anything else is a form error. Cents are shown nowhere.
"""

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from core.templatetags.money import format_cents
from core.validation import UNSET

from . import services
from .models import (
    DESCRIPTION_MAX_LENGTH,
    MAX_GAP_CENTS,
    MAX_URGENCY,
    NEED_CATEGORY_CHOICES,
)

# Digits with optional thousands commas (every group of three) and at most two decimals.
_DOLLARS = re.compile(r"^\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?$")

URGENCY_HELP = "0 none (closed), 1-19 low, 20-49 moderate, 50-79 high, 80-100 critical."


def parse_dollars(text) -> int:
    """'12,500.00' -> 1250000 cents. ValidationError for anything but a plain amount."""
    text = str(text).strip().replace(" ", "")
    if not _DOLLARS.match(text):
        raise ValidationError(
            "Enter an amount in dollars and cents, like 12,500 or 12500.00 "
            "(no more than two decimals, no minus sign).",
            code="invalid",
        )
    cents = int(Decimal(text.lstrip("$").replace(",", "")) * 100)
    if cents > MAX_GAP_CENTS:
        raise ValidationError(
            f"That is more than {format_cents(MAX_GAP_CENTS)}: check the amount.", code="max"
        )
    return cents


def dollars_text(cents: int) -> str:
    """1250050 -> "12500.50": what a dollars field shows for cents (no "$", no commas)."""
    return f"{cents // 100}.{cents % 100:02d}"


class DollarsField(forms.CharField):
    """A gap typed in dollars; cleaned to integer cents."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault("help_text", "In dollars, e.g. 12,500.00.")
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "decimal")

    def prepare_value(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            return dollars_text(value)  # cents from the instance: as dollars
        return value

    def has_changed(self, initial, data):
        # "50", "50.00" and 5000 cents are one amount: retyping it is no change.
        try:
            posted = parse_dollars(data) if data not in self.empty_values else None
            before = parse_dollars(self.prepare_value(initial)) if initial is not None else None
        except ValidationError:
            return True
        return posted != before

    def clean(self, value):
        value = super().clean(value)  # the text, length-checked
        if value in self.empty_values:
            return None
        return parse_dollars(value)


# Constraint names Django or the database may report, and what they mean in plain words.
CONSTRAINT_SENTENCES = {
    "need_one_per_category_source": (
        "This charity already has a need in that category from that source: change it "
        "instead of adding another."
    ),
    "need_urgency_0_100": "Urgency is a number from 0 to 100.",
    "need_gap_not_negative": "The funding gap cannot be below zero.",
    "need_source_valid": "That is not a source a need can come from.",
    "need_category_valid": "Choose one of the listed categories.",
}


def plain_sentence(message: str) -> str:
    """A message naming a need constraint, as a sentence staff can act on; others as they
    are."""
    for name, sentence in CONSTRAINT_SENTENCES.items():
        if name in message:
            return sentence
    return message


def plain_errors(form: forms.BaseForm) -> None:
    """Rewrite, in place, any error of `form` that names a constraint."""
    for name, errors in list(form._errors.items()):
        form._errors[name] = form.error_class(
            [plain_sentence(str(e)) for e in errors], renderer=form.renderer
        )


class PortalNeedForm(forms.Form):
    """Add or update the charity's own (manual) need in a category."""

    category = forms.ChoiceField(choices=NEED_CATEGORY_CHOICES)
    urgency_score = forms.IntegerField(
        label="Urgency", min_value=0, max_value=MAX_URGENCY, help_text=URGENCY_HELP
    )
    funding_gap = DollarsField(label="Funding gap (dollars)")
    description = forms.CharField(
        max_length=DESCRIPTION_MAX_LENGTH,
        required=False,
        help_text="One line donors will read, e.g. “Winter coats for 40 children”.",
    )

    def clean_description(self):
        value = self.cleaned_data["description"]
        if "\n" in value or "\r" in value:
            raise ValidationError("Keep the description to one line.")
        return value.strip()

    def clean(self):
        data = super().clean()
        gap, urgency = data.get("funding_gap"), data.get("urgency_score")
        try:
            services.check_need_values(
                urgency_score=UNSET if urgency is None else urgency,
                funding_gap_cents=UNSET if gap is None else gap,
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                field = {"funding_gap_cents": "funding_gap"}.get(name, name)
                self.add_error(field if field in self.fields else None, errors)
        return data

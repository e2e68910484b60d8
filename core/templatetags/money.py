"""Dollars appear only here: every amount in the code is integer cents."""

from django import template

register = template.Library()


def format_cents(cents) -> str:
    if cents is None or cents == "":
        return ""
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}${dollars:,}.{rest:02d}"


@register.filter
def dollars(cents) -> str:
    """12345 -> "$123.45"."""
    return format_cents(cents)


@register.filter
def whole_dollars(cents) -> str:
    """1250000 -> "$12,500" (rounded down to the dollar, for big figures like gaps)."""
    if cents is None or cents == "":
        return ""
    return f"${int(cents) // 100:,}"

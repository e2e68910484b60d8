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


def percentages(amounts) -> list[int]:
    """Whole percentages of a split that add up to exactly 100: each is the floor or the
    ceiling of its exact share (largest remainder; ties to the earlier amount), the same
    controlled rounding as for cents. Charts, sentences, the CSV and emails all use it, so
    a donor never reads "4%" in one place and "5%" in another for the same money.
    All zeros (or nothing) -> all zeros."""
    amounts = [int(a) for a in amounts]
    total = sum(amounts)
    if total <= 0:
        return [0] * len(amounts)
    shares = [100 * amount // total for amount in amounts]
    left = 100 - sum(shares)
    if left:  # (nothing left: nothing to sort)
        remainders = [100 * amount % total for amount in amounts]
        # Largest remainder first, ties to the earlier (a stable sort, reversed, keeps it).
        order = sorted(range(len(amounts)), key=remainders.__getitem__, reverse=True)
        for index in order[:left]:
            shares[index] += 1
    return shares


def percent_text(percent: int, amount: int, total: int) -> str:
    """How a share reads: "42%", "all" for the whole, "less than 1%" for a share that
    rounds to nothing but is money all the same."""
    if total > 0 and amount >= total:
        return "all"
    if percent == 0 and amount > 0:
        return "less than 1%"
    return f"{percent}%"


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


@register.filter
def input_dollars(cents) -> str:
    """1061 -> "10.61": cents as the value of a dollars input (no sign, no separators)."""
    if cents is None or cents == "":
        return ""
    cents = int(cents)
    return f"{cents // 100}.{cents % 100:02d}"

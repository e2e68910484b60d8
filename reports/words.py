"""Held and released money in the donor's words (dashboard, weekly report, emails, CSV).

The reasons are distributions.HoldReason codes; the engine records them on each run's
line for a place, the reports copy them per donor and week.
"""

from __future__ import annotations

import datetime as dt

from core.templatetags.money import format_cents
from distributions.models import HoldReason

EN_DASH = "\u2013"  # a range of days, as it is printed


def _day(day: dt.date) -> str:
    return f"{day:%b} {day.day}"


def held_words(cents: int, reason: str, place: str) -> str:
    """Why the donor's money waits and when it goes out, in one sentence."""
    amount = format_cents(cents)
    if reason == HoldReason.NO_CITY:
        return (
            f"We do not know your city yet; your {amount} waits and goes out the first week "
            "after you set your ZIP code."
        )
    if reason == HoldReason.NO_CHARITY:
        return (
            f"{place} has no vetted charity yet; your {amount} waits and goes out the first "
            "week one is approved."
        )
    if reason == HoldReason.NO_CURRENT_NEED:
        return (
            f"No vetted charity in {place} has a current need on record; your {amount} waits "
            "and goes out the first week one does."
        )
    if reason == HoldReason.FAILED:
        return (
            f"The week's run for {place} did not finish; your {amount} goes out when it is "
            "run again."
        )
    return f"Your {amount} goes out in the next weekly run."


_UNTIL = {
    HoldReason.NO_CITY: "until you set your city",
    HoldReason.NO_CHARITY: "until a charity was approved",
    HoldReason.NO_CURRENT_NEED: "until a charity reported a current need",
    HoldReason.FAILED: "until the week's run was completed",
}


def released_words(cents: int, first: dt.date, last: dt.date, reason: str) -> str:
    """'includes $40.00 paid Nov 2-9, held until a charity was approved' (an en dash)."""
    if first == last:
        paid = _day(first)
    elif (first.year, first.month) == (last.year, last.month):
        paid = f"{_day(first)}{EN_DASH}{last.day}"
    else:
        paid = f"{_day(first)} {EN_DASH} {_day(last)}"
    until = _UNTIL.get(reason, "recorded after its own week's run, so given the week after")
    held = "" if reason not in _UNTIL else "held "
    return f"includes {format_cents(cents)} paid {paid}, {held}{until}"

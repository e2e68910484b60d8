"""Small helpers shared by the distribution and report commands: parse --week and --city
the same way, and turn a ValidationError into the one readable line a command prints."""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from core.places import parse_place
from core.templatetags.money import format_cents
from core.weeks import last_completed_week, parse_week

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
OPTION_NAMES = {"week_start": "--week", "city": "--city", "state": "--city"}


def one_line(exc: ValidationError) -> str:
    """The error as one line, fields named as the command's options."""
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{OPTION_NAMES.get(field, field)}: {' '.join(messages)}"
            for field, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)


def week_option(value: str | None, *, now: dt.datetime) -> tuple[dt.date, str]:
    """--week -> (Monday, a line saying which week that is)."""
    if value is None:
        week = last_completed_week(now)
        return week, f"Week of Monday {week} (the last week that has ended)."
    if not ISO_DATE.match(value.strip()):
        raise CommandError(f"--week: {value!r} is not a date of the form YYYY-MM-DD.")
    try:
        week = parse_week(value, field="--week")
    except ValidationError as exc:
        raise CommandError(one_line(exc)) from None
    given = dt.date.fromisoformat(value.strip())
    note = "" if given == week else f" ({given} is in that week)"
    return week, f"Week of Monday {week}{note}."


def city_option(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    try:
        return parse_place(value, field="--city")
    except ValidationError as exc:
        raise CommandError(one_line(exc)) from None


def plan_line(plan) -> str:
    """One readable line for a city's plan or summary (a CityPlan)."""
    if plan.held_cents and not plan.distributed_cents:
        return f"{plan.place}: {format_cents(plan.held_cents)} held, {plan.why}."
    givers = ", ".join(
        f"{c.name} {format_cents(c.amount_cents)}"
        for c in sorted(plan.charities, key=lambda c: (-c.amount_cents, c.charity_id))
        if c.amount_cents
    )
    subs = f"{plan.subscriptions} subscription{'s' if plan.subscriptions != 1 else ''}"
    return f"{plan.place}: {format_cents(plan.distributed_cents)} from {subs} to {givers}."


def entry_line(place: str, entry: dict) -> str:
    """One readable line for a city's line in a DistributionRun summary."""
    status = entry.get("status")
    given = format_cents(entry.get("distributed_cents", 0))
    held = format_cents(entry.get("held_cents", 0))
    if status == "failed":
        return f"{place}: FAILED, {held} not distributed: {entry.get('why', '')}"
    if status == "held":
        extra = f" ({given} given earlier this week)" if entry.get("distributed_cents") else ""
        return f"{place}: {held} held, {entry.get('why', '')}{extra}."
    return (
        f"{place}: {given} given in {entry.get('distributions_count', 0)} rows to "
        f"{entry.get('charities', 0)} charities."
    )

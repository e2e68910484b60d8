"""What run_distribution prints: one readable line per city, for a plan (--dry-run) or
for the run's line of the city (distributions.RunCity) after a run."""

from __future__ import annotations

from core.templatetags.money import format_cents
from distributions.models import CityStatus, RunCity


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


def city_line(line: RunCity) -> str:
    """One readable line for a city's line of a run."""
    given = format_cents(line.distributed_cents)
    held = format_cents(line.held_cents)
    if line.status == CityStatus.FAILED:
        return f"{line.place}: FAILED, {held} not distributed: {line.why}"
    if line.status == CityStatus.HELD:
        extra = f" ({given} given earlier this week)" if line.distributed_cents else ""
        return f"{line.place}: {held} held, {line.why}{extra}."
    return (
        f"{line.place}: {given} given in {line.distributions_count} rows to "
        f"{line.charities_count} charities."
    )

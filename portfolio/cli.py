"""What run_distribution prints: one readable line per city, for a plan (--dry-run) or for
what this invocation did in a place (portfolio.services.PlaceOutcome), the invocation's
own summary and what it did about the week's reports."""

from __future__ import annotations

from core.templatetags.money import format_cents
from core.text import counted
from distributions.models import CityStatus, explanations_words


def plan_line(plan) -> str:
    """One readable line for a city's plan or summary (a CityPlan)."""
    if plan.held_cents and not plan.distributed_cents:
        return f"{plan.place}: {format_cents(plan.held_cents)} held, {plan.why}."
    givers = ", ".join(
        f"{c.name} {format_cents(c.amount_cents)}"
        for c in sorted(plan.charities, key=lambda c: (-c.amount_cents, c.charity_id))
        if c.amount_cents
    )
    subs = counted(plan.subscriptions, "subscription")
    return f"{plan.place}: {format_cents(plan.distributed_cents)} from {subs} to {givers}."


def _places(n: int, *, other: bool = False) -> str:
    return counted(n, "other place" if other else "place")


def outcome_line(outcome) -> str:
    """One readable line for what this invocation did in a place (a PlaceOutcome)."""
    given, held = format_cents(outcome.given_cents), format_cents(outcome.held_cents)
    if outcome.status == "elsewhere":
        return f"{outcome.place}: nothing left to take, done by another process."
    if outcome.status == CityStatus.FAILED:
        return f"{outcome.place}: FAILED, nothing given: {outcome.why}"
    if outcome.status == CityStatus.HELD:
        extra = f" ({given} given)" if outcome.given_cents else ""
        return f"{outcome.place}: {held} held, {outcome.why}{extra}."
    rows, charities = counted(outcome.rows, "row"), counted(outcome.charities, "charity")
    line = f"{outcome.place}: {given} given in {rows} to {charities}"
    if outcome.explained_by_model or outcome.explainer_fallbacks:
        words = explanations_words(outcome.explained_by_model, outcome.explainer_fallbacks)
        line += f"; sentences: {words}"
    return line + "."


def explanations_line(invocation) -> str:
    """How this invocation's sentences were written, when a model is configured ("" when
    every sentence is the template's by choice)."""
    by_model = sum(p.explained_by_model for p in invocation.places)
    fallbacks: dict[str, int] = {}
    for p in invocation.places:
        for reason, n in p.explainer_fallbacks.items():
            fallbacks[reason] = fallbacks.get(reason, 0) + n
    if not by_model and not fallbacks:
        return ""
    return f"Sentences, per charity given to: {explanations_words(by_model, fallbacks)}."


def invocation_line(invocation, *, week_has_lines: bool) -> str:
    """What this invocation did, in one line: never the week's cumulative totals."""
    given = format_cents(invocation.given_cents)
    if not invocation.places:
        if week_has_lines:
            return f"This run gave {given}: the week was already distributed."
        return f"This run gave {given}: nothing to distribute."
    here = invocation.done_here
    elsewhere = invocation.done_elsewhere
    held = f", held {format_cents(invocation.held_cents)}" if invocation.held_cents else ""
    text = f"This run gave {given}{held}: "
    if here:
        text += ", ".join(p.place for p in here) + " done here"
        if elsewhere:
            text += f", {_places(len(elsewhere), other=True)} done by another process"
    else:
        text += f"nothing done here, {_places(len(elsewhere))} done by another process"
    return text + "."


def reports_line(result: dict, *, emailing: bool) -> str:
    """What writing the week's reports did (reports.tasks.write_week_reports' answer)."""
    if not result["due"]:
        return (
            "Reports: not written yet, the week's run is still open (another process is "
            "running it); its end writes them."
        )
    emailed = f"emailed {counted(result['emailed'], 'donor')}" if emailing else "emailed nobody"
    return f"Reports: wrote {counted(result['written'], 'report')} for the week; {emailed}."

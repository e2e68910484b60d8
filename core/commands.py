"""What management commands share: --week and --city are parsed the same way, a
ValidationError becomes the one readable line a command prints before it exits non-zero,
and at the default verbosity a command prints its own lines only (quiet_logs)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from core.places import parse_place
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


@contextmanager
def quiet_logs(verbosity: int) -> Iterator[None]:
    """At verbosity 0 or 1 (the default) the command's own lines are its output: the
    INFO logs of what it does underneath (a money line per payment, per city, per run) are
    held back, while warnings and errors still show. With -v 2 or more they all show.
    For the length of the command, then as configured again."""
    if verbosity >= 2:
        yield
        return
    root = logging.getLogger()
    previous = root.level
    root.setLevel(max(previous, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(previous)

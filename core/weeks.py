"""Weeks run Monday..Sunday in settings.TIME_ZONE; a week is named by its Monday.

Everything here takes its dates as arguments. Nothing reads the clock except
`last_completed_week(now)`, whose caller passes the clock in.

The check that a value names a week (`require_week`, and `require_ended_week` for the
jobs that only take a week that is over) lives here once and runs at the edges: the
commands, tasks and views that parse a week, and the public services they call. What
those pass inward is a checked Monday, so internal functions take it as it is.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def week_start_for(day: dt.date) -> dt.date:
    """The Monday of the week that contains `day`."""
    return day - dt.timedelta(days=day.weekday())


def week_bounds(week_start: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Aware [start, end) of a week: Monday 00:00 local to the next Monday 00:00 local.

    Built from wall-clock dates, so a week that crosses a DST change is 167 or 169 hours
    long and never overlaps its neighbours. `week_start` is a checked Monday.
    """
    zone = local_zone()
    start = dt.datetime.combine(week_start, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(week_start + dt.timedelta(days=7), dt.time.min, tzinfo=zone)
    return start, end


def require_week(value, field: str = "week_start") -> dt.date:
    """A date that is a Monday, or ValidationError naming `field`."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValidationError({field: f"{field} must be a date, got {value!r}."})
    if value.weekday() != 0:
        raise ValidationError({field: f"{value} is not a Monday (a week is named by its Monday)."})
    return value


def week_from_iso(value: str, field: str = "week_start") -> dt.date:
    """A week as tasks pass it to each other (the Monday as YYYY-MM-DD), checked."""
    try:
        day = dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError(
            {field: f"{value!r} is not a date of the form YYYY-MM-DD."}
        ) from None
    return require_week(day, field)


def require_ended_week(value, *, now: dt.datetime, field: str = "week_start") -> dt.date:
    """A Monday whose week is over at `now`, or ValidationError naming `field`: money and
    reports are only ever worked out for a week that has ended."""
    week = require_week(value, field)
    if not is_week_over(week, now):
        end = week_bounds(week)[1]
        raise ValidationError(
            {
                field: f"The week of Monday {week} has not ended yet "
                f"(it ends {end:%Y-%m-%d %H:%M} {settings.TIME_ZONE})."
            }
        )
    return week


def week_of(moment: dt.datetime) -> dt.date:
    """The Monday of the local week that contains an aware moment."""
    return week_start_for(moment.astimezone(local_zone()).date())


def last_completed_week(now: dt.datetime) -> dt.date:
    """The week that most recently ended before `now`: what the Monday job distributes."""
    return week_of(now) - dt.timedelta(days=7)


def is_week_over(week_start: dt.date, now: dt.datetime) -> bool:
    return now >= week_bounds(week_start)[1]


def parse_week(value: str, *, field: str = "week") -> dt.date:
    """A YYYY-MM-DD date anywhere in a week -> that week's Monday."""
    try:
        day = dt.date.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        raise ValidationError(
            {field: f"{value!r} is not a date of the form YYYY-MM-DD."}
        ) from None
    return week_start_for(day)

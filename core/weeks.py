"""Weeks run Monday..Sunday in settings.TIME_ZONE; a week is named by its Monday.

Everything here takes its dates as arguments. Nothing reads the clock except
`last_completed_week(now)`, whose caller passes the clock in.
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
    long and never overlaps its neighbours.
    """
    if week_start.weekday() != 0:
        raise ValidationError({"week_start": f"{week_start} is not a Monday."})
    zone = local_zone()
    start = dt.datetime.combine(week_start, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(week_start + dt.timedelta(days=7), dt.time.min, tzinfo=zone)
    return start, end


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

"""Months ("periods") for payouts and money reports: "YYYY-MM" <-> the month's first
day, and a month's bounds in settings.TIME_ZONE (core.weeks does the same for weeks).

A period is the date of its first day. It is over once the next month's first day has
begun, local time; only a period that is over is paid out.
"""

import calendar
import datetime as dt
import re

from django.core.exceptions import ValidationError

from .weeks import local_zone

PERIOD_FORMAT = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(value: str, *, field: str = "period") -> dt.date:
    """'YYYY-MM' -> the first day of that month, or ValidationError naming `field`."""
    match = PERIOD_FORMAT.match((value or "").strip()) if isinstance(value, str) else None
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise ValidationError({field: f"{value!r} is not a month of the form YYYY-MM."})
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def next_month(first: dt.date) -> dt.date:
    return dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)


def period_last_day(period: dt.date) -> dt.date:
    return period.replace(day=calendar.monthrange(period.year, period.month)[1])


def period_bounds(period: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Aware [start, end) of a month in TIME_ZONE."""
    zone = local_zone()
    first = period.replace(day=1)
    start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    return start, dt.datetime.combine(next_month(first), dt.time.min, tzinfo=zone)


def period_end(period: dt.date) -> dt.datetime:
    """The moment the month is over: the next month's first day, 00:00 local time."""
    return period_bounds(period)[1]


def period_of(moment: dt.datetime) -> dt.date:
    """The month a moment falls in, local time."""
    return moment.astimezone(local_zone()).date().replace(day=1)


def previous_period(now: dt.datetime) -> dt.date:
    """The month before the one `now` falls in (local time): the monthly job's period."""
    return (period_of(now) - dt.timedelta(days=1)).replace(day=1)


def require_ended_period(period, *, now: dt.datetime, field: str = "period") -> dt.date:
    """The period (a month's first day) if that month is over at `now`, else
    ValidationError naming `field`."""
    if isinstance(period, dt.datetime) or not isinstance(period, dt.date) or period.day != 1:
        raise ValidationError({field: f"{period!r} is not the first day of a month."})
    ends = period_end(period)
    if now < ends:
        raise ValidationError(
            {field: f"{period:%Y-%m} has not ended yet (it ends {ends:%Y-%m-%d %H:%M %Z}); "
                    "only a month that is over is paid out."}
        )  # fmt: skip
    return period

"""core.months: periods (YYYY-MM) and their bounds in the site's time zone."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from core.months import (
    next_month,
    parse_period,
    period_bounds,
    period_last_day,
    previous_period,
    require_ended_period,
)


@pytest.mark.parametrize("text", ["2026-1", "2026-13", "2026-00", "1999-12", "26-11", "",
                                  "2026-11-01", "november", None, 202611])  # fmt: skip
def test_a_malformed_period_is_refused_naming_the_field(text):
    with pytest.raises(ValidationError) as caught:
        parse_period(text, field="--period")
    assert "--period" in caught.value.message_dict


def test_months_roll_over_the_year():
    assert parse_period(" 2026-12 ") == dt.date(2026, 12, 1)
    assert next_month(dt.date(2026, 12, 1)) == dt.date(2027, 1, 1)
    assert period_last_day(dt.date(2028, 2, 1)) == dt.date(2028, 2, 29)
    start, end = period_bounds(dt.date(2026, 12, 1))
    assert (start.date(), end.date()) == (dt.date(2026, 12, 1), dt.date(2027, 1, 1))
    assert end - start >= dt.timedelta(days=31) - dt.timedelta(hours=1)


def test_only_a_month_that_is_over_passes(settings):
    settings.TIME_ZONE = "America/New_York"
    november = dt.date(2026, 11, 1)
    end = period_bounds(november)[1]
    with pytest.raises(ValidationError, match="has not ended yet"):
        require_ended_period(november, now=end - dt.timedelta(seconds=1))
    assert require_ended_period(november, now=end) == november
    with pytest.raises(ValidationError, match="not the first day"):
        require_ended_period(dt.date(2026, 11, 2), now=end)
    # 03:00 UTC on Dec 1 is still November in New York.
    assert previous_period(dt.datetime(2026, 12, 1, 3, tzinfo=dt.UTC)) == dt.date(2026, 10, 1)

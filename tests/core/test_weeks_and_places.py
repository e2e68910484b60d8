import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from core.places import city_q, parse_place, place_key
from core.weeks import (
    is_week_over,
    last_completed_week,
    parse_week,
    require_ended_week,
    require_week,
    week_bounds,
    week_from_iso,
    week_of,
)

NY = ZoneInfo("America/New_York")


@pytest.fixture(autouse=True)
def _new_york(settings):
    settings.TIME_ZONE = "America/New_York"


def test_a_week_that_crosses_the_fall_dst_change_is_169_hours_and_has_no_gap():
    start, end = week_bounds(dt.date(2026, 10, 26))  # DST ends Sunday Nov 1, 2026
    # Same-zone subtraction in Python is wall-clock; the real length is measured in UTC.
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=169)
    assert week_bounds(dt.date(2026, 11, 2))[0] == end


def test_the_monday_job_distributes_the_week_that_just_ended():
    monday_6am = dt.datetime(2026, 11, 23, 6, 0, tzinfo=NY)
    assert last_completed_week(monday_6am) == dt.date(2026, 11, 16)
    assert is_week_over(dt.date(2026, 11, 16), monday_6am)
    assert not is_week_over(dt.date(2026, 11, 23), monday_6am)


def test_sunday_late_evening_local_time_is_still_that_week_although_utc_is_monday():
    sunday_night = dt.datetime(2026, 11, 23, 3, 30, tzinfo=dt.UTC)  # Sun 22:30 in New York
    assert week_of(sunday_night) == dt.date(2026, 11, 16)


def test_a_date_inside_a_week_means_that_week():
    assert parse_week("2026-11-19") == dt.date(2026, 11, 16)


@pytest.mark.parametrize("bad", ["2026-13-01", "next week", "", None, "2026/11/16"])
def test_a_malformed_week_is_refused(bad):
    with pytest.raises(ValidationError) as exc:
        parse_week(bad)
    assert set(exc.value.message_dict) == {"week"}


def test_a_week_is_a_date_that_is_a_monday():
    assert require_week(dt.date(2026, 11, 16)) == dt.date(2026, 11, 16)
    for bad in (dt.date(2026, 11, 17), dt.datetime(2026, 11, 16, tzinfo=dt.UTC), "2026-11-16"):
        with pytest.raises(ValidationError) as exc:
            require_week(bad, "--week")
        assert set(exc.value.message_dict) == {"--week"}


def test_tasks_pass_a_week_as_its_monday_in_iso_form():
    assert week_from_iso("2026-11-16") == dt.date(2026, 11, 16)
    for bad in ("2026-11-17", "16/11/2026", None):
        with pytest.raises(ValidationError) as exc:
            week_from_iso(bad)
        assert set(exc.value.message_dict) == {"week_start"}


def test_only_an_ended_week_is_taken_where_one_must_be_over():
    monday = dt.date(2026, 11, 16)
    end = week_bounds(monday)[1]
    assert require_ended_week(monday, now=end) == monday
    with pytest.raises(ValidationError) as exc:
        require_ended_week(monday, now=end - dt.timedelta(seconds=1))
    assert "has not ended yet" in exc.value.message_dict["week_start"][0]


def test_places_are_compared_trimmed_and_case_insensitively():
    assert place_key("  springfield ", "vt") == place_key("Springfield", "VT")
    assert place_key("Springfield", "VT") != place_key("Springfield", "KY")
    assert parse_place("Springfield,  ky") == ("Springfield", "KY")
    assert city_q(" SPRINGFIELD", "vt") == city_q("springfield", "VT")


@pytest.mark.parametrize("bad", ["Springfield", "Springfield, Vermont", ", VT", 5])
def test_a_malformed_place_is_refused(bad):
    with pytest.raises(ValidationError):
        parse_place(bad)

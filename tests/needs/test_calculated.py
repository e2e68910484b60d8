"""Calculated needs: after a weekly distribution, the reported gap less the money given
since it was reported (needs.services.sync_calculated_needs has the rule). The money given
is what the engine told needs (record_money_received); needs never reads the ledger."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from needs import services
from needs.models import Need, NeedChange
from needs.selectors import charity_weights
from tests.factories import CharityFactory

pytestmark = pytest.mark.django_db

WEEK = dt.date(2026, 11, 16)  # a Monday
NEXT_WEEK = WEEK + dt.timedelta(days=7)


def report(charity, category="food", urgency=80, gap=100_000, *, at, source="manual"):
    return services.create_need(
        charity=charity,
        category=category,
        urgency_score=urgency,
        funding_gap_cents=gap,
        source=source,
        at=at,
    )


def give(charity, cents, *, week=WEEK, at):
    """What the engine does when it gives a charity money: it tells needs."""
    services.record_money_received(week_start=week, amounts={charity.pk: cents}, at=at)


@pytest.fixture
def t0():
    return timezone.now() - dt.timedelta(days=3)


def calculated(charity, category="food"):
    return Need.objects.get(charity=charity, category=category, source="calculated")


def test_the_gap_is_reduced_by_what_the_charity_received(t0):
    charity = CharityFactory()
    reported = report(charity, gap=100_000, at=t0)
    give(charity, 30_000, at=t0 + dt.timedelta(hours=1))
    give(charity, 5_000, at=t0 + dt.timedelta(hours=1))

    assert services.record_distributed_week(WEEK) == {
        "charities": 1, "created": 1, "updated": 0, "unchanged": 0,
    }  # fmt: skip

    calc = calculated(charity)
    assert calc.funding_gap_cents == 65_000
    assert calc.urgency_score == 80
    assert calc.last_updated == reported.last_updated
    assert calc.metadata["reported_need_id"] == reported.pk
    assert calc.metadata["distributed_since_cents"] == 35_000
    reported.refresh_from_db()
    assert reported.funding_gap_cents == 100_000  # what the charity said is kept


def test_next_weeks_weight_sees_what_was_already_given(t0):
    charity = CharityFactory()
    report(charity, urgency=50, gap=100_000, at=t0)
    give(charity, 40_000, at=t0 + dt.timedelta(hours=1))
    services.record_distributed_week(WEEK)
    weight, gap, urgency = charity_weights([charity.pk], now=timezone.now())[charity.pk]
    assert (weight, gap, urgency) == (50 * 60_000, 60_000, 50)


def test_recording_the_same_week_twice_changes_nothing(t0):
    charity = CharityFactory()
    report(charity, gap=100_000, at=t0)
    give(charity, 30_000, at=t0 + dt.timedelta(hours=1))
    services.record_distributed_week(WEEK)
    changes = NeedChange.objects.count()
    again = services.record_distributed_week(WEEK)
    assert again["unchanged"] == 1 and again["created"] == again["updated"] == 0
    assert calculated(charity).funding_gap_cents == 70_000
    assert NeedChange.objects.count() == changes


def test_money_given_before_the_report_does_not_count(t0):
    charity = CharityFactory()
    give(charity, 30_000, at=t0 - dt.timedelta(days=1))
    report(charity, gap=100_000, at=t0)
    give(charity, 10_000, week=NEXT_WEEK, at=t0 + dt.timedelta(hours=1))
    services.record_distributed_week(NEXT_WEEK)
    assert calculated(charity).funding_gap_cents == 90_000


def test_weeks_add_up(t0):
    charity = CharityFactory()
    report(charity, gap=100_000, at=t0)
    give(charity, 10_000, week=WEEK, at=t0 + dt.timedelta(hours=1))
    services.record_distributed_week(WEEK)
    give(charity, 25_000, week=NEXT_WEEK, at=t0 + dt.timedelta(hours=2))
    services.record_distributed_week(NEXT_WEEK)
    calc = calculated(charity)
    assert calc.funding_gap_cents == 65_000
    history = list(calc.changes.order_by("changed_at", "id"))
    assert [(h.old_funding_gap_cents, h.new_funding_gap_cents) for h in history] == [
        (None, 90_000),
        (90_000, 65_000),
    ]
    assert {h.source for h in history} == {"calculated"}


def test_the_gap_never_goes_below_zero(t0):
    charity = CharityFactory()
    report(charity, gap=10_000, at=t0)
    give(charity, 25_000, at=t0 + dt.timedelta(hours=1))
    services.record_distributed_week(WEEK)
    assert calculated(charity).funding_gap_cents == 0
    assert charity_weights([charity.pk], now=timezone.now()) == {charity.pk: (0, 0, 80)}


def test_money_is_split_over_categories_by_their_gaps_to_the_cent(t0):
    charity = CharityFactory()
    report(charity, "food", gap=30_000, at=t0)
    report(charity, "housing", gap=10_000, at=t0)
    report(charity, "youth", gap=20_001, at=t0)
    give(charity, 10_001, at=t0 + dt.timedelta(hours=1))
    services.record_distributed_week(WEEK)
    given = {
        c: reported - calculated(charity, c).funding_gap_cents
        for c, reported in {"food": 30_000, "housing": 10_000, "youth": 20_001}.items()
    }
    assert sum(given.values()) == 10_001
    assert given == {"food": 5_000, "housing": 1_667, "youth": 3_334}


def test_a_new_report_starts_from_what_the_charity_now_says(t0):
    charity = CharityFactory()
    report(charity, gap=100_000, at=t0)
    give(charity, 30_000, at=t0 + dt.timedelta(hours=1))
    services.record_distributed_week(WEEK)
    report(charity, gap=80_000, at=t0 + dt.timedelta(hours=2))  # the charity's new figure
    calc = calculated(charity)
    assert calc.funding_gap_cents == 80_000
    assert charity_weights([charity.pk], now=timezone.now())[charity.pk][1] == 80_000


def test_reconfirming_an_unchanged_gap_does_not_forget_what_was_given(t0):
    charity = CharityFactory()
    report(charity, gap=100_000, at=t0, source="api")
    give(charity, 30_000, at=t0 + dt.timedelta(hours=1))
    services.record_distributed_week(WEEK)
    # The daily feed sends the same numbers again: the report is newer but says nothing new.
    report(charity, gap=100_000, at=t0 + dt.timedelta(days=1), source="api")
    assert charity_weights([charity.pk], now=timezone.now())[charity.pk][1] == 70_000


def test_a_calculated_need_is_only_as_fresh_as_the_report(settings):
    charity = CharityFactory()
    long_ago = timezone.now() - dt.timedelta(days=settings.NEEDS_MAX_AGE_DAYS + 2)
    report(charity, gap=100_000, at=long_ago)
    give(charity, 1_000, at=long_ago + dt.timedelta(hours=1))
    services.record_distributed_week(WEEK)
    assert calculated(charity).funding_gap_cents == 99_000
    assert charity_weights([charity.pk], now=timezone.now()) == {}


def test_charities_that_received_nothing_that_week_are_left_alone(t0):
    charity = CharityFactory()
    report(charity, gap=100_000, at=t0)
    assert services.record_distributed_week(WEEK)["charities"] == 0
    assert not Need.objects.filter(source="calculated").exists()


def test_deleting_the_reported_need_deletes_its_calculated_need(t0):
    charity = CharityFactory()
    reported = report(charity, gap=100_000, at=t0)
    give(charity, 30_000, at=t0 + dt.timedelta(hours=1))
    services.record_distributed_week(WEEK)
    services.delete_need(reported)
    assert not Need.objects.filter(charity=charity).exists()


@pytest.mark.parametrize("week", [dt.date(2026, 11, 17), "2026-11-16", None])
def test_a_week_that_is_not_a_monday_date_is_refused(week):
    with pytest.raises(ValidationError):
        services.record_distributed_week(week)

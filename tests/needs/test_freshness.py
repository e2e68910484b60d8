"""Needs older than NEEDS_MAX_AGE_DAYS do not count toward a charity's weight."""

import datetime as dt

import pytest
from django.utils import timezone

from needs.selectors import charity_weights
from tests.factories import CharityFactory, NeedFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


def test_a_need_older_than_the_maximum_age_does_not_count(settings, now):
    settings.NEEDS_MAX_AGE_DAYS = 7
    charity = CharityFactory()
    NeedFactory(charity=charity, category="food", urgency_score=10, funding_gap_cents=100,
                last_updated=now - dt.timedelta(days=6, hours=23))  # fmt: skip
    NeedFactory(charity=charity, category="youth", urgency_score=90, funding_gap_cents=900,
                last_updated=now - dt.timedelta(days=7, minutes=1))  # fmt: skip
    assert charity_weights([charity.pk], now=now) == {charity.pk: (1000, 100, 10)}


def test_a_charity_whose_needs_are_all_stale_has_no_weight(settings, now):
    charity = CharityFactory()
    NeedFactory(charity=charity, last_updated=now - dt.timedelta(days=31))
    assert charity_weights([charity.pk], now=now) == {}


def test_freshness_is_judged_at_the_moment_of_the_run(now):
    charity = CharityFactory()
    NeedFactory(charity=charity, urgency_score=10, funding_gap_cents=100,
                last_updated=now - dt.timedelta(days=20))  # fmt: skip
    assert charity_weights([charity.pk], now=now) == {charity.pk: (1000, 100, 10)}
    assert charity_weights([charity.pk], now=now + dt.timedelta(days=11)) == {}
    assert charity_weights([charity.pk], now=now - dt.timedelta(days=21)) == {}


def test_per_category_the_newest_report_counts_and_a_tie_goes_to_staff(now):
    charity = CharityFactory()
    NeedFactory(charity=charity, source="api", urgency_score=50, funding_gap_cents=100,
                last_updated=now - dt.timedelta(days=1))  # fmt: skip
    NeedFactory(charity=charity, source="manual", urgency_score=70, funding_gap_cents=100,
                last_updated=now - dt.timedelta(days=2))  # fmt: skip
    assert charity_weights([charity.pk], now=now)[charity.pk] == (5000, 100, 50)
    NeedFactory(charity=charity, category="youth", source="api", urgency_score=1,
                funding_gap_cents=1, last_updated=now)  # fmt: skip
    NeedFactory(charity=charity, category="youth", source="manual", urgency_score=2,
                funding_gap_cents=1, last_updated=now)  # fmt: skip
    assert charity_weights([charity.pk], now=now)[charity.pk] == (5002, 101, 50)

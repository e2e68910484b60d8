"""A need's remaining gap: its reported gap less what it has received since that gap was
set (needs.selectors has the rule). What a need received is what the weekly engine
credited it (record_money_received); needs never reads the ledger."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from needs import services
from needs.models import MoneyReceived, Need
from needs.selectors import charity_weights, get_needs_by_city
from tests.factories import CharityFactory

pytestmark = pytest.mark.django_db

WEEK = dt.date(2026, 11, 16)  # a Monday


def report(charity, category="food", urgency=80, gap=100_000, *, at, source="manual"):
    return services.create_need(
        charity=charity,
        category=category,
        urgency_score=urgency,
        funding_gap_cents=gap,
        source=source,
        at=at,
    )


def give(need, cents, *, at, week=WEEK):
    """What the engine does when it credits a need: it tells needs."""
    services.record_money_received(week_start=week, amounts={need.pk: cents}, at=at)


def counted(charity, *, now):
    return {n.category: n for n in get_needs_by_city(charity.city, charity.state, now=now)}


@pytest.fixture
def t0():
    return timezone.now() - dt.timedelta(days=3)


def test_the_remaining_gap_is_the_report_less_what_the_need_received_since(t0):
    charity = CharityFactory()
    food = report(charity, gap=100_000, at=t0)
    give(food, 30_000, at=t0 + dt.timedelta(hours=1))
    give(food, 5_000, at=t0 + dt.timedelta(days=1), week=WEEK + dt.timedelta(days=7))
    need = counted(charity, now=timezone.now())["food"]
    assert (need.funding_gap_cents, need.received_cents) == (100_000, 35_000)
    assert need.remaining_gap_cents == 65_000
    assert charity_weights([charity.pk], now=timezone.now()) == {
        charity.pk: (80 * 65_000, 65_000, 80)
    }


def test_money_received_before_the_report_does_not_count(t0):
    charity = CharityFactory()
    old = report(charity, gap=100_000, at=t0 - dt.timedelta(days=2))
    give(old, 40_000, at=t0 - dt.timedelta(days=1))
    report(charity, gap=90_000, at=t0)  # new figures: a new report, counted afresh
    assert counted(charity, now=timezone.now())["food"].remaining_gap_cents == 90_000


def test_reconfirming_the_same_figures_does_not_forget_what_was_given(t0):
    charity = CharityFactory()
    food = report(charity, gap=100_000, at=t0)
    give(food, 30_000, at=t0 + dt.timedelta(hours=1))
    report(charity, gap=100_000, at=t0 + dt.timedelta(days=1))  # a feed saying it again
    need = counted(charity, now=timezone.now())["food"]
    assert need.last_updated == t0 + dt.timedelta(days=1)
    assert need.gap_set_at == t0
    assert need.remaining_gap_cents == 70_000


def test_the_remaining_gap_never_goes_below_zero(t0):
    charity = CharityFactory()
    food = report(charity, urgency=60, gap=1_000, at=t0)
    give(food, 3_000, at=t0 + dt.timedelta(hours=1))  # more than the gap once every gap is met
    assert counted(charity, now=timezone.now())["food"].remaining_gap_cents == 0
    assert charity_weights([charity.pk], now=timezone.now()) == {charity.pk: (0, 0, 60)}


def test_what_one_need_received_never_counts_against_another(t0):
    charity = CharityFactory()
    food = report(charity, "food", gap=10_000, at=t0)
    report(charity, "housing", gap=10_000, at=t0)
    give(food, 10_000, at=t0 + dt.timedelta(hours=1))
    needs = counted(charity, now=timezone.now())
    assert (needs["food"].remaining_gap_cents, needs["housing"].remaining_gap_cents) == (0, 10_000)


def test_a_stale_need_counts_for_nothing_whatever_it_received(settings, t0):
    settings.NEEDS_MAX_AGE_DAYS = 30
    charity = CharityFactory()
    report(charity, gap=1_000, at=t0 - dt.timedelta(days=40))
    assert counted(charity, now=timezone.now()) == {}
    assert charity_weights([charity.pk], now=timezone.now()) == {}


def test_recording_writes_one_row_per_need_credited_and_skips_nothing_given(t0):
    charity = CharityFactory()
    food = report(charity, "food", at=t0)
    housing = report(charity, "housing", at=t0)
    written = services.record_money_received(
        week_start=WEEK, amounts={food.pk: 250, housing.pk: 0}, at=t0
    )
    assert written == 1
    row = MoneyReceived.objects.get()
    assert (row.need_id, row.charity_id, row.amount_cents, row.received_at) == (
        food.pk, charity.pk, 250, t0,
    )  # fmt: skip


def test_only_reported_needs_are_written_by_the_services(t0):
    charity = CharityFactory()
    with pytest.raises(ValidationError) as exc:
        report(charity, source="calculated", at=t0)
    assert set(exc.value.message_dict) == {"source"}
    assert not Need.objects.exists()

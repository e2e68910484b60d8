"""payouts.selectors: each figure of the platform summary and of a charity, checked
against sums taken here from the rows the world was built with."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from core.months import parse_period, period_bounds
from distributions.models import Distribution
from payouts.models import Payout
from payouts.selectors import (
    get_charities_money,
    get_charity_money,
    get_money_summary,
    get_next_payout,
    get_statement,
)
from payouts.services import run_payouts
from tests.factories import CharityFactory, SubscriptionFactory
from tests.payouts import world as w
from tests.payouts.conftest import NOW, OCT_WEEKS, PERIOD, ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings):
    settings.TIME_ZONE = "America/New_York"
    return w.build()


def _sum(items, attr):
    return sum(getattr(i, attr) or 0 for i in items)


def test_the_november_summary_adds_up_from_the_rows(world):
    start, end = period_bounds(w.NOVEMBER)
    summary = get_money_summary(w.NOVEMBER)
    in_month = [c for c in world.contributions if start <= c.paid_at < end]
    to_end = [c for c in world.contributions if c.paid_at < end]
    pending = [c for c in in_month if c.fee_cents is None]
    flow = summary.in_period
    assert flow.gross_cents == _sum(in_month, "amount_cents") == 5730
    assert flow.fees_cents == _sum(in_month, "fee_cents") == 89
    assert flow.net_cents == _sum(in_month, "net_cents")
    assert (flow.pending_count, flow.pending_gross_cents) == (1, _sum(pending, "amount_cents"))
    rows_in = [r for r in world.rows if start <= r.created_at < end]
    rows_to_end = [r for r in world.rows if r.created_at < end]
    assert flow.distributed_cents == _sum(rows_in, "amount_cents")

    balance = summary.to_end
    assert balance.gross_cents == _sum(to_end, "amount_cents")
    assert balance.distributed_cents == _sum(rows_to_end, "amount_cents")
    # Held at the end of November: the contribution never distributed and the one whose
    # rows were written on December 1st.
    held = [
        c for c in to_end if c.net_cents and (c.distributed_week in (None, dt.date(2026, 11, 23)))
    ]
    assert balance.held_cents == _sum(held, "net_cents") == 1500
    paid = next(p for p in world.payouts if p.status == "paid")
    pending_payout = next(p for p in world.payouts if p.status == "pending")
    assert balance.paid_out_cents == paid.amount_cents
    assert balance.in_payment_cents == pending_payout.amount_cents
    assert balance.owed_cents == balance.distributed_cents - paid.amount_cents
    # The month's own payouts: the failed October one is neither.
    assert (flow.paid_out_cents, flow.in_payment_cents) == (paid.amount_cents, 400)
    assert summary.holds, [i for i in summary.identities if not i.holds]


def test_the_summary_takes_a_fixed_number_of_queries(world, django_assert_num_queries):
    # contributions in the month and to its end, the rows, held, the slices to the end,
    # the month's payouts, all live payouts and all live slices: never one per row.
    with django_assert_num_queries(8):
        get_money_summary(w.NOVEMBER)
    w.build(1)
    with django_assert_num_queries(8):
        get_money_summary(w.NOVEMBER)


def test_a_row_without_its_money_shows_a_mismatch(world):
    stray = SubscriptionFactory()
    Distribution.objects.create(
        subscription=stray, charity=world.food, amount_cents=123, reason="Made up.",
        week_start=dt.date(2026, 11, 9), distribution_date=dt.date(2026, 11, 16),
    )  # fmt: skip
    summary = get_money_summary(w.NOVEMBER.replace(month=12))
    broken = {i.name: i.difference_cents for i in summary.identities if not i.holds}
    assert broken == {"Net given or held": -123}
    assert not summary.holds


def test_a_payout_that_disagrees_with_its_rows_shows_a_mismatch(world):
    Payout.objects.filter(status="paid").update(amount_cents=9999)
    summary = get_money_summary(w.NOVEMBER)
    broken = [i.name for i in summary.identities if not i.holds]
    assert broken == ["Payouts match their rows"]


def test_each_charitys_money_comes_from_its_rows_and_payouts(world, django_assert_num_queries):
    with django_assert_num_queries(2):
        money = get_charities_money([world.food.pk, world.arts.pk])
    for charity in (world.food, world.arts):
        rows = [r for r in world.rows if r.charity_id == charity.pk]
        mine = [p for p in world.payouts if p.charity_id == charity.pk]
        m = money[charity.pk]
        assert m.distributed_cents == _sum(rows, "amount_cents")
        assert m.paid_out_cents == _sum(
            [p for p in mine if p.status in ("sent", "paid")], "amount_cents"
        )
        assert m.in_payment_cents == _sum(
            [p for p in mine if p.status == "pending"], "amount_cents"
        )
        assert m.owed_cents == m.distributed_cents - m.paid_out_cents
    assert money[world.arts.pk].owed_cents == 400 + 680  # the failed payout's rows are owed again


def test_a_statement_lists_weeks_with_donors_counted_and_the_months_payouts(world):
    statement = get_statement(world.food, w.NOVEMBER)
    assert [(x.week_start.day, x.amount_cents, x.donors) for x in statement.weeks] == [
        (9, 600 + 1941, 2),
        (23, 1000, 1),
    ]
    assert statement.total_cents == sum(
        r.amount_cents
        for r in world.rows
        if r.charity_id == world.food.pk and r.week_start.month == 11
    )
    assert [p.status for p in statement.payouts] == ["paid"]
    assert statement.paid_out_cents == 2541


@pytest.mark.parametrize(
    "bad", ["2026-13", "2026-1", "26-01", "2026-00", "november", "", "2026-01-01"]
)
def test_a_bad_period_is_refused(bad):
    with pytest.raises(ValidationError):
        parse_period(bad)


def test_a_period_is_a_local_calendar_month(settings):
    settings.TIME_ZONE = "America/New_York"
    start, end = period_bounds(parse_period("2026-12"))
    assert (start.isoformat(), end.isoformat()) == (
        "2026-12-01T00:00:00-05:00",
        "2027-01-01T00:00:00-05:00",
    )


def test_the_next_payout_says_when_everything_owed_is_already_in_a_payout(db):
    charity = CharityFactory(ein="")  # approved, no EIN: eligible
    ledger(charity, OCT_WEEKS[0], [2500])
    run_payouts(PERIOD, now=NOW)
    money = get_charity_money(charity)
    assert (money.in_payment_cents, money.payable_cents) == (2500, 0)
    nxt = get_next_payout(charity, money=money, now=NOW)
    assert not nxt.would_pay
    assert nxt.why_not == "nothing new to pay: all it is owed is in a payout already"

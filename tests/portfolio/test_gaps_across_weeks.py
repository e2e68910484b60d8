"""Gaps hold across weeks (DESIGN.md, "Meaning"): a need receives at most its reported gap
from its report until it is reported again, stale needs neither weigh nor absorb money,
and a city whose gaps are all met still gives, by urgency x reported gap. Each case is one
of the hand-built worlds that showed the old rule leaking, run week after week."""

import datetime as dt

import pytest
from django.db.models import Sum

from distributions.models import Distribution
from needs.models import MoneyReceived
from needs.services import create_need
from portfolio.services import distribute_funds
from tests.factories import CharityFactory, NeedFactory
from tests.portfolio.scenario import WEEK, at, donor, lines, paid

pytestmark = pytest.mark.django_db


def week(k: int) -> dt.date:
    return WEEK + dt.timedelta(weeks=k)


def run_week(k: int, payments=()):
    """Pay in week k, then run it at 06:00 on the Monday after, as the job would."""
    for user, cents in payments:
        paid(user, cents, when=at(week(k) + dt.timedelta(days=2)))
    return distribute_funds(week(k), now=at(week(k) + dt.timedelta(days=7), 6))


def given(charity, k=None) -> int:
    rows = Distribution.objects.filter(charity=charity)
    if k is not None:
        rows = rows.filter(week_start=week(k))
    return rows.aggregate(s=Sum("amount_cents"))["s"] or 0


def test_a_stale_need_never_absorbs_the_money_a_current_need_brought(settings):
    settings.NEEDS_MAX_AGE_DAYS = 30
    small = CharityFactory(name="Small Need")
    NeedFactory(charity=small, category="food", urgency_score=100, funding_gap_cents=1_000,
                last_updated=at(WEEK))  # $10, current  # fmt: skip
    NeedFactory(
        charity=small,
        category="housing",
        urgency_score=100,
        funding_gap_cents=100_000,
        last_updated=at(WEEK - dt.timedelta(days=45)),
    )
    neighbour = CharityFactory(name="Neighbour")
    NeedFactory(charity=neighbour, category="food", urgency_score=1,
                funding_gap_cents=100_000, last_updated=at(WEEK))  # fmt: skip
    alice = donor()

    for k in range(3):
        run_week(k, [(alice, 4_000)])

    # Week one fills the $10 gap (its exact share was $20); afterwards the neighbour,
    # who still has room, takes everything. The stale $1,000 need took nothing, ever.
    assert [given(small, k) for k in range(3)] == [1_000, 0, 0]
    assert [given(neighbour, k) for k in range(3)] == [3_000, 4_000, 4_000]
    assert not MoneyReceived.objects.filter(need__category="housing").exists()


def test_a_city_whose_gaps_are_all_met_still_gives_by_urgency_and_reported_gap():
    food = CharityFactory(name="Food")
    NeedFactory(charity=food, urgency_score=90, funding_gap_cents=1_000, last_updated=at(WEEK))
    books = CharityFactory(name="Books")
    NeedFactory(charity=books, urgency_score=30, funding_gap_cents=1_000, last_updated=at(WEEK))
    alice = donor()

    run_week(0, [(alice, 2_000)])  # exactly both gaps
    run = run_week(1, [(alice, 4_000)])  # every gap is met now

    assert [given(food, 0), given(books, 0)] == [1_000, 1_000]
    # 90 x $10 against 30 x $10: three to one.
    assert [given(food, 1), given(books, 1)] == [3_000, 1_000]
    line = lines(run)["Springfield, VT"]
    assert (line.status, line.held_cents) == ("done", 0)
    reason = Distribution.objects.get(charity=food, week_start=week(1)).reason
    assert "its $10 gap was already met, as is every gap in Springfield, VT" in reason
    assert "this week's $30 is shared by need" in reason


def test_a_new_report_starts_the_gap_afresh_and_the_same_figures_do_not(alice):
    shelter = CharityFactory(name="Shelter")
    first = create_need(charity=shelter, category="housing", urgency_score=80,
                        funding_gap_cents=1_000, at=at(WEEK))  # fmt: skip
    other = CharityFactory(name="Other")
    NeedFactory(charity=other, urgency_score=1, funding_gap_cents=100_000,
                last_updated=at(WEEK))  # fmt: skip

    run_week(0, [(alice, 5_000)])
    assert given(shelter, 0) == 1_000  # its gap, while the other still had room
    # The feed says the same again: still current, still met.
    create_need(charity=shelter, category="housing", urgency_score=80, funding_gap_cents=1_000,
                source="manual", at=at(week(1)))  # fmt: skip
    run_week(1, [(alice, 5_000)])
    assert given(shelter, 1) == 0
    # New figures are a new report: the gap counts from now.
    create_need(charity=shelter, category="housing", urgency_score=80, funding_gap_cents=2_500,
                at=at(week(2)))  # fmt: skip
    run_week(2, [(alice, 5_000)])
    assert given(shelter, 2) == 2_500
    assert first.pk == shelter.needs.get().pk


def test_a_charitys_money_is_credited_to_its_needs_by_weight_each_up_to_its_gap():
    home = CharityFactory(name="Home")
    food = NeedFactory(charity=home, category="food", urgency_score=50, funding_gap_cents=600,
                       last_updated=at(WEEK))  # fmt: skip
    rent = NeedFactory(charity=home, category="housing", urgency_score=50,
                       funding_gap_cents=100_000, last_updated=at(WEEK))  # fmt: skip
    run_week(0, [(donor(), 10_000)])
    credited = dict(MoneyReceived.objects.values_list("need_id", "amount_cents"))
    # By weight food would take 10,000 x 600 / 100,600 = 59.6 cents, well inside its gap;
    # the rest goes to rent. Every cent the charity got is credited to one of its needs.
    assert credited == {food.pk: 60, rent.pk: 9_940}
    assert sum(credited.values()) == given(home) == 10_000

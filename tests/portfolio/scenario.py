"""Building blocks for engine, command and report tests: a past week, a clock inside the
following week, charities with current needs, donors who paid."""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from django.conf import settings

from tests.factories import (
    CharityFactory,
    ContributionFactory,
    NeedFactory,
    SubscriptionFactory,
    UserFactory,
)

WEEK = dt.date(2026, 11, 9)  # a Monday


def zone():
    return ZoneInfo(settings.TIME_ZONE)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=zone())


# The Monday job's clock: 06:00 on the Monday after WEEK.
NOW = at(WEEK + dt.timedelta(days=7), 6)
PAID = at(WEEK + dt.timedelta(days=2))  # a Wednesday inside WEEK

_ids = itertools.count(1)


def charity(
    city="Springfield", state="VT", *, urgency=80, gap=1_000_000, name=None, updated=None, **kw
):
    """An approved charity with one need current at NOW (or at `updated`)."""
    c = CharityFactory(city=city, state=state, **({"name": name} if name else {}), **kw)
    if urgency is not None:
        NeedFactory(charity=c, urgency_score=urgency, funding_gap_cents=gap,
                    last_updated=updated or NOW - dt.timedelta(days=1))  # fmt: skip
    return c


def donor(city="Springfield", state="VT", **kw):
    return UserFactory(city=city, state=state, zip_code="", **kw)


def paid(user, amount=1000, *, when=PAID, status="active", subscription=None):
    """A subscription (non-demo id, so demo billing leaves it alone) and one payment."""
    if subscription is None:
        subscription = SubscriptionFactory(
            user=user,
            amount_cents=max(amount, 100),
            status=status,
            stripe_subscription_id=f"sub_test_{next(_ids):06d}",
        )
    return ContributionFactory(subscription=subscription, amount_cents=amount, paid_at=when)


def lines(run) -> dict:
    """A run's lines by place label ("Springfield, VT", "(no city set)")."""
    from distributions.selectors import get_run_cities

    return {line.place: line for line in get_run_cities(run)}

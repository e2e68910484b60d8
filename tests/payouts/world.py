"""A small money world for the payouts tests, built row by row with the ORM so each
figure can be summed independently of payouts.selectors.

November 2026 in America/New_York. Contributions: fees read, a demo one (no fee), one
whose fee is not read yet, one of October, one paid in November and distributed in
December (held at the end of November), one never distributed (held). Payouts: a paid
manual payout to Food, a pending one to Arts, a failed one to Arts (its slice not live).
"""

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from distributions.models import Distribution
from payouts.models import Payout, PayoutSlice
from tests.factories import CharityFactory, ContributionFactory, SubscriptionFactory

ZONE = ZoneInfo("America/New_York")
NOVEMBER = dt.date(2026, 11, 1)


def at(month, day, hour=12):
    return dt.datetime(2026, month, day, hour, tzinfo=ZONE)


@dataclass
class World:
    food: object = None
    arts: object = None
    contributions: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    payouts: list = field(default_factory=list)


def _contribution(world, sub, gross, fee, paid_at, week=None):
    if fee is None:
        kwargs = {"fee_cents": None, "net_cents": None, "fee_source": ""}
    else:
        source = "stripe" if fee else "demo"
        kwargs = {"fee_cents": fee, "net_cents": gross - fee, "fee_source": source}
    c = ContributionFactory(
        subscription=sub, amount_cents=gross, paid_at=paid_at, distributed_week=week, **kwargs
    )
    world.contributions.append(c)
    return c


def _row(world, sub, charity, cents, week, created_at):
    row = Distribution.objects.create(
        subscription=sub, charity=charity, amount_cents=cents, week_start=week,
        distribution_date=week + dt.timedelta(days=7), reason="Test.",
    )  # fmt: skip
    Distribution.objects.filter(pk=row.pk).update(created_at=created_at)
    row.refresh_from_db()
    world.rows.append(row)
    return row


def payout(world, charity, rows, *, status, period=NOVEMBER, reference="CHK 1001", live=True):
    amount = sum(r.amount_cents for r in rows)
    settled = at(12, 2) if status in ("paid", "failed", "reversed") else None
    p = Payout.objects.create(
        charity=charity, period=period, amount_cents=amount, method="manual", status=status,
        manual_reference=reference if status != "pending" else "",
        eligibility={"eligible": True}, created_at=at(12, 1), settled_at=settled,
    )  # fmt: skip
    first = rows[0]
    PayoutSlice.objects.create(
        payout=p, charity=charity, week_start=first.week_start,
        rows_created_at=first.created_at, amount_cents=amount, rows_count=len(rows), live=live,
    )  # fmt: skip
    world.payouts.append(p)
    return p


def build(n: int = 0) -> World:
    world = World()
    world.food = CharityFactory(name="Food Shelf", ein=f"0300{n:03d}01")
    world.arts = CharityFactory(name="Arts Center", ein=f"0300{n:03d}02")
    s1, s2, s3 = (SubscriptionFactory() for _ in range(3))
    nov9, nov23, oct19 = dt.date(2026, 11, 9), dt.date(2026, 11, 23), dt.date(2026, 10, 19)
    _contribution(world, s1, 1030, 30, at(11, 10), nov9)
    _contribution(world, s2, 2000, 59, at(11, 11), nov9)
    _contribution(world, s3, 500, 0, at(11, 12))  # held: no row ever
    _contribution(world, s1, 1200, None, at(11, 20))  # the fee is not read yet
    _contribution(world, s2, 700, 20, at(10, 20), oct19)
    _contribution(world, s3, 1000, 0, at(11, 25), nov23)  # its rows are written in December
    written = at(11, 17, 6)
    food_nov9 = [
        _row(world, s1, world.food, 600, nov9, written),
        _row(world, s2, world.food, 1941, nov9, written),
    ]
    arts_nov9 = [_row(world, s1, world.arts, 400, nov9, written)]
    arts_oct = [_row(world, s2, world.arts, 680, oct19, at(10, 26, 6))]
    _row(world, s3, world.food, 1000, nov23, at(12, 1, 6))
    payout(world, world.food, food_nov9, status="paid")
    payout(world, world.arts, arts_nov9, status="pending")
    payout(world, world.arts, arts_oct, status="failed", period=dt.date(2026, 10, 1), live=False)
    return world

"""generate_reports writes, for a whole week, exactly the reports the per-donor build
writes (generate_report, one donor at a time in Python) and what an independent sum of
the week's Distribution rows says. On PostgreSQL generate_reports builds them in the
database (reports.services._write_in_db); on SQLite in Python: run on both.

The world: two weeks of the real engine over three places, one with no vetted charity
(held money) and one that gets its first charity between the runs (released money),
donors with several subscriptions (one sentence per subscription), equal amounts to two
charities (ordered by charity), a donor who gave only the week before, a paused donor,
one whose payment's fee is still pending and one whose payment failed (no contribution
that week)."""

import datetime as dt
from collections import defaultdict

import pytest

from distributions.models import Distribution
from portfolio.services import distribute_funds
from reports import services
from reports.models import Report
from subscriptions.models import Contribution, FeeSource, Subscription
from tests.factories import DistributionFactory
from tests.portfolio.scenario import WEEK, at, charity, donor, paid

pytestmark = pytest.mark.django_db

LAST = WEEK - dt.timedelta(weeks=1)

# What the per-donor build and the set-based one must agree on: every field but the id
# and the time of writing.
FIELDS = [f.name for f in Report._meta.fields if f.name not in ("id", "generated_at")]


def _snapshot(week):
    return {
        r["user"]: r for r in Report.objects.filter(week_start=week).order_by().values(*FIELDS)
    }


def _expected_breakdowns(week) -> dict[int, list[dict]]:
    """The week's rows summed per donor and charity, straight from Distribution, with
    the reasons of a donor's several subscriptions joined in subscription order."""
    per = defaultdict(lambda: {"amount_cents": 0, "reasons": []})
    for row in (
        Distribution.objects.filter(week_start=week)
        .select_related("subscription", "charity")
        .order_by("subscription_id")
    ):
        item = per[(row.subscription.user_id, row.charity_id)]
        item["amount_cents"] += row.amount_cents
        item["reasons"].append(row.reason)
        item["charity_name"] = row.charity.name
    out = defaultdict(list)
    for (user_id, charity_id), item in per.items():
        out[user_id].append(
            {
                "charity_id": charity_id,
                "charity_name": item["charity_name"],
                "amount_cents": item["amount_cents"],
                "reason": " ".join(item["reasons"]),
            }
        )
    for items in out.values():
        items.sort(key=lambda i: (-i["amount_cents"], i["charity_id"]))
    return dict(out)


@pytest.fixture
def world():
    """Two weeks run by the engine; returns the donors by role."""
    fresh = at(LAST - dt.timedelta(days=1))  # needs current at both runs
    food = charity(name="Food Shelf", updated=fresh)
    shelter = charity(name="Shelter", urgency=40, updated=fresh)
    charity("Springfield", "KY", name="Pantry", updated=fresh)
    charity("Springfield", "KY", name="Clinic", urgency=60, updated=fresh)
    people = {
        "several": donor(email="several@example.org"),
        "kentucky": donor("Springfield", "KY", email="ky@example.org"),
        "held": donor("Casper", "WY", email="casper@example.org"),
        "last_week_only": donor(email="last@example.org"),
        "paused": donor("Springfield", "KY", email="paused@example.org"),
        "fee_pending": donor(email="pending@example.org"),
        "failed": donor(email="failed@example.org"),
        "plain": donor(email="plain@example.org"),
    }
    for week in (LAST, WEEK):
        when = at(week + dt.timedelta(days=2))
        paid(people["several"], 1500, when=when)
        paid(people["several"], 700, when=when)
        paid(people["kentucky"], 2300, when=when)
        paid(people["held"], 2000, when=when)
        paid(people["plain"], 999, when=when)
    paid(people["last_week_only"], 1200, when=at(LAST + dt.timedelta(days=3)))
    paid(people["paused"], 800, when=at(LAST + dt.timedelta(days=3)), status="paused")
    pending = paid(people["fee_pending"], 1000, when=at(WEEK + dt.timedelta(days=1)))
    Contribution.objects.filter(pk=pending.pk).update(
        fee_cents=None, net_cents=None, fee_source=FeeSource.PENDING
    )
    # Paid the week before; this week's payment failed: no contribution, Stripe past due.
    failed = paid(people["failed"], 1000, when=at(LAST + dt.timedelta(days=1)))
    Subscription.objects.filter(pk=failed.subscription_id).update(stripe_status="past_due")
    # Dover has no vetted charity at the first run (held) and one at the second
    # (released, with that week's own money).
    people["released"] = donor("Dover", "DE", email="dover@example.org")
    for week in (LAST, WEEK):
        paid(people["released"], 1800, when=at(week + dt.timedelta(days=4)))
    distribute_funds(LAST, now=at(WEEK, 6))
    charity("Dover", "DE", name="Dover Pantry", updated=fresh)
    distribute_funds(WEEK, now=at(WEEK + dt.timedelta(days=7), 6))
    # A donor's two rows of the same amount to two charities: ordered by charity id.
    tie = donor(email="tie@example.org")
    people["tie"] = tie
    for c in (shelter, food):
        DistributionFactory(subscription=paid(tie, 500).subscription, charity=c,
                            amount_cents=333, week_start=WEEK, reason=f"To {c.name}.")  # fmt: skip
    return people


def test_the_week_has_the_reports_an_independent_sum_of_its_rows_gives(world):
    written = services.generate_reports(WEEK)

    expected = _expected_breakdowns(WEEK)
    reports = _snapshot(WEEK)
    held = world["held"].pk
    assert set(reports) == set(expected) | {held}
    assert written == len(reports)
    for user_id, items in expected.items():
        report = reports[user_id]
        assert report["distribution_breakdown"] == items
        assert report["total_distributed_cents"] == sum(i["amount_cents"] for i in items)
        assert report["charities_supported"] == len(items)
    # The ones that matter by name.
    several = reports[world["several"].pk]["distribution_breakdown"]
    assert all(len(item["reason"].split(". ")) >= 2 for item in several)  # two sentences
    tie = reports[world["tie"].pk]["distribution_breakdown"]
    assert [i["amount_cents"] for i in tie] == [333, 333]
    assert tie[0]["charity_id"] < tie[1]["charity_id"]
    assert reports[held]["held_cents"] > 0 and reports[held]["distribution_breakdown"] == []
    released = reports[world["released"].pk]
    assert released["released_cents"] > 0 and released["total_distributed_cents"] > 0
    for name in ("last_week_only", "paused", "fee_pending", "failed"):
        assert world[name].pk not in reports, name
    assert world["last_week_only"].pk in _expected_breakdowns(LAST)


@pytest.mark.parametrize("chunk", [services.USER_CHUNK, 1, 2])
def test_the_set_based_build_writes_what_the_per_donor_build_writes(world, monkeypatch, chunk):
    # Small chunks put chunk bounds between donors, held ones among them.
    monkeypatch.setattr(services, "USER_CHUNK", chunk)
    services.generate_reports(WEEK)
    whole_week = _snapshot(WEEK)

    Report.objects.all().delete()
    for person in world.values():
        services.generate_report(person, WEEK)
    one_by_one = _snapshot(WEEK)

    assert whole_week == one_by_one
    assert len(whole_week) == 6  # several, kentucky, held, released, plain, tie


def test_a_chunk_of_listed_donors_writes_what_the_whole_week_writes(world):
    services.generate_reports(WEEK)
    whole_week = _snapshot(WEEK)
    Report.objects.all().delete()

    ids = sorted(p.pk for p in world.values())
    written = services.generate_reports(WEEK, user_ids=ids[:3]) + services.generate_reports(
        WEEK, user_ids=ids[3:]
    )

    assert written == len(whole_week)
    assert _snapshot(WEEK) == whole_week


def test_running_it_again_writes_no_duplicate_and_touches_nothing(world):
    first = services.generate_reports(WEEK)
    before = {r.pk: (r.generated_at, r.revision) for r in Report.objects.all()}
    contents = _snapshot(WEEK)

    assert services.generate_reports(WEEK) == first
    assert services.generate_reports(WEEK) == first

    assert Report.objects.count() == len(contents)
    assert _snapshot(WEEK) == contents
    assert {r.pk: (r.generated_at, r.revision) for r in Report.objects.all()} == before


def test_a_changed_week_revises_only_the_donors_whose_money_changed(world):
    services.generate_reports(WEEK)
    Report.objects.update(emailed_revision=1)  # every donor was told these figures
    tie = world["tie"]
    DistributionFactory(subscription=tie.subscriptions.first(), charity=charity(name="Late"),
                        amount_cents=100, week_start=WEEK, reason="Late.")  # fmt: skip
    untouched = _snapshot(WEEK)

    services.generate_reports(WEEK)

    after = _snapshot(WEEK)
    revised = after.pop(tie.pk)
    old = untouched.pop(tie.pk)
    assert after == untouched
    assert (revised["revision"], revised["total_distributed_cents"]) == (2, 766)
    assert revised["previous_breakdown"] == old["distribution_breakdown"]
    assert revised["distribution_breakdown"] == _expected_breakdowns(WEEK)[tie.pk]


@pytest.mark.postgres
def test_postgresql_builds_new_reports_in_the_database(world, monkeypatch):
    """Only the donors with money that waited go through the Python build (_upsert) on
    PostgreSQL; every other new report is inserted by the database."""
    handed = []
    upsert = services._upsert

    def spy(week_start, breakdowns, waiting=None):
        handed.extend(breakdowns)
        return upsert(week_start, breakdowns, waiting)

    monkeypatch.setattr(services, "_upsert", spy)

    services.generate_reports(WEEK)

    assert sorted(handed) == [world["released"].pk]  # held has no rows: nothing to hand
    assert Report.objects.filter(week_start=WEEK).count() == 6


@pytest.mark.parametrize("chunk", [services.USER_CHUNK, 2])
def test_the_weekly_task_batches_cover_every_donor_once(world, monkeypatch, chunk):
    # The Celery fan-out (reports.tasks.weekly_reports) writes one batch per task: on
    # PostgreSQL the whole week in one, elsewhere chunks of donors that must cover the
    # week's donors exactly once and write what the whole week writes.
    from django.db import connection

    from reports.tasks import weekly_reports

    monkeypatch.setattr(services, "USER_CHUNK", chunk)
    batches = services.report_batches(WEEK)
    if connection.vendor == "postgresql":
        assert batches == [None]
    else:
        listed = [user for batch in batches for user in batch]
        assert sorted(listed) == listed == services.report_user_ids(WEEK)
        assert all(0 < len(batch) <= chunk for batch in batches)
    assert weekly_reports.delay(WEEK.isoformat()).get()["chunks"] == len(batches)
    # The task also emails them; the whole-week build alone does not.
    unsent = {"emailed_at": None, "emailed_revision": 0}
    by_batches = {user: {**r, **unsent} for user, r in _snapshot(WEEK).items()}
    assert Report.objects.filter(week_start=WEEK, emailed_at__isnull=True).count() == 0
    Report.objects.filter(week_start=WEEK).delete()
    services.generate_reports(WEEK)
    assert _snapshot(WEEK) == by_batches != {}

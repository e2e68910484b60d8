"""Every uniqueness, range and choice rule is a database constraint: each case writes a
bad row straight through the ORM (no form, no service, no full_clean) and the database
itself must refuse it. CI runs this file on PostgreSQL."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from distributions.models import DistributionRun, RunCity
from needs.models import MoneyReceived, NeedChange
from subscriptions.models import StripeEvent
from tests.factories import (
    CharityFactory,
    ContributionFactory,
    DistributionFactory,
    NeedFactory,
    ReportFactory,
    SubscriptionFactory,
    UserFactory,
)

TUESDAY = dt.date(2026, 11, 17)
MONDAY = dt.date(2026, 11, 16)


def _run(**fields):
    values = dict(
        week_start=MONDAY,
        started_at=timezone.now(),
        status="completed",
        pooled_cents=100,
        distributed_cents=60,
        held_cents=40,
    )
    values.update(fields)
    return DistributionRun.objects.create(**values)


def _line(**fields):
    values = dict(
        run=DistributionRun.objects.filter(week_start=MONDAY).first() or _run(),
        city="Springfield",
        state="VT",
        status="held",
        pooled_cents=100,
        distributed_cents=60,
        held_cents=40,
        hold_reason="no_charity",
    )
    values.update(fields)
    return RunCity.objects.create(**values)


def _received(**fields):
    values = dict(
        charity=CharityFactory(), week_start=MONDAY, amount_cents=100, received_at=timezone.now()
    )
    values.update(fields)
    return MoneyReceived.objects.create(**values)


def _event(**fields):
    values = dict(
        stripe_event_id="evt_1",
        type="invoice.paid",
        created=timezone.now(),
        payload={},
        status="received",
    )
    values.update(fields)
    return StripeEvent.objects.create(**values)


def _change(**fields):
    values = dict(
        need=NeedFactory(), source="manual", new_urgency_score=50, new_funding_gap_cents=100
    )
    values.update(fields)
    return NeedChange.objects.create(**values)


BAD_ROWS = {
    # accounts.User
    "user email upper case": lambda: UserFactory(email="Alice@Example.org"),
    "user email taken in other case": lambda: (
        UserFactory(email="alice@example.org"),
        UserFactory.build(email="alice@example.org").save(),
    ),
    "user state not a state": lambda: UserFactory(state="XX"),
    "user zip not 5 digits": lambda: UserFactory(zip_code="5156"),
    "user zip with a letter": lambda: UserFactory(zip_code="0515A"),
    "user city without state": lambda: UserFactory(city="Springfield", state=""),
    "user state without city": lambda: UserFactory(city="", state="VT"),
    # subscriptions.Subscription
    "subscription amount zero": lambda: SubscriptionFactory(amount_cents=0),
    "subscription amount below one dollar": lambda: SubscriptionFactory(amount_cents=99),
    "subscription amount above 5000 dollars": lambda: SubscriptionFactory(amount_cents=500001),
    "subscription status unknown": lambda: SubscriptionFactory(status="deleted"),
    "subscription stripe status unknown": lambda: SubscriptionFactory(stripe_status="weird"),
    "subscription stripe id empty": lambda: SubscriptionFactory(stripe_subscription_id=""),
    "subscription stripe id twice": lambda: (
        SubscriptionFactory(stripe_subscription_id="sub_1"),
        SubscriptionFactory(stripe_subscription_id="sub_1"),
    ),
    "subscription active with a pause end": lambda: SubscriptionFactory(
        status="active", paused_until=dt.date(2027, 1, 4)
    ),
    "subscription cancelled with a pause end": lambda: SubscriptionFactory(
        status="cancelled", paused_until=dt.date(2027, 1, 4)
    ),
    # subscriptions.Contribution
    "contribution amount zero": lambda: ContributionFactory(amount_cents=0),
    "contribution amount negative": lambda: ContributionFactory(amount_cents=-5),
    "contribution invoice id empty": lambda: ContributionFactory(stripe_invoice_id=""),
    "contribution invoice twice": lambda: (
        ContributionFactory(stripe_invoice_id="in_1"),
        ContributionFactory(stripe_invoice_id="in_1"),
    ),
    "contribution distributed on a tuesday": lambda: ContributionFactory(distributed_week=TUESDAY),
    # subscriptions.StripeEvent
    "stripe event twice": lambda: (_event(), _event()),
    "stripe event id empty": lambda: _event(stripe_event_id=""),
    "stripe event status unknown": lambda: _event(status="done"),
    # charities.Charity
    "charity ein twice": lambda: (
        CharityFactory(ein="030179429"),
        CharityFactory(ein="030179429"),
    ),
    "charity ein not 9 digits": lambda: CharityFactory(ein="03017942X"),
    "charity status unknown": lambda: CharityFactory(verification_status="maybe"),
    "charity category unknown": lambda: CharityFactory(category="sports"),
    "charity state unknown": lambda: CharityFactory(state="ZZ"),
    "charity city empty": lambda: CharityFactory(city=""),
    "charity name empty": lambda: CharityFactory(name=""),
    "charity zip not 5 digits": lambda: CharityFactory(zip_code="0515A"),
    "charity latitude above 90": lambda: CharityFactory(latitude=90.5),
    "charity longitude below -180": lambda: CharityFactory(longitude=-180.5),
    "charity latitude without longitude": lambda: CharityFactory(longitude=None),
    "charity coordinates without source": lambda: CharityFactory(coordinates_source=None),
    "charity source without coordinates": lambda: CharityFactory(
        latitude=None, longitude=None, coordinates_source="zip"
    ),
    "charity coordinates source unknown": lambda: CharityFactory(coordinates_source="gps"),
    "charity approved without date": lambda: CharityFactory(approved_at=None),
    # needs.Need and NeedChange
    "need urgency above 100": lambda: NeedFactory(urgency_score=101),
    "need gap negative": lambda: NeedFactory(funding_gap_cents=-1),
    "need source unknown": lambda: NeedFactory(source="rumour"),
    "need category unknown": lambda: NeedFactory(category="yachts"),
    "need twice per charity category source": lambda: (
        NeedFactory(charity=CharityFactory(ein="111111111"), category="food"),
        NeedFactory(
            charity=CharityFactory._meta.model.objects.get(ein="111111111"), category="food"
        ),
    ),
    "need change urgency above 100": lambda: _change(new_urgency_score=150),
    "need change negative gap": lambda: _change(old_funding_gap_cents=-1),
    "need change source unknown": lambda: _change(source="rumour"),
    # distributions.Distribution and DistributionRun
    "distribution amount zero": lambda: DistributionFactory(amount_cents=0),
    "distribution on a tuesday": lambda: DistributionFactory(week_start=TUESDAY),
    "distribution twice per subscription charity week": lambda: (
        d := DistributionFactory(),
        DistributionFactory(subscription=d.subscription, charity=d.charity),
    ),
    "run on a tuesday": lambda: _run(week_start=TUESDAY),
    "run week twice": lambda: (_run(), _run()),
    "run status unknown": lambda: _run(status="done"),
    "run pooled is not distributed plus held": lambda: _run(held_cents=39),
    "run negative totals": lambda: _run(pooled_cents=-10, distributed_cents=-10, held_cents=0),
    "run line pooled is not distributed plus held": lambda: _line(held_cents=39),
    "run line negative held": lambda: _line(pooled_cents=50, distributed_cents=60, held_cents=-10),
    "run line status unknown": lambda: _line(status="maybe"),
    "run line twice for one place in another case": lambda: (
        _line(),
        _line(city="SPRINGFIELD"),
    ),
    "run line city without state": lambda: _line(state=""),
    "run line state not upper case": lambda: _line(state="vt"),
    "run line held without a reason": lambda: _line(hold_reason=""),
    "run line with a reason but nothing held": lambda: _line(
        held_cents=0, distributed_cents=100, status="done"
    ),
    "run line reason unknown": lambda: _line(hold_reason="weather"),
    "run line negative model sentences": lambda: _line(explained_by_model=-1),
    # needs.MoneyReceived
    "money received zero": lambda: _received(amount_cents=0),
    "money received on a tuesday": lambda: _received(week_start=TUESDAY),
    # reports.Report
    "report twice per user week": lambda: (
        r := ReportFactory(),
        ReportFactory(user=r.user),
    ),
    "report negative total": lambda: ReportFactory(total_distributed_cents=-1),
    "report on a tuesday": lambda: ReportFactory(week_start=TUESDAY),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_the_database_refuses_a_bad_row(case):
    with pytest.raises(IntegrityError), transaction.atomic():
        BAD_ROWS[case]()


@pytest.mark.django_db
def test_good_rows_of_every_model_are_accepted():
    """The factories' defaults are valid, so each refusal above is about its one bad field."""
    DistributionFactory()
    ContributionFactory(distributed_week=MONDAY)
    ReportFactory()
    _run()
    _line()
    _line(city="Springfield", state="KY")  # the same name in another state is another place
    _line(city="", state="", hold_reason="no_city")  # donors with no city yet
    _line(city="Burlington", held_cents=0, distributed_cents=100, status="done", hold_reason="")
    _received()
    _event()
    _change(old_urgency_score=20, old_funding_gap_cents=50)
    CharityFactory(ein="", latitude=None, longitude=None, coordinates_source=None)
    CharityFactory(ein="")  # many charities without an EIN are fine
    UserFactory(city="", state="", zip_code="")
    # Every row above was written and reads back as written.
    assert RunCity.objects.count() == 4
    reasons = set(RunCity.objects.values_list("hold_reason", flat=True))
    assert reasons == {"no_charity", "no_city", ""}
    assert MoneyReceived.objects.get().amount_cents == 100
    assert DistributionRun.objects.count() == 1
    assert (
        StripeEvent.objects.count() == NeedChange.objects.filter(old_urgency_score=20).count() == 1
    )


# The seed's indexes: (table, the columns an index must start with).
SEED_INDEXES = [
    ("accounts_user", ["email"]),
    ("subscriptions_subscription", ["stripe_subscription_id"]),
    ("subscriptions_subscription", ["user_id", "status"]),
    ("charities_charity", ["verification_status"]),
    ("needs_need", ["charity_id"]),
    ("distributions_distribution", ["subscription_id"]),
    ("distributions_distribution", ["charity_id", "week_start"]),
    ("distributions_distribution", ["week_start"]),
    ("reports_report", ["user_id", "week_start"]),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("table", "columns"), SEED_INDEXES)
def test_the_seed_index_exists(table, columns):
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    indexed = [c["columns"] for c in found.values() if c["index"] or c["unique"]]
    assert any(cols[: len(columns)] == columns for cols in indexed), indexed


@pytest.mark.django_db
def test_charities_have_an_index_on_city_and_state():
    """An expression index (lower(city), state, status): introspection shows it by name."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, "charities_charity")
    assert "charity_city_status_idx" in found


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_weekly_written_tables_carry_no_index_nobody_reads():
    """The run writes every subscription and every contribution of the week: each index
    is one more entry per row. The Stripe ids stay unique (test_the_database_refuses_a_bad_row)
    without the LIKE index unique=True adds, subscriptions are not indexed on user alone
    ((user, status) serves it) and have room on their pages for the weekly new version."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE tablename IN "
            "('subscriptions_subscription', 'subscriptions_contribution')"
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE relname = 'subscriptions_subscription'"
        )
        options = cursor.fetchone()[0]
    assert not [d for _, d in indexes if "pattern_ops" in d], indexes
    on_subscriptions = [d for t, d in indexes if t == "subscriptions_subscription"]
    assert not [d for d in on_subscriptions if d.endswith("(user_id)")], on_subscriptions
    assert "fillfactor=50" in (options or []), options


@pytest.mark.django_db
def test_a_subscriptions_week_is_one_range_of_the_once_per_week_index():
    """A run asks whether a subscription already has rows in a week (portfolio.services.
    _claimable): ordered (subscription, week, ...), that is a range of at most one row per
    charity, not a scan of the subscription's whole history."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, "distributions_distribution")
    once = found["distribution_once_per_week"]
    assert once["unique"]
    assert once["columns"][:2] == ["subscription_id", "week_start"], once["columns"]

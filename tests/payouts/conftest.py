"""Payouts fixtures. The ledger is written as the engine writes it: each (city, week)
pass stamps its rows with one created_at, so a charity's rows of one week and one pass
are one slice (payouts/models.py).

Who may see what: carol (tests/conftest.py) is staff; `treasurer` is staff with the
payouts permissions, who records manual payments and onboards charities.
"""

import datetime as dt
import itertools

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from distributions.models import Distribution
from tests.factories import CharityFactory, SubscriptionFactory, UserFactory
from tests.payouts.fake_connect import FakeConnect
from tests.subscriptions.helpers import WEBHOOK_SECRET

UTC = dt.UTC
# October 2026 is over by any clock these tests run on (the repository's own dates start
# in late 2026); its weeks start on Mondays 5, 12, 19 and 26 October.
PERIOD = dt.date(2026, 10, 1)
OCT_WEEKS = [dt.date(2026, 10, 5), dt.date(2026, 10, 12), dt.date(2026, 10, 19),
             dt.date(2026, 10, 26)]  # fmt: skip
NOV_WEEK = dt.date(2026, 11, 2)
NOW = dt.datetime(2026, 11, 3, 12, 0, tzinfo=UTC)

_stamps = itertools.count(1)


def ledger(charity, week, amounts, *, at=None) -> dt.datetime:
    """Rows of one ledger write: one per amount, each from its own subscription, all
    stamped `at` (default: the Monday after the week, plus a unique offset)."""
    at = at or dt.datetime.combine(week + dt.timedelta(days=7), dt.time(11), tzinfo=UTC) + (
        dt.timedelta(microseconds=next(_stamps))
    )
    subs = [SubscriptionFactory() for _ in amounts]
    rows = Distribution.objects.bulk_create(
        Distribution(
            subscription=sub,
            charity=charity,
            amount_cents=amount,
            week_start=week,
            distribution_date=week + dt.timedelta(days=7),
            reason="Test allocation.",
        )
        for sub, amount in zip(subs, amounts, strict=True)
    )
    # created_at is auto_now_add: set the pass's stamp afterwards, as the engine's COPY does.
    Distribution.objects.filter(pk__in=[r.pk for r in rows]).update(created_at=at)
    return at


@pytest.fixture
def stripe_keys(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_fake_0123456789"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_fake_0123456789"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.DEMO_BILLING = False
    return settings


@pytest.fixture
def fake(stripe_keys):
    """A fake Stripe with Connect on 127.0.0.1 that the SDK talks to."""
    server = FakeConnect().start()
    stripe_keys.STRIPE_API_BASE = server.url
    yield server
    server.stop()


@pytest.fixture
def charity(db):
    return CharityFactory(name="Springfield Food Shelf", contact_email="food@example.org")


@pytest.fixture
def treasurer(db):
    user = UserFactory(email="treasurer@example.org", is_staff=True, city="", state="",
                       zip_code="")  # fmt: skip
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="payouts"))
    return user


@pytest.fixture
def treasurer_client(treasurer):
    client = Client()
    client.force_login(treasurer)
    return client

"""core.db.insert_if_absent_from: INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING,
the foreign key read from the source row in the same statement (PostgreSQL and SQLite)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.db import insert_if_absent_from
from subscriptions.models import Contribution, Subscription
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

PAID = timezone.now() - dt.timedelta(minutes=5)


def pending(invoice: str, cents: int = 1000) -> Contribution:
    return Contribution(amount_cents=cents, paid_at=PAID, stripe_invoice_id=invoice)


def test_inserts_with_the_foreign_key_of_the_row_the_source_selects():
    SubscriptionFactory(stripe_subscription_id="sub_other")
    sub = SubscriptionFactory(stripe_subscription_id="sub_one", amount_cents=1000)
    row = pending("in_one")
    with CaptureQueriesContext(connection) as queries:
        inserted = insert_if_absent_from(
            row, "subscription", Subscription.objects.filter(stripe_subscription_id="sub_one")
        )
    assert inserted and row.pk is not None and row.subscription_id == sub.pk
    assert [q["sql"].split()[0] for q in queries] == ["INSERT"]
    stored = Contribution.objects.get(pk=row.pk)
    assert (stored.subscription_id, stored.amount_cents, stored.paid_at) == (sub.pk, 1000, PAID)
    assert (stored.fee_cents, stored.net_cents, stored.fee_source) == (None, None, "")
    assert stored.created_at == row.created_at and stored.created_at is not None


def test_a_source_that_selects_nothing_writes_nothing():
    SubscriptionFactory(stripe_subscription_id="sub_one", amount_cents=1000)
    row = pending("in_one")
    source = Subscription.objects.filter(stripe_subscription_id="sub_one", amount_cents=2500)
    assert not insert_if_absent_from(row, "subscription", source)
    assert row.pk is None and row._state.adding
    assert not Contribution.objects.exists()


def test_a_held_unique_value_writes_nothing_and_keeps_the_first_row():
    first_sub = SubscriptionFactory(stripe_subscription_id="sub_one")
    second_sub = SubscriptionFactory(stripe_subscription_id="sub_two")
    first = pending("in_same", 1000)
    assert insert_if_absent_from(
        first, "subscription", Subscription.objects.filter(pk=first_sub.pk)
    )
    again = pending("in_same", 2500)
    assert not insert_if_absent_from(
        again, "subscription", Subscription.objects.filter(pk=second_sub.pk)
    )
    stored = Contribution.objects.get()
    assert (stored.pk, stored.subscription_id, stored.amount_cents) == (
        first.pk,
        first_sub.pk,
        1000,
    )


def test_the_field_must_be_a_foreign_key_to_the_source_model():
    with pytest.raises(ValueError, match="not a foreign key"):
        insert_if_absent_from(pending("in_x"), "subscription", Contribution.objects.all())
    with pytest.raises(ValueError, match="not a foreign key"):
        insert_if_absent_from(pending("in_x"), "amount_cents", Subscription.objects.all())
    assert not Contribution.objects.exists()

"""core.db.insert_if_absent_from: INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING,
the foreign key read from the row its lookups select, in the same statement (PostgreSQL
and SQLite)."""

import datetime as dt

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.db import insert_if_absent_from
from subscriptions.models import Contribution
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

PAID = timezone.now() - dt.timedelta(minutes=5)


def pending(invoice: str, cents: int = 1000) -> Contribution:
    return Contribution(amount_cents=cents, paid_at=PAID, stripe_invoice_id=invoice)


def test_inserts_with_the_foreign_key_of_the_row_the_lookups_select():
    SubscriptionFactory(stripe_subscription_id="sub_other", amount_cents=1000)
    sub = SubscriptionFactory(
        stripe_subscription_id="sub_one", amount_cents=1000, stripe_customer_id="cus_one"
    )
    row = pending("in_one")
    with CaptureQueriesContext(connection) as queries:
        inserted = insert_if_absent_from(
            row,
            "subscription",
            stripe_subscription_id="sub_one",
            amount_cents=1000,
            stripe_customer_id__in=("", "cus_one"),
        )
    assert inserted and row.pk is not None and row.subscription_id == sub.pk
    assert [q["sql"].split()[0] for q in queries] == ["INSERT"]
    stored = Contribution.objects.get(pk=row.pk)
    assert (stored.subscription_id, stored.amount_cents, stored.paid_at) == (sub.pk, 1000, PAID)
    assert (stored.fee_cents, stored.net_cents, stored.fee_source) == (None, None, "")
    assert stored.created_at == row.created_at and stored.created_at is not None


@pytest.mark.parametrize(
    "where",
    [
        {"stripe_subscription_id": "sub_one", "amount_cents": 2500},
        {"stripe_subscription_id": "sub_none"},
        {"stripe_subscription_id": "sub_one", "stripe_customer_id__in": ("", "cus_mallory")},
        {"stripe_subscription_id": "sub_one", "stripe_customer_id__in": (None,)},
        {"stripe_subscription_id": "sub_one", "stripe_customer_id__in": ()},
    ],
)
def test_lookups_that_select_nothing_write_nothing(where):
    SubscriptionFactory(
        stripe_subscription_id="sub_one", amount_cents=1000, stripe_customer_id="cus_one"
    )
    row = pending("in_one")
    assert not insert_if_absent_from(row, "subscription", **where)
    assert row.pk is None and row._state.adding and row.subscription_id is None
    assert not Contribution.objects.exists()


def test_a_held_unique_value_writes_nothing_and_keeps_the_first_row():
    first_sub = SubscriptionFactory(stripe_subscription_id="sub_one")
    SubscriptionFactory(stripe_subscription_id="sub_two")
    first = pending("in_same", 1000)
    assert insert_if_absent_from(first, "subscription", stripe_subscription_id="sub_one")
    again = pending("in_same", 2500)
    assert not insert_if_absent_from(again, "subscription", stripe_subscription_id="sub_two")
    stored = Contribution.objects.get()
    assert (stored.pk, stored.subscription_id, stored.amount_cents) == (
        first.pk,
        first_sub.pk,
        1000,
    )


def test_the_same_lookups_with_other_values_use_their_own_values():
    # The statement's text is built once per shape; the values must not be kept with it.
    one = SubscriptionFactory(stripe_subscription_id="sub_one", amount_cents=1000)
    two = SubscriptionFactory(stripe_subscription_id="sub_two", amount_cents=2500)
    for invoice, sub_id, cents, expected in [
        ("in_a", "sub_one", 1000, one.pk),
        ("in_b", "sub_two", 2500, two.pk),
        ("in_c", "sub_two", 1000, None),
    ]:
        row = pending(invoice, cents)
        insert_if_absent_from(
            row, "subscription", stripe_subscription_id=sub_id, amount_cents=cents
        )
        assert row.subscription_id == expected
    assert sorted(Contribution.objects.values_list("stripe_invoice_id", "subscription_id")) == [
        ("in_a", one.pk),
        ("in_b", two.pk),
    ]


def test_only_a_foreign_key_and_equality_or_in_lookups():
    with pytest.raises(ValueError, match="not a foreign key"):
        insert_if_absent_from(pending("in_x"), "amount_cents", id=1)
    with pytest.raises(ValueError, match="Only equality"):
        insert_if_absent_from(pending("in_x"), "subscription", amount_cents__gt=1)
    with pytest.raises(ValueError, match="where must name"):
        insert_if_absent_from(pending("in_x"), "subscription")
    with pytest.raises(FieldDoesNotExist):
        insert_if_absent_from(pending("in_x"), "subscription", no_such_field=1)
    assert not Contribution.objects.exists()

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from subscriptions.models import Contribution, Subscription
from subscriptions.selectors import (
    get_active_subscriptions_by_city,
    get_subscription_by_stripe_id,
    get_user_subscriptions,
)
from subscriptions.services import (
    cancel_subscription,
    change_subscription_amount,
    create_subscription,
    pause_subscription,
    record_contribution,
    resume_subscription,
    update_subscription,
)
from tests.factories import SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db


def _fields(exc) -> set[str]:
    return set(exc.value.message_dict)


def test_create_subscription_without_a_stripe_id_is_a_demo_one(alice):
    sub = create_subscription(user=alice, amount_cents=1500)
    assert sub.stripe_subscription_id.startswith("demo_")
    assert (sub.status, sub.amount_cents, sub.start_date) == ("active", 1500, timezone.localdate())


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount_cents": 99}, "amount_cents"),
        ({"amount_cents": 500_001}, "amount_cents"),
        ({"amount_cents": 10.5}, "amount_cents"),
        ({"amount_cents": "1000"}, "amount_cents"),
        ({"amount_cents": True}, "amount_cents"),
        ({"amount_cents": 1000, "status": "deleted"}, "status"),
        ({"amount_cents": 1000, "stripe_status": "weird"}, "stripe_status"),
        ({"amount_cents": 1000, "stripe_subscription_id": ""}, "stripe_subscription_id"),
        ({"amount_cents": 1000, "start_date": "2026-01-01"}, "start_date"),
    ],
)
def test_create_subscription_names_the_bad_field_and_writes_nothing(alice, kwargs, field):
    with pytest.raises(ValidationError) as exc:
        create_subscription(user=alice, **kwargs)
    assert field in _fields(exc)
    assert not Subscription.objects.exists()


def test_create_subscription_refuses_a_user_that_is_not_saved():
    with pytest.raises(ValidationError) as exc:
        create_subscription(user=UserFactory.build(), amount_cents=1000)
    assert _fields(exc) == {"user"}


def test_create_subscription_refuses_a_stripe_id_already_recorded(alice):
    create_subscription(user=alice, amount_cents=1000, stripe_subscription_id="sub_1")
    with pytest.raises(ValidationError) as exc:
        create_subscription(user=alice, amount_cents=2000, stripe_subscription_id="sub_1")
    assert _fields(exc) == {"stripe_subscription_id"}
    assert Subscription.objects.get().amount_cents == 1000


def test_update_subscription_changes_only_what_is_given(alice):
    sub = SubscriptionFactory(user=alice, amount_cents=1000)
    update_subscription(sub, amount_cents=2500, stripe_status="past_due")
    sub.refresh_from_db()
    assert (sub.amount_cents, sub.status, sub.stripe_status) == (2500, "active", "past_due")


def test_update_subscription_writes_nothing_when_one_value_is_bad(alice):
    sub = SubscriptionFactory(user=alice, amount_cents=1000)
    with pytest.raises(ValidationError) as exc:
        update_subscription(sub, amount_cents=2500, status="nope")
    assert _fields(exc) == {"status"}
    sub.refresh_from_db()
    assert sub.amount_cents == 1000


def test_cancel_subscription_records_when_and_is_idempotent(alice):
    sub = cancel_subscription(SubscriptionFactory(user=alice))
    first = sub.cancelled_at
    assert sub.status == "cancelled" and first is not None
    assert cancel_subscription(sub).cancelled_at == first


def test_pause_and_resume_move_between_active_and_paused(alice):
    sub = pause_subscription(SubscriptionFactory(user=alice))
    assert sub.status == "paused"
    with pytest.raises(ValidationError):
        pause_subscription(sub)
    assert resume_subscription(sub).status == "active"
    with pytest.raises(ValidationError):
        resume_subscription(sub)


def test_a_cancelled_subscription_cannot_change_amount(alice):
    sub = cancel_subscription(SubscriptionFactory(user=alice, amount_cents=1000))
    with pytest.raises(ValidationError) as exc:
        change_subscription_amount(sub, amount_cents=2000)
    assert _fields(exc) == {"status"}
    sub.refresh_from_db()
    assert sub.amount_cents == 1000


def test_record_contribution_is_idempotent_on_the_invoice_id(alice):
    sub = SubscriptionFactory(user=alice)
    paid = timezone.now()
    first, created = record_contribution(
        subscription=sub, amount_cents=1000, paid_at=paid, stripe_invoice_id="in_1"
    )
    again, created_again = record_contribution(
        subscription=sub, amount_cents=999, paid_at=paid, stripe_invoice_id="in_1"
    )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk and again.amount_cents == 1000
    assert Contribution.objects.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount_cents": 0}, "amount_cents"),
        ({"amount_cents": -100}, "amount_cents"),
        ({"paid_at": dt.datetime(2026, 11, 17, 9, 0)}, "paid_at"),
        ({"stripe_invoice_id": ""}, "stripe_invoice_id"),
    ],
)
def test_record_contribution_refuses_bad_money(alice, kwargs, field):
    values = dict(
        subscription=SubscriptionFactory(user=alice),
        amount_cents=1000,
        paid_at=timezone.now(),
        stripe_invoice_id="in_1",
    )
    values.update(kwargs)
    with pytest.raises(ValidationError) as exc:
        record_contribution(**values)
    assert _fields(exc) == {field}
    assert not Contribution.objects.exists()


def test_get_subscription_by_stripe_id(alice):
    sub = SubscriptionFactory(user=alice, stripe_subscription_id="sub_42")
    assert get_subscription_by_stripe_id("sub_42") == sub
    assert get_subscription_by_stripe_id("sub_43") is None
    with pytest.raises(ValidationError) as exc:
        get_subscription_by_stripe_id("")
    assert _fields(exc) == {"stripe_subscription_id"}


def test_get_user_subscriptions_returns_only_that_donors_newest_first(alice, bob):
    older = SubscriptionFactory(user=alice)
    newer = SubscriptionFactory(user=alice, status="cancelled")
    SubscriptionFactory(user=bob)
    assert list(get_user_subscriptions(alice)) == [newer, older]
    with pytest.raises(ValidationError) as exc:
        get_user_subscriptions("alice")
    assert _fields(exc) == {"user"}


def test_active_subscriptions_by_city_compare_trimmed_and_case_insensitively(alice, bob):
    mine = SubscriptionFactory(user=alice)
    SubscriptionFactory(user=alice, status="paused")
    SubscriptionFactory(user=bob)  # Springfield, KY: another city with the same name
    assert list(get_active_subscriptions_by_city("  springfield ", "vt")) == [mine]
    assert list(get_active_subscriptions_by_city("Springfield", "KY")) != [mine]


@pytest.mark.parametrize(
    ("city", "state", "field"),
    [("", "VT", "city"), ("Springfield", "Vermont", "state"), (None, "VT", "city")],
)
def test_active_subscriptions_by_city_refuses_a_bad_place(city, state, field):
    with pytest.raises(ValidationError) as exc:
        get_active_subscriptions_by_city(city, state)
    assert _fields(exc) == {field}

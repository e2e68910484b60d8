"""The seed-named subscription functions are the path the product takes: narrow what one
returns (here, in the test) and demo billing and the subscription lookups follow."""

import pytest
from django.core.exceptions import ValidationError

import subscriptions.selectors
import subscriptions.services
from subscriptions.models import Contribution
from subscriptions.services import bill_demo_week, create_subscription
from tests.factories import SubscriptionFactory
from tests.portfolio.scenario import WEEK, donor

pytestmark = pytest.mark.django_db


def test_billing_one_citys_demo_week_takes_get_active_subscriptions_by_city(monkeypatch):
    billed = SubscriptionFactory(user=donor())
    skipped = SubscriptionFactory(user=donor())
    real = subscriptions.selectors.get_active_subscriptions_by_city
    monkeypatch.setattr(
        subscriptions.selectors,
        "get_active_subscriptions_by_city",
        lambda city, state: real(city, state).exclude(pk=skipped.pk),
    )

    assert bill_demo_week(WEEK, city="Springfield", state="VT") == 1

    assert list(Contribution.objects.values_list("subscription_id", flat=True)) == [billed.pk]


def test_a_second_subscription_with_one_stripe_id_is_found_by_get_subscription_by_stripe_id(
    monkeypatch, alice
):
    SubscriptionFactory(user=alice, stripe_subscription_id="sub_seen_once")
    with pytest.raises(ValidationError) as exc:
        create_subscription(user=alice, amount_cents=500, stripe_subscription_id="sub_seen_once")
    found = exc.value.message_dict["stripe_subscription_id"]

    # With the lookup blinded, the model's own unique check is what stops the duplicate,
    # in its own words.
    monkeypatch.setattr(subscriptions.services, "get_subscription_by_stripe_id", lambda _: None)
    with pytest.raises(ValidationError) as blinded:
        create_subscription(user=alice, amount_cents=500, stripe_subscription_id="sub_seen_once")
    assert blinded.value.message_dict["stripe_subscription_id"] != found

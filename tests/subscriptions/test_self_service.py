"""Pause, resume, cancel, change amount and Manage billing: Stripe first, then local."""

import pytest
from django.contrib.messages import get_messages

from subscriptions.models import Subscription
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def demo_sub(alice):
    return SubscriptionFactory(user=alice, stripe_subscription_id="demo_abc", stripe_status="")


@pytest.fixture
def stripe_sub(alice, fake_stripe):
    remote = fake_stripe.add_subscription(
        id="sub_test_alice", customer="cus_test_alice", amount_cents=1000, user_id=alice.pk
    )
    local = SubscriptionFactory(
        user=alice, stripe_subscription_id=remote["id"], stripe_customer_id="cus_test_alice"
    )
    return local


def reload(sub) -> Subscription:
    return Subscription.objects.get(pk=sub.pk)


# --- access ---------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["pause", "resume", "cancel", "amount"])
def test_another_donors_subscription_is_a_404(client, bob, demo_sub, action):
    client.force_login(bob)
    response = client.post(f"/subscriptions/{demo_sub.pk}/{action}/", {"amount": "20"})
    assert response.status_code == 404
    assert reload(demo_sub).status == "active"


@pytest.mark.parametrize("action", ["pause", "resume", "cancel", "amount"])
def test_actions_are_post_only_and_need_a_login(client, alice_client, demo_sub, action):
    assert alice_client.get(f"/subscriptions/{demo_sub.pk}/{action}/").status_code == 405
    response = client.post(f"/subscriptions/{demo_sub.pk}/{action}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_actions_need_a_csrf_token(alice, demo_sub):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(f"/subscriptions/{demo_sub.pk}/cancel/").status_code == 403
    assert reload(demo_sub).status == "active"


def test_it_goes_back_to_a_safe_next_url(alice_client, demo_sub):
    response = alice_client.post(f"/subscriptions/{demo_sub.pk}/pause/", {"next": "/reports/"})
    assert response["Location"] == "/reports/"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:x"])
def test_it_ignores_an_unsafe_next_url(alice_client, demo_sub, target):
    response = alice_client.post(f"/subscriptions/{demo_sub.pk}/pause/", {"next": target})
    assert response["Location"] == "/dashboard/"


# --- demo billing ---------------------------------------------------------------------


def test_demo_pause_resume_and_cancel_act_locally(alice_client, demo_sub):
    response = alice_client.post(f"/subscriptions/{demo_sub.pk}/pause/")
    assert response["Location"] == "/dashboard/"
    assert reload(demo_sub).status == "paused"
    assert "paused" in messages_of(response)[0]
    alice_client.post(f"/subscriptions/{demo_sub.pk}/resume/")
    assert reload(demo_sub).status == "active"
    alice_client.post(f"/subscriptions/{demo_sub.pk}/cancel/")
    sub = reload(demo_sub)
    assert sub.status == "cancelled" and sub.cancelled_at is not None


def test_demo_change_amount_acts_locally(alice_client, demo_sub):
    response = alice_client.post(f"/subscriptions/{demo_sub.pk}/amount/", {"amount": "25.75"})
    assert reload(demo_sub).amount_cents == 2575
    assert "$25.75" in messages_of(response)[0]


@pytest.mark.parametrize("amount", ["0", "0.5", "5000.01", "abc", ""])
def test_a_bad_new_amount_is_refused_with_a_message(alice_client, demo_sub, amount):
    response = alice_client.post(f"/subscriptions/{demo_sub.pk}/amount/", {"amount": amount})
    assert response.status_code == 302
    assert reload(demo_sub).amount_cents == 1000
    assert messages_of(response)


def test_resuming_an_active_subscription_explains_why_not(alice_client, demo_sub):
    response = alice_client.post(f"/subscriptions/{demo_sub.pk}/resume/")
    assert "Only a paused subscription" in messages_of(response)[0]


def test_a_cancelled_subscription_cannot_change_amount(alice_client, demo_sub):
    alice_client.post(f"/subscriptions/{demo_sub.pk}/cancel/")
    response = alice_client.post(f"/subscriptions/{demo_sub.pk}/amount/", {"amount": "20"})
    assert "cannot be changed" in messages_of(response)[-1]
    assert reload(demo_sub).amount_cents == 1000


def test_demo_billing_portal_says_there_is_no_account(alice_client):
    response = alice_client.post("/billing/portal/")
    assert response["Location"] == "/dashboard/"
    assert "demo" in messages_of(response)[0].lower()


def test_billing_portal_get_shows_a_button(alice_client):
    response = alice_client.get("/billing/portal/")
    assert response.status_code == 200
    assert b'method="post"' in response.content


# --- Stripe ---------------------------------------------------------------------------


def test_pause_goes_through_stripe_with_an_idempotency_key(alice_client, stripe_sub, fake_stripe):
    alice_client.post(f"/subscriptions/{stripe_sub.pk}/pause/")
    (call,) = fake_stripe.calls("POST", "/v1/subscriptions/sub_test_alice")
    assert call.params == {"pause_collection": {"behavior": "void"}}
    assert call.idempotency_key
    assert fake_stripe.subscriptions["sub_test_alice"]["pause_collection"] == {"behavior": "void"}
    sub = reload(stripe_sub)
    assert (sub.status, sub.stripe_status) == ("paused", "active")


def test_resume_unsets_pause_collection(alice_client, stripe_sub, fake_stripe):
    alice_client.post(f"/subscriptions/{stripe_sub.pk}/pause/")
    alice_client.post(f"/subscriptions/{stripe_sub.pk}/resume/")
    assert fake_stripe.subscriptions["sub_test_alice"]["pause_collection"] is None
    assert reload(stripe_sub).status == "active"
    keys = [c.idempotency_key for c in fake_stripe.calls("POST")]
    assert len(set(keys)) == 2


def test_cancel_goes_through_stripe(alice_client, stripe_sub, fake_stripe):
    alice_client.post(f"/subscriptions/{stripe_sub.pk}/cancel/")
    (call,) = fake_stripe.calls("DELETE")
    assert call.idempotency_key
    sub = reload(stripe_sub)
    assert (sub.status, sub.stripe_status) == ("cancelled", "canceled")


def test_change_amount_sends_a_new_price_without_proration(alice_client, stripe_sub, fake_stripe):
    response = alice_client.post(f"/subscriptions/{stripe_sub.pk}/amount/", {"amount": "20"})
    (call,) = fake_stripe.calls("POST", "/v1/subscriptions/")
    item_id = fake_stripe.subscriptions["sub_test_alice"]["items"]["data"][0]["id"]
    assert call.params["proration_behavior"] == "none"
    assert call.params["items"] == [
        {
            "id": item_id,
            "price_data": {
                "currency": "usd",
                "product": "prod_test_weekly",
                "unit_amount": "2000",
                "recurring": {"interval": "week"},
            },
        }
    ]
    assert call.idempotency_key
    assert reload(stripe_sub).amount_cents == 2000
    assert "$20.00" in messages_of(response)[0]


def test_a_stripe_refusal_changes_nothing_locally(alice_client, stripe_sub, fake_stripe):
    fake_stripe.fail_next(
        "POST", "/v1/subscriptions/", status=402, message="Your card was declined."
    )
    response = alice_client.post(f"/subscriptions/{stripe_sub.pk}/pause/")
    assert response["Location"] == "/dashboard/"
    assert reload(stripe_sub).status == "active"
    assert "Your card was declined." in messages_of(response)[0]
    assert fake_stripe.subscriptions["sub_test_alice"]["pause_collection"] is None


def test_a_double_submit_is_one_change_at_stripe(stripe_sub, fake_stripe):
    from subscriptions import billing

    # A double click: both requests loaded the row before either changed it.
    first, second = reload(stripe_sub), reload(stripe_sub)
    billing.pause(subscription=first)
    billing.pause(subscription=second)
    calls = fake_stripe.calls("POST")
    assert len(calls) == 2
    assert calls[0].idempotency_key == calls[1].idempotency_key  # Stripe acts once
    assert reload(stripe_sub).status == "paused"


def test_stripe_actions_are_refused_when_the_site_lost_its_keys(
    alice_client, stripe_sub, settings
):
    settings.DEMO_BILLING = True
    settings.STRIPE_SECRET_KEY = ""
    response = alice_client.post(f"/subscriptions/{stripe_sub.pk}/cancel/")
    assert reload(stripe_sub).status == "active"
    assert "not configured" in messages_of(response)[0]


def test_billing_portal_opens_stripes_portal(alice_client, stripe_sub, fake_stripe):
    response = alice_client.post("/billing/portal/")
    assert response["Location"].startswith("https://billing.stripe.com/p/session/")
    (call,) = fake_stripe.calls("POST", "/v1/billing_portal/sessions")
    assert call.params == {
        "customer": "cus_test_alice",
        "return_url": "http://testserver/dashboard/",
    }


def test_billing_portal_without_a_stripe_customer_explains(alice_client, fake_stripe):
    response = alice_client.post("/billing/portal/")
    assert response["Location"] == "/dashboard/"
    assert "no Stripe billing account" in messages_of(response)[0]
    assert fake_stripe.requests == []


def test_a_confirmed_change_applies_even_if_stripes_clock_runs_ahead(
    alice_client, stripe_sub, fake_stripe
):
    import datetime as dt

    from django.utils import timezone

    # The last webhook carried a `created` a little ahead of this server's clock.
    Subscription.objects.filter(pk=stripe_sub.pk).update(
        stripe_state_at=timezone.now() + dt.timedelta(seconds=5)
    )
    alice_client.post(f"/subscriptions/{stripe_sub.pk}/pause/")
    assert reload(stripe_sub).status == "paused"

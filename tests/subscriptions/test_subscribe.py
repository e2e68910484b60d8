"""/subscribe/: the amount form, demo billing, and Stripe Checkout."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from subscriptions.forms import dollars_to_cents
from subscriptions.models import Subscription

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_it_asks_anonymous_visitors_to_log_in(client):
    response = client.get("/subscribe/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_shows_the_form_and_says_it_is_a_demo(alice_client):
    response = alice_client.get("/subscribe/")
    assert response.status_code == 200
    assert b'name="amount"' in response.content
    assert b"Demo billing" in response.content


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("10", 1000),
        ("12.50", 1250),
        ("12.5", 1250),
        ("1", 100),
        ("5000", 500_000),
        ("$25", 2500),
        (" 7.05 ", 705),
        ("1,000", 100_000),
        ("0.5", 50),
        ("5000.01", 500_001),
    ],
)
def test_dollars_become_whole_cents_without_floats(text, cents):
    assert dollars_to_cents(text) == cents


@pytest.mark.parametrize("text", ["abc", "", "-5", "1.005", "NaN", "1e3", "10.", ".5", "Infinity"])
def test_text_that_is_not_dollars_is_not_an_amount(text):
    assert dollars_to_cents(text) is None


def test_demo_billing_creates_an_active_subscription_at_once(alice_client, alice):
    response = alice_client.post("/subscribe/", {"amount": "12.50"})
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    sub = Subscription.objects.get()
    assert (sub.user, sub.amount_cents, sub.status) == (alice, 1250, "active")
    assert sub.is_demo
    assert "Demo billing:" in messages_of(response)[0]


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("0", "at least $1.00"),
        ("0.5", "at least $1.00"),
        ("0.99", "at least $1.00"),
        ("5000.01", "at most $5,000.00"),
        ("999999999", "at most $5,000.00"),
        ("abc", "like 10 or 12.50"),
        ("-5", "like 10 or 12.50"),
        ("1.005", "like 10 or 12.50"),
        ("", "This field is required"),
    ],
)
def test_bad_amounts_show_a_clear_error_and_change_nothing(alice_client, amount, error):
    response = alice_client.post("/subscribe/", {"amount": amount})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert Subscription.objects.count() == 0


def test_a_post_without_csrf_token_is_refused(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/subscribe/", {"amount": "10"}).status_code == 403
    assert Subscription.objects.count() == 0


def test_with_stripe_it_sends_the_donor_to_checkout(alice_client, alice, fake_stripe):
    response = alice_client.post("/subscribe/", {"amount": "12.50"})
    assert response.status_code == 302
    assert response["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    (call,) = fake_stripe.calls("POST", "/v1/checkout/sessions")
    params = call.params
    assert params["mode"] == "subscription"
    price = params["line_items"][0]["price_data"]
    assert (price["currency"], price["unit_amount"], price["recurring"]["interval"]) == (
        "usd",
        "1250",
        "week",
    )
    assert params["client_reference_id"] == str(alice.pk)
    assert params["metadata"] == {"user_id": str(alice.pk)}
    assert params["subscription_data"]["metadata"] == {
        "user_id": str(alice.pk),
        "covers_fees": "false",
    }
    assert params["payment_method_types"] == ["card"]
    assert params["customer_email"] == "alice@example.org"
    assert params["success_url"] == (
        "http://testserver/subscribe/success/?session_id={CHECKOUT_SESSION_ID}"
    )
    assert params["cancel_url"] == "http://testserver/subscribe/cancelled/"
    assert call.idempotency_key
    # Nothing local until Stripe's webhook confirms.
    assert Subscription.objects.count() == 0


def test_with_stripe_a_returning_donor_reuses_their_customer(alice_client, alice, fake_stripe):
    from tests.factories import SubscriptionFactory

    SubscriptionFactory(
        user=alice,
        stripe_subscription_id="sub_test_old",
        stripe_customer_id="cus_test_alice",
        status="cancelled",
    )
    alice_client.post("/subscribe/", {"amount": "10"})
    (call,) = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert call.params["customer"] == "cus_test_alice"
    assert "customer_email" not in call.params


def test_with_stripe_a_refusal_is_shown_and_nothing_changes(alice_client, fake_stripe):
    fake_stripe.fail_next(
        "POST",
        "/v1/checkout/sessions",
        status=400,
        message="Checkout is unavailable.",
        error_type="invalid_request_error",
    )
    response = alice_client.post("/subscribe/", {"amount": "10"}, follow=True)
    assert response.status_code == 200
    # An invalid_request_error's message is written for developers: the donor is told
    # plainly that Stripe refused (tests/subscriptions/test_leaks.py).
    page = response.content.decode()
    assert "Stripe could not start the checkout: Stripe did not accept the request." in page
    assert "Checkout is unavailable." not in page
    assert Subscription.objects.count() == 0


def test_with_stripe_bad_amounts_never_reach_stripe(alice_client, fake_stripe):
    response = alice_client.post("/subscribe/", {"amount": "0"})
    assert "at least $1.00" in response.content.decode()
    assert fake_stripe.requests == []


def test_success_and_cancelled_pages_render(alice_client):
    assert alice_client.get("/subscribe/success/?session_id=cs_test_1").status_code == 200
    response = alice_client.get("/subscribe/cancelled/")
    assert response.status_code == 200
    assert b"Nothing was charged" in response.content


def test_the_subscribe_page_reads_the_donors_subscriptions_in_one_query(
    alice_client, alice, django_assert_num_queries
):
    from tests.factories import SubscriptionFactory

    SubscriptionFactory.create_batch(3, user=alice)
    # 1 user, 1 the donor's current subscriptions (however many), 1 the city's label
    # (cached under the charities version after this), 1 how many vetted charities it
    # has; the session is read from the cache (cached_db sessions).
    with django_assert_num_queries(4):
        response = alice_client.get("/subscribe/")
    assert response.content.decode().count("$10.00 a week") == 3

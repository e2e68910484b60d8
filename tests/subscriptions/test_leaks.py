"""What callers are told when something below the site fails: a plain sentence, never a
database error with its SQL and values, never Stripe's developer-facing message (ids,
network failures, our API address). The detail goes to the log."""

import logging

import pytest
from django.contrib.messages import get_messages
from django.db import DataError

from subscriptions import webhooks
from subscriptions.models import StripeEvent, Subscription
from tests.factories import SubscriptionFactory
from tests.subscriptions.helpers import make_event, post_event

pytestmark = pytest.mark.django_db

RAW_DATABASE_ERROR = (
    'value too long for type character varying(255)\nCONTEXT: SQL statement "INSERT INTO '
    "subscriptions_stripeevent (stripe_event_id, payload) VALUES ('evt_1', 'secret')\""
)
SQL_WORDS = ("INSERT", "CONTEXT", "DETAIL", "varying", "jsonb", "\\u0000", "secret", "SQL")


def _assert_plain(text: str):
    for word in SQL_WORDS:
        assert word not in text, (word, text)


def test_a_webhook_the_database_refuses_is_a_400_without_the_database_error(
    client, stripe_keys, monkeypatch, caplog
):
    def refuse(*args, **kwargs):
        raise DataError(RAW_DATABASE_ERROR)

    # Both ways the webhook stores an event: the first try's, and the one after a failure.
    monkeypatch.setattr(webhooks, "insert_if_absent", refuse)
    monkeypatch.setattr(webhooks, "_insert_if_new", refuse)
    with caplog.at_level(logging.WARNING, logger="subscriptions.webhooks"):
        response = post_event(client, make_event("customer.created", {"id": "cus_x"}))
    assert response.status_code == 400
    assert response.json() == {"error": "Event cannot be stored: a value in it is not storable."}
    assert "INSERT INTO" in caplog.text  # the operator still has the detail


@pytest.mark.postgres
def test_a_nul_postgres_cannot_store_is_refused_without_echoing_postgres(client, stripe_keys):
    event = make_event("customer.created", {"id": "cus_x", "name": "nul\u0000byte"})
    response = post_event(client, event)
    assert response.status_code == 400
    _assert_plain(response.content.decode())
    assert StripeEvent.objects.count() == 0


def test_a_handler_that_fails_unexpectedly_answers_500_without_its_error_text(
    client, stripe_keys, monkeypatch
):
    def fail(obj, context):
        raise DataError(RAW_DATABASE_ERROR)

    monkeypatch.setitem(webhooks.HANDLERS, "customer.created", fail)
    response = post_event(client, make_event("customer.created", {"id": "cus_x"}))
    assert response.status_code == 500  # Stripe retries
    _assert_plain(response.content.decode())
    assert response.json()["error"] == "Processing failed here; the delivery will be retried."
    event = StripeEvent.objects.get()
    assert event.status == "failed" and "INSERT INTO" in event.error  # staff see it


# --- the donor's billing messages -------------------------------------------------------


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def stripe_sub(alice, fake_stripe):
    fake_stripe.add_subscription(
        id="sub_test_alice", customer="cus_test_alice", amount_cents=1000, user_id=alice.pk
    )
    return SubscriptionFactory(
        user=alice, stripe_subscription_id="sub_test_alice", stripe_customer_id="cus_test_alice"
    )


DONOR_ACTIONS = [
    ("pause", lambda sub: f"/subscriptions/{sub.pk}/pause/", {}),
    ("cancel", lambda sub: f"/subscriptions/{sub.pk}/cancel/", {}),
    ("change amount", lambda sub: f"/subscriptions/{sub.pk}/amount/", {"amount": "20"}),
    ("billing portal", lambda sub: "/billing/portal/", {}),
]


@pytest.mark.parametrize(("name", "url", "data"), DONOR_ACTIONS, ids=[a[0] for a in DONOR_ACTIONS])
def test_a_donor_never_sees_the_sdks_message_when_stripe_is_unreachable(
    alice_client, stripe_sub, settings, name, url, data
):
    settings.STRIPE_API_BASE = "http://127.0.0.1:1"  # nothing listens on port 1
    response = alice_client.post(url(stripe_sub), data)
    (message,) = messages_of(response)
    assert "could not be reached" in message
    for leak in ("Network error", "ConnectionError", "127.0.0.1", "support@stripe.com", "http"):
        assert leak not in message, (leak, message)
    assert Subscription.objects.get(pk=stripe_sub.pk).status == "active"


def test_subscribing_while_stripe_is_unreachable_says_so_plainly(
    alice_client, fake_stripe, settings
):
    settings.STRIPE_API_BASE = "http://127.0.0.1:1"
    response = alice_client.post("/subscribe/", {"amount": "10"}, follow=True)
    page = response.content.decode()
    assert "could not be reached" in page
    assert "Network error" not in page and "127.0.0.1" not in page


@pytest.mark.parametrize(
    ("status", "error_type", "raw"),
    [
        (400, "invalid_request_error", "No such customer: 'cus_test_alice'; a similar object "
         "exists in live mode, but a test mode key was used to make this request."),
        (401, "invalid_request_error", "Invalid API Key provided: sk_test_****6789"),
        (500, "api_error", "An unknown error occurred (req_internal_0042)"),
    ],
)  # fmt: skip
def test_a_donor_never_sees_stripes_developer_messages(
    alice_client, stripe_sub, fake_stripe, status, error_type, raw
):
    fake_stripe.fail_next("POST", "/v1/billing_portal/sessions", status=status, message=raw,
                          error_type=error_type, code=None)  # fmt: skip
    (message,) = messages_of(alice_client.post("/billing/portal/"))
    assert message.startswith("Stripe could not open the billing portal: ")
    for fragment in ("cus_test_alice", "sk_test", "req_internal", "No such", "API Key"):
        assert fragment not in message, (fragment, message)


def test_a_card_error_is_meant_for_the_payer_and_is_shown(alice_client, stripe_sub, fake_stripe):
    fake_stripe.fail_next(
        "POST", "/v1/subscriptions/", status=402, message="Your card was declined."
    )
    (message,) = messages_of(alice_client.post(f"/subscriptions/{stripe_sub.pk}/pause/"))
    assert message == "Stripe could not pause the subscription: Your card was declined."

"""The webhook's front door: signature, size, JSON and mode checks. Every refusal is a
400-class answer and writes nothing."""

import json
import time

import pytest

from subscriptions.models import Contribution, StripeEvent
from tests.factories import SubscriptionFactory
from tests.subscriptions.fake_stripe import invoice_object
from tests.subscriptions.helpers import (
    OLD_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    make_event,
    post_event,
    post_raw,
    signature,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_event(alice, stripe_keys):
    sub = SubscriptionFactory(user=alice, stripe_subscription_id="sub_test_alice")
    invoice = invoice_object(
        subscription=sub.stripe_subscription_id, amount_paid=1000, paid_at=int(time.time())
    )
    return make_event("invoice.paid", invoice)


def nothing_written():
    return StripeEvent.objects.count() == 0 and Contribution.objects.count() == 0


def test_it_accepts_a_signed_event(client, paid_event):
    response = post_event(client, paid_event)
    assert response.status_code == 200, response.content
    assert Contribution.objects.count() == 1


def test_it_needs_no_csrf_token(stripe_client_, paid_event):
    assert post_event(stripe_client_, paid_event).status_code == 200


def test_it_rejects_a_missing_signature(client, paid_event):
    response = post_raw(client, json.dumps(paid_event), None)
    assert response.status_code == 400
    assert nothing_written()


def test_it_rejects_a_signature_made_with_another_secret(client, paid_event):
    response = post_event(client, paid_event, secret="whsec_someone_else")
    assert response.status_code == 400
    assert nothing_written()


def test_it_rejects_a_body_changed_after_signing(client, paid_event):
    body = json.dumps(paid_event)
    header = signature(body)
    response = post_raw(client, body.replace("1000", "9999"), header)
    assert response.status_code == 400
    assert nothing_written()


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=00", "v1=00", "t=123"])
def test_it_rejects_a_malformed_signature_header(client, paid_event, header):
    response = post_raw(client, json.dumps(paid_event), header)
    assert response.status_code == 400
    assert nothing_written()


def test_it_rejects_a_stale_signature(client, paid_event):
    response = post_event(client, paid_event, timestamp=int(time.time()) - 310)
    assert response.status_code == 400
    assert nothing_written()


def test_it_rejects_a_signature_from_the_future(client, paid_event):
    response = post_event(client, paid_event, timestamp=int(time.time()) + 310)
    assert response.status_code == 400
    assert nothing_written()


def test_it_accepts_a_timestamp_within_the_tolerance(client, paid_event):
    response = post_event(client, paid_event, timestamp=int(time.time()) + 200)
    assert response.status_code == 200


def test_it_accepts_any_of_several_v1_signatures(client, paid_event):
    # Stripe signs with the old and the new secret while an endpoint secret is rolled.
    body = json.dumps(paid_event)
    now = int(time.time())
    good = signature(body, WEBHOOK_SECRET, now).split("v1=")[1]
    other = signature(body, "whsec_retired", now).split("v1=")[1]
    response = post_raw(client, body, f"t={now},v1={other},v1={good}")
    assert response.status_code == 200


def test_it_accepts_either_configured_secret_during_rotation(client, paid_event, settings):
    settings.STRIPE_WEBHOOK_SECRET = f"{WEBHOOK_SECRET}, {OLD_WEBHOOK_SECRET}"
    assert post_event(client, paid_event, secret=OLD_WEBHOOK_SECRET).status_code == 200
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    second = make_event("customer.created", {"id": "cus_x", "object": "customer"})
    assert post_event(client, second, secret=OLD_WEBHOOK_SECRET).status_code == 400


def test_it_rejects_everything_without_a_configured_secret(client, paid_event, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert post_event(client, paid_event).status_code == 400
    assert nothing_written()


def test_it_rejects_a_signed_body_that_is_not_json(client, stripe_keys):
    body = "{not json"
    assert post_raw(client, body, signature(body)).status_code == 400
    assert nothing_written()


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_it_rejects_a_signed_body_with_a_non_json_number(client, stripe_keys, constant):
    """Python's parser takes NaN and Infinity; JSON does not, nor do the database's JSON
    columns (SQLite silently dropped such a row on insert, which ended in a 500)."""
    body = json.dumps(
        {"id": "evt_nan", "type": "customer.subscription.created", "created": 1,
         "livemode": False, "data": {"object": {"x": 1}}}
    ).replace('"x": 1', f'"x": {constant}')  # fmt: skip
    assert post_raw(client, body, signature(body)).status_code == 400
    assert nothing_written()


def test_it_rejects_a_body_that_is_not_utf8(client, stripe_keys):
    body = b'{"id": "evt_\xff"}'
    now = int(time.time())
    response = post_raw(client, body, f"t={now},v1=00")
    assert response.status_code == 400
    assert nothing_written()


def test_it_refuses_a_huge_body_before_reading_it(client, stripe_keys):
    body = json.dumps(make_event("invoice.paid", {"padding": "x" * 300_000}))
    response = post_raw(client, body, signature(body))
    assert response.status_code == 413
    assert nothing_written()


def test_it_answers_get_with_405(client, stripe_keys):
    assert client.get("/stripe/webhook/").status_code == 405


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e.pop("id"),
        lambda e: e.update(id=123),
        lambda e: e.update(id=""),
        lambda e: e.pop("type"),
        lambda e: e.update(type=["invoice.paid"]),
        lambda e: e.update(created="yesterday"),
        lambda e: e.update(created=True),
        lambda e: e.update(created=-5),
        lambda e: e.update(created=10**20),
        lambda e: e.pop("livemode"),
        lambda e: e.update(livemode="false"),
        lambda e: e.pop("data"),
        lambda e: e.update(data={"object": "in_123"}),
        lambda e: e.update(data=[]),
    ],
    ids=[
        "no-id",
        "int-id",
        "empty-id",
        "no-type",
        "list-type",
        "text-created",
        "bool-created",
        "negative-created",
        "huge-created",
        "no-livemode",
        "text-livemode",
        "no-data",
        "string-object",
        "list-data",
    ],
)
def test_it_rejects_a_verified_envelope_with_missing_or_mistyped_fields(
    client, paid_event, mutate
):
    mutate(paid_event)
    response = post_event(client, paid_event)
    assert response.status_code == 400
    assert nothing_written()


@pytest.mark.parametrize("body", ["[]", "null", "42", '"evt"'])
def test_it_rejects_json_that_is_not_an_event_object(client, stripe_keys, body):
    assert post_raw(client, body, signature(body)).status_code == 400
    assert nothing_written()


def test_a_live_site_refuses_test_mode_events(client, paid_event, settings):
    settings.STRIPE_SECRET_KEY = "sk_live_0123456789"
    response = post_event(client, paid_event)
    assert response.status_code == 400
    assert "Test-mode" in response.json()["error"]
    assert nothing_written()


def test_a_live_site_accepts_live_events(client, paid_event, settings):
    settings.STRIPE_SECRET_KEY = "sk_live_0123456789"
    paid_event["livemode"] = True
    assert post_event(client, paid_event).status_code == 200
    assert Contribution.objects.count() == 1


def test_a_test_key_site_refuses_live_events(client, paid_event):
    paid_event["livemode"] = True
    assert post_event(client, paid_event).status_code == 400
    assert nothing_written()

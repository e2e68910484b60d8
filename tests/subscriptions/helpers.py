"""Signed webhook deliveries for tests: real Stripe-Signature headers (HMAC-SHA256 over
"timestamp.body", the SDK's scheme), so the view's verification runs for real."""

import itertools
import json
import time

import stripe
from django.urls import reverse

WEBHOOK_SECRET = "whsec_test_current_0123456789"
OLD_WEBHOOK_SECRET = "whsec_test_previous_9876543210"

_event_ids = itertools.count(1)


def make_event(type_, obj, *, id=None, created=None, livemode=False) -> dict:
    return {
        "id": id or f"evt_test_{next(_event_ids):06d}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "type": type_,
        "created": created if created is not None else int(time.time()),
        "livemode": livemode,
        "pending_webhooks": 1,
        "data": {"object": obj},
    }


def signature(body: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(body, secret, timestamp)


def post_raw(client, body, header, **extra):
    return client.post(
        reverse("subscriptions:webhook"),
        data=body,
        content_type="application/json",
        **({"HTTP_STRIPE_SIGNATURE": header} if header is not None else {}),
        **extra,
    )


def post_event(client, event, *, secret=WEBHOOK_SECRET, timestamp=None):
    body = event if isinstance(event, str) else json.dumps(event)
    return post_raw(client, body, signature(body, secret, timestamp))

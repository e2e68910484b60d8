"""The one place that builds a Stripe client.

Settings are read at call time (tests point STRIPE_API_BASE at a fake server on
127.0.0.1 with override_settings). Every write the platform sends carries an idempotency
key, so a network retry or a double-clicked button never changes Stripe twice.
"""

import hashlib
import json
from functools import lru_cache

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Weekly prices in US dollars; the product is named on the donor's card statement.
CURRENCY = "usd"
INTERVAL = "week"
PRODUCT_NAME = "Hometown Fund weekly gift"
# The SDK retries connection errors and 5xx/429 answers itself, with the same
# idempotency key, so a retry is safe.
MAX_NETWORK_RETRIES = 2


class BillingNotConfigured(Exception):
    """Raised when a Stripe call is needed but the site runs in demo billing."""


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        max_network_retries=MAX_NETWORK_RETRIES,
    )


def get_client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise BillingNotConfigured("No STRIPE_SECRET_KEY: the site runs in demo billing.")
    if not settings.STRIPE_API_BASE.startswith(
        ("https://", "http://127.0.0.1", "http://localhost")
    ):
        raise ImproperlyConfigured("STRIPE_API_BASE must be https (or a local test server).")
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


def idempotency_key(action: str, *parts, params: dict | None = None) -> str:
    """A key that is the same for the same intent: the action, the object and its local
    version, and the parameters. Stripe refuses a reused key with other parameters, so
    the parameters are part of the key."""
    blob = json.dumps([action, [str(p) for p in parts], params or {}], sort_keys=True)
    return f"hometown-{action}-{hashlib.sha256(blob.encode()).hexdigest()[:40]}"


def options(key: str) -> dict:
    return {"idempotency_key": key}

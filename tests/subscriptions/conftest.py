import pytest
from django.test import Client

from tests.subscriptions.fake_stripe import FakeStripe
from tests.subscriptions.helpers import WEBHOOK_SECRET


@pytest.fixture
def stripe_server():
    """A fake Stripe API on 127.0.0.1 that the SDK talks to."""
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@pytest.fixture
def stripe_keys(settings, stripe_server):
    """The site as if it ran with Stripe test keys (no demo billing), its API calls
    answered by the fake (a test never reaches the network: a webhook reads the fee)."""
    settings.STRIPE_SECRET_KEY = "sk_test_fake_0123456789"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_fake_0123456789"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = stripe_server.url
    settings.DEMO_BILLING = False
    return settings


@pytest.fixture
def fake_stripe(stripe_keys, stripe_server):
    """The fake Stripe the site talks to, for tests that give it objects."""
    return stripe_server


@pytest.fixture
def stripe_client_(db):
    """Stripe's side of the webhook: no session, no CSRF token."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def alice_client(alice):
    client = Client(enforce_csrf_checks=False)
    client.force_login(alice)
    return client

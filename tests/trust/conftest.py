import pytest

from tests.subscriptions.conftest import fake_stripe, stripe_keys, stripe_server  # noqa: F401


@pytest.fixture
def no_demo_billing(settings):
    """The engine's trust tests control every contribution; demo billing has its own tests
    (and the bad-input tests here post to the demo subscribe form)."""
    settings.DEMO_BILLING = False


@pytest.fixture
def counts():
    """Row counts of the money tables, to prove what a request did or did not write."""
    from subscriptions.models import Contribution, StripeEvent, Subscription

    def take() -> dict:
        return {
            "events": StripeEvent.objects.count(),
            "contributions": Contribution.objects.count(),
            "subscriptions": Subscription.objects.count(),
        }

    return take

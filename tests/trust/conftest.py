import pytest

from tests.subscriptions.conftest import fake_stripe, stripe_keys  # noqa: F401


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

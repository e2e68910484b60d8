import pytest


@pytest.fixture(autouse=True)
def _no_demo_billing(settings):
    """Trust tests control every contribution; demo billing has its own tests."""
    settings.DEMO_BILLING = False

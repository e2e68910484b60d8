import pytest

from subscriptions.models import StripeStatus
from subscriptions.stripe_status import to_local_status


@pytest.mark.parametrize(
    ("stripe_status", "pause_collection", "local"),
    [
        ("active", None, "active"),
        ("trialing", None, "active"),
        ("past_due", None, "active"),
        ("active", {"behavior": "void"}, "paused"),
        ("past_due", {"behavior": "void"}, "paused"),
        ("paused", None, "paused"),
        ("incomplete", None, "paused"),
        ("canceled", None, "cancelled"),
        ("canceled", {"behavior": "void"}, "cancelled"),
        ("incomplete_expired", None, "cancelled"),
        ("unpaid", None, "cancelled"),
    ],
)
def test_the_documented_mapping(stripe_status, pause_collection, local):
    assert to_local_status(stripe_status, pause_collection=pause_collection) == local


def test_every_stripe_status_has_a_local_status():
    for value in StripeStatus.values:
        if value:
            assert to_local_status(value) in ("active", "paused", "cancelled")


def test_a_word_stripe_does_not_use_is_refused():
    with pytest.raises(ValueError):
        to_local_status("frozen")

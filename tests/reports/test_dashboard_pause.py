"""The dashboard offers skip-a-week and pause-until beside pause, resume, cancel and the
amount, through the same billing functions as the manage link."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from core.weeks import week_start_for
from subscriptions.models import Subscription
from subscriptions.selectors import long_date
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def gift(alice):
    return SubscriptionFactory(user=alice, stripe_subscription_id="demo_dash", stripe_status="")


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_dashboard_shows_the_next_payment_and_the_new_controls(client, alice, gift):
    client.force_login(alice)
    html = client.get("/dashboard/").content.decode()
    this_week = week_start_for(timezone.localdate())
    assert f"Next payment: for the week of {long_date(this_week)}." in html
    assert f'action="/subscriptions/{gift.pk}/skip/"' in html
    assert f'action="/subscriptions/{gift.pk}/pause-until/"' in html
    assert "Skip next week" in html and "Pause until a date" in html


def test_skip_and_pause_until_from_the_dashboard(client, alice, gift):
    client.force_login(alice)
    response = client.post(f"/subscriptions/{gift.pk}/skip/")
    assert response["Location"] == "/dashboard/"
    assert "Next week's payment is skipped" in messages_of(response)[0]
    skipped_until = Subscription.objects.get(pk=gift.pk).paused_until
    assert skipped_until == week_start_for(timezone.localdate()) + dt.timedelta(days=7)
    html = client.get("/dashboard/").content.decode()
    assert f"Paused until {skipped_until:%b} {skipped_until.day}" in html
    assert "Change the date it starts again" in html

    until = timezone.localdate() + dt.timedelta(days=50)
    response = client.post(f"/subscriptions/{gift.pk}/pause-until/", {"until": until.isoformat()})
    assert f"paused until {long_date(until)}" in messages_of(response)[0]
    assert Subscription.objects.get(pk=gift.pk).paused_until == until


@pytest.mark.parametrize("until", ["", "soon", "2020-01-01", "3026-01-01"])
def test_a_bad_date_from_the_dashboard_is_a_message_and_changes_nothing(
    client, alice, gift, until
):
    client.force_login(alice)
    response = client.post(f"/subscriptions/{gift.pk}/pause-until/", {"until": until})
    assert response.status_code == 302
    assert messages_of(response)
    sub = Subscription.objects.get(pk=gift.pk)
    assert (sub.status, sub.paused_until) == ("active", None)


def test_a_paused_gift_cannot_skip(client, alice, gift):
    client.force_login(alice)
    client.post(f"/subscriptions/{gift.pk}/pause/")
    response = client.post(f"/subscriptions/{gift.pk}/skip/")
    assert "Only an active subscription can skip a week." in messages_of(response)[-1]
    assert Subscription.objects.get(pk=gift.pk).paused_until is None

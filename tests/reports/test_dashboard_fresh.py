"""The dashboard is cached in parts (README, "Caching"), and nothing it shows is ever stale:
after a first visit has filled every cache, each change a donor or the weekly run can make
shows on the very next visit. The subscriptions' part is keyed by every column of each
subscription and its schedule, so even a write that bypasses the services (a bulk UPDATE,
the admin) shows at once; its forms carry this response's CSRF token, which works."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.templatetags.fragments import CSRF_PLACEHOLDER
from core.weeks import week_bounds, week_start_for
from distributions.models import Distribution
from reports.models import Report
from subscriptions.models import Subscription
from subscriptions.selectors import get_subscriptions_state_key, long_date, with_schedules
from tests.factories import (
    CharityFactory,
    ContributionFactory,
    SubscriptionFactory,
    make_giving_history,
)

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def warm(client) -> str:
    """Two visits: the second is served from the caches the first filled."""
    client.get("/dashboard/")
    return client.get("/dashboard/").content.decode()


def test_a_new_week_and_its_report_show_at_once(client, alice):
    sub, charities = make_giving_history(alice, weeks=2, charities=2, amount_cents=1000)
    client.force_login(alice)
    html = warm(client)
    assert "$20.00" in html and "week of Nov 16, 2026" in html
    week = dt.date(2026, 11, 23)
    Distribution.objects.bulk_create(
        Distribution(
            subscription=sub,
            charity=charity,
            amount_cents=600,
            week_start=week,
            distribution_date=week + dt.timedelta(days=7),
            reason=f"{charity.name} got 600 cents in the new week.",
        )
        for charity in charities
    )
    report = Report.objects.create(
        user=alice, week_start=week, total_distributed_cents=1200, charities_supported=2
    )
    html = client.get("/dashboard/").content.decode()
    assert "Where your money went in the week of Nov 23, 2026" in html
    assert f"{charities[0].name} got 600 cents in the new week." in html
    assert "$32.00" in html  # lifetime: 2 x $10 + $12
    assert reverse("reports:detail", args=[report.pk]) in html


def test_a_pause_shows_at_once(client, alice):
    sub = SubscriptionFactory(user=alice, amount_cents=1500)
    client.force_login(alice)
    html = warm(client)
    assert reverse("subscriptions:pause", args=[sub.pk]) in html
    client.post(reverse("subscriptions:pause", args=[sub.pk]))
    html = client.get("/dashboard/").content.decode()
    assert 'class="badge badge-paused"' in html
    assert "Paused: nothing is charged until you resume it." in html
    assert reverse("subscriptions:resume", args=[sub.pk]) in html
    assert reverse("subscriptions:pause", args=[sub.pk]) not in html


def test_an_amount_change_shows_at_once(client, alice):
    sub = SubscriptionFactory(user=alice, amount_cents=1500)
    client.force_login(alice)
    assert "$15.00" in warm(client)
    client.post(reverse("subscriptions:change_amount", args=[sub.pk]), {"amount": "23.50"})
    html = client.get("/dashboard/").content.decode()
    assert "$23.50" in html and 'value="23.50"' in html
    assert "$15.00" not in html


def test_a_write_that_bypasses_the_services_shows_at_once(client, alice):
    """No writer has to remember to move a version: the key is the rows themselves."""
    sub = SubscriptionFactory(user=alice, amount_cents=1500)
    client.force_login(alice)
    warm(client)
    until = timezone.localdate() + dt.timedelta(days=30)
    Subscription.objects.filter(pk=sub.pk).update(
        amount_cents=4200, status="paused", paused_until=until
    )
    html = client.get("/dashboard/").content.decode()
    assert "$42.00" in html and "$15.00" not in html
    assert f"Paused until {long_date(until)}" in html


def test_a_payment_this_week_moves_the_next_payment_at_once(client, alice):
    sub = SubscriptionFactory(user=alice, stripe_subscription_id="demo_fresh", stripe_status="")
    client.force_login(alice)
    this_week = week_start_for(timezone.localdate())
    assert f"Next payment: for the week of {long_date(this_week)}." in warm(client)
    ContributionFactory(subscription=sub, paid_at=week_bounds(this_week)[0])
    next_week = this_week + dt.timedelta(days=7)
    html = client.get("/dashboard/").content.decode()
    assert f"Next payment: for the week of {long_date(next_week)}." in html


def test_the_cached_forms_carry_this_responses_working_token(alice):
    sub = SubscriptionFactory(user=alice, amount_cents=1500)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    first = client.get("/dashboard/").content.decode()
    second = client.get("/dashboard/").content.decode()  # the subscriptions from the cache
    assert CSRF_PLACEHOLDER not in first + second
    # Every form of a response has a token; each response masks it afresh.
    assert len(TOKEN.findall(second)) == second.count('method="post"')
    assert set(TOKEN.findall(first)).isdisjoint(TOKEN.findall(second))
    token = TOKEN.findall(second)[-1]
    response = client.post(
        reverse("subscriptions:change_amount", args=[sub.pk]),
        {"amount": "16", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert Subscription.objects.get(pk=sub.pk).amount_cents == 1600


def test_the_subscriptions_key_follows_every_column_and_the_schedule(alice):
    sub = SubscriptionFactory(user=alice, stripe_subscription_id="demo_key", stripe_status="")
    now = timezone.now()
    today = timezone.localdate(now)

    def key(subscription, at=now) -> str:
        return get_subscriptions_state_key(
            with_schedules([subscription], now=at), today=timezone.localdate(at)
        )

    base = key(Subscription.objects.get(pk=sub.pk))
    assert key(Subscription.objects.get(pk=sub.pk)) == base
    for field, value in [
        ("amount_cents", 1234),
        ("covers_fees", True),
        ("status", "cancelled"),
        ("paused_until", today),
        ("stripe_customer_id", "cus_other"),
    ]:
        changed = Subscription.objects.get(pk=sub.pk)
        setattr(changed, field, value)
        assert key(changed) != base, field
    # A week later its next payment is another week: another key.
    assert key(Subscription.objects.get(pk=sub.pk), at=now + dt.timedelta(days=7)) != base
    # The charities' side of the page does not enter it.
    CharityFactory()
    assert key(Subscription.objects.get(pk=sub.pk)) == base


def test_a_changed_city_shows_at_once(client, alice):
    make_giving_history(alice, weeks=2, charities=2, amount_cents=1000)
    client.force_login(alice)
    html = warm(client)
    assert "Springfield, VT" in html and "Set your ZIP code" not in html
    type(alice).objects.filter(pk=alice.pk).update(city="", state="", zip_code="")
    html = client.get("/dashboard/").content.decode()
    assert "Set your ZIP code" in html and "Springfield, VT" not in html
    type(alice).objects.filter(pk=alice.pk).update(city="Burlington", state="VT")
    html = client.get("/dashboard/").content.decode()
    assert "Burlington, VT" in html and "Set your ZIP code" not in html


def test_a_payment_shows_in_the_money_figures_at_once(client, alice):
    sub, _ = make_giving_history(alice, weeks=2, charities=2, amount_cents=1000)
    client.force_login(alice)
    html = warm(client)
    assert "$0.00</span> paid in all" in html and "$0.00</span> waiting" in html
    ContributionFactory(subscription=sub, amount_cents=700, fee_cents=0, net_cents=700)
    html = client.get("/dashboard/").content.decode()
    assert "$7.00</span> paid in all" in html
    assert "$7.00</span> waiting" in html

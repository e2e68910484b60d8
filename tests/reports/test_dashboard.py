"""The donor's dashboard, giving history CSV and yearly statement."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from subscriptions.models import Subscription
from tests.factories import (
    CharityFactory,
    DistributionFactory,
    ReportFactory,
    SubscriptionFactory,
    make_giving_history,
)

pytestmark = pytest.mark.django_db


def test_the_url_names():
    assert reverse("reports:dashboard") == "/dashboard/"
    assert reverse("reports:history_csv") == "/dashboard/history.csv"
    assert reverse("reports:statement", args=[2026]) == "/dashboard/statement/2026/"


def test_a_new_donor_is_invited_to_start_giving(client, alice):
    client.force_login(alice)
    html = client.get("/dashboard/").content.decode()
    assert "You are not giving yet" in html
    assert reverse("subscriptions:subscribe") in html


def test_each_subscription_shows_amount_status_and_next_steps(client, alice):
    active = SubscriptionFactory(user=alice, amount_cents=2500, status="active")
    paused = SubscriptionFactory(user=alice, amount_cents=700, status="paused")
    client.force_login(alice)
    html = client.get("/dashboard/").content.decode()
    assert "$25.00" in html and "$7.00" in html
    assert 'class="badge badge-active"' in html and 'class="badge badge-paused"' in html
    assert reverse("subscriptions:pause", args=[active.pk]) in html
    assert reverse("subscriptions:resume", args=[paused.pk]) in html
    assert reverse("subscriptions:cancel", args=[active.pk]) in html
    assert reverse("subscriptions:change_amount", args=[paused.pk]) in html
    assert 'name="amount"' in html
    assert reverse("subscriptions:pause", args=[paused.pk]) not in html


def test_the_newest_week_split_with_reasons_lifetime_total_and_charts(client, alice):
    _, charities = make_giving_history(alice, weeks=3, charities=2, amount_cents=1000)
    client.force_login(alice)
    response = client.get("/dashboard/")
    html = response.content.decode()
    assert response.context["history"]["split_week"] == dt.date(2026, 11, 16)
    for charity in charities:
        assert f"{charity.name} got 500 cents in the week of 2026-11-16." in html
    assert "in the week of 2026-11-09" not in html
    assert "$30.00" in html  # lifetime: 3 weeks x $10
    assert html.count('<div class="chart chart-weekly"') == 1
    assert html.count('<div class="chart chart-split"') == 1
    assert reverse("reports:statement", args=[2026]) in html


def test_two_subscriptions_to_one_charity_are_added_up(client, alice):
    charity = CharityFactory(name="Shared")
    for amount in (300, 200):
        DistributionFactory(
            subscription=SubscriptionFactory(user=alice), charity=charity, amount_cents=amount
        )
    client.force_login(alice)
    split = client.get("/dashboard/").context["history"]["split"]
    assert [(row["charity"].name, row["amount_cents"]) for row in split] == [("Shared", 500)]


def test_the_history_csv_has_every_row_of_mine_only(client, alice, bob):
    make_giving_history(alice, weeks=3, charities=2)
    make_giving_history(bob, weeks=5, charities=1)
    CharityFactory(name="=HYPERLINK(evil)")
    client.force_login(alice)
    response = client.get("/dashboard/history.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 6
    assert {row["amount"] for row in rows} == {"$5.00"}
    assert rows[0]["week_start"] == "2026-11-02"


def test_a_formula_in_a_charity_name_is_neutralised_in_the_csv(client, alice):
    DistributionFactory(
        subscription=SubscriptionFactory(user=alice),
        charity=CharityFactory(name="=cmd|' /C calc'!A0"),
    )
    client.force_login(alice)
    body = b"".join(client.get("/dashboard/history.csv").streaming_content).decode()
    assert "'=cmd" in body


def test_the_yearly_statement_totals_per_charity_with_eins(client, alice):
    sub = SubscriptionFactory(user=alice)
    food = CharityFactory(name="Food", ein="111111111")
    arts = CharityFactory(name="Arts", ein="")
    DistributionFactory(
        subscription=sub,
        charity=food,
        amount_cents=400,
        week_start=dt.date(2025, 12, 22),
        distribution_date=dt.date(2025, 12, 29),
    )
    DistributionFactory(
        subscription=sub,
        charity=food,
        amount_cents=300,
        week_start=dt.date(2025, 12, 29),
        distribution_date=dt.date(2026, 1, 5),
    )
    DistributionFactory(
        subscription=sub,
        charity=arts,
        amount_cents=200,
        week_start=dt.date(2026, 1, 5),
        distribution_date=dt.date(2026, 1, 12),
    )
    client.force_login(alice)
    response = client.get("/dashboard/statement/2026/")
    assert response.status_code == 200
    rows = {row["charity__name"]: row["total_cents"] for row in response.context["rows"]}
    assert rows == {"Food": 300, "Arts": 200}
    html = response.content.decode()
    assert "11-1111111" in html
    assert "$5.00" in html
    assert "js/print.js" in html
    assert client.get("/dashboard/statement/2025/").context["total_cents"] == 400


def test_a_statement_for_a_silly_year_is_not_found(client, alice):
    client.force_login(alice)
    assert client.get("/dashboard/statement/1999/").status_code == 404
    assert client.get("/dashboard/statement/2026/").status_code == 200


def test_pause_resume_change_and_cancel_from_the_dashboard(client, alice):
    sub = SubscriptionFactory(user=alice, amount_cents=1000)
    client.force_login(alice)
    page = client.post(reverse("subscriptions:pause", args=[sub.pk]), follow=True)
    assert "paused" in page.content.decode()
    sub.refresh_from_db()
    assert sub.status == "paused"
    client.post(reverse("subscriptions:resume", args=[sub.pk]))
    client.post(reverse("subscriptions:change_amount", args=[sub.pk]), {"amount": "12.50"})
    sub.refresh_from_db()
    assert (sub.status, sub.amount_cents) == ("active", 1250)
    page = client.post(
        reverse("subscriptions:change_amount", args=[sub.pk]), {"amount": "0.5"}, follow=True
    )
    assert 'class="message message-error"' in page.content.decode()
    client.post(reverse("subscriptions:cancel", args=[sub.pk]))
    sub.refresh_from_db()
    assert sub.status == "cancelled"


def test_subscribing_needs_a_city_first(client):
    from tests.factories import UserFactory

    user = UserFactory(city="", state="", zip_code="")
    client.force_login(user)
    response = client.get(reverse("subscriptions:subscribe"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/profile/")


def test_subscribing_in_demo_billing_records_the_first_payment(client, alice):
    client.force_login(alice)
    response = client.post(reverse("subscriptions:subscribe"), {"amount": "15"}, follow=True)
    assert "Thank you" in response.content.decode()
    sub = Subscription.objects.get(user=alice)
    assert sub.amount_cents == 1500 and sub.is_demo
    assert sub.contributions.get().amount_cents == 1500


def test_the_dashboard_links_the_newest_report(client, alice):
    report = ReportFactory(user=alice)
    DistributionFactory(subscription=SubscriptionFactory(user=alice))
    client.force_login(alice)
    assert (
        reverse("reports:detail", args=[report.pk]) in client.get("/dashboard/").content.decode()
    )


def test_a_new_distribution_shows_at_once_although_the_history_is_cached(client, alice):
    """The history fragments are cached under the donor's ledger version; a new row is a
    new version, so the page never shows a stale split."""
    make_giving_history(alice, weeks=1, charities=1, amount_cents=1000)
    client.force_login(alice)
    assert "$10.00" in client.get("/dashboard/").content.decode()
    late = CharityFactory(name="Late Arrival Pantry")
    DistributionFactory(
        subscription=alice.subscriptions.first(),
        charity=late,
        amount_cents=700,
        week_start=dt.date(2026, 11, 23),
    )
    html = client.get("/dashboard/").content.decode()
    assert "Late Arrival Pantry" in html
    assert "$17.00" in html


def test_a_second_visit_reads_the_history_from_the_cache(client, alice, django_assert_num_queries):
    make_giving_history(alice, weeks=3, charities=2)
    client.force_login(alice)
    client.get("/dashboard/")
    # user, and the ledger version with the subscriptions (the session comes from the cache)
    with django_assert_num_queries(2):
        assert client.get("/dashboard/").status_code == 200

"""A donor's whole journey in a real browser (see tests/e2e/conftest.py)."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from charities.models import CharityStatus
from core.weeks import last_completed_week, week_bounds
from distributions.models import Distribution
from reports.models import Report
from subscriptions.models import Contribution, Subscription
from tests.e2e.conftest import PASSWORD, log_in, screenshot
from tests.e2e.test_map import markers_on_map, open_map
from tests.factories import (
    CharityFactory,
    DistributionFactory,
    NeedFactory,
    ReportFactory,
    SubscriptionFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def springfield_charities(n=3):
    charities = []
    for i in range(n):
        charity = CharityFactory(
            name=f"Springfield Helper {i}", latitude=43.29 + i / 100, longitude=-72.48 - i / 100
        )
        NeedFactory(charity=charity, urgency_score=60 + 10 * i, funding_gap_cents=500_000)
        charities.append(charity)
    return charities


def sign_up_and_subscribe(page, email="new.donor@example.org", zip_code="05156", dollars="10"):
    """Sign up, verify the email from the outbox, set a ZIP, subscribe in demo billing."""
    page.goto("/accounts/signup/")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password1]").fill(PASSWORD + " 42")
    page.locator("input[name=password2]").fill(PASSWORD + " 42")
    page.locator("form.auth-form button[type=submit]").click()
    page.wait_for_url("**/accounts/confirm-email/")
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", mail.outbox[-1].body)
    page.goto(link.group(1))
    page.locator("form.auth-form button[type=submit]").click()
    page.wait_for_url("**/dashboard/")

    page.get_by_role("link", name="Start giving").first.click()
    page.wait_for_url("**/accounts/profile/?next=subscribe")
    assert "First tell us your ZIP code" in page.content()
    page.get_by_label("ZIP code").fill(zip_code)
    # The page's script fills city and state from the ZIP before the form is saved.
    from playwright.sync_api import expect

    expect(page.locator("#id_city")).to_have_value("Springfield")
    assert page.locator("#id_state").input_value() == "VT"
    assert "is in Springfield, VT" in page.locator("#zip-status").text_content()
    page.get_by_role("button", name="Save profile").click()
    page.wait_for_url("**/subscribe/")
    assert "Springfield, VT" in page.content()
    page.get_by_label("Weekly amount").fill(dollars)
    page.get_by_role("button", name="Start giving (demo)").click()
    page.wait_for_url("**/dashboard/")
    assert "Thank you!" in page.content()


def pause_from_the_dashboard(page):
    page.goto("/dashboard/")
    page.get_by_role("button", name="Pause").click()
    page.wait_for_url("**/dashboard/")
    assert "Your weekly gift is paused." in page.content()
    assert page.locator(".badge-paused").count() == 1
    assert page.get_by_role("button", name="Resume").count() == 1


def test_sign_up_set_a_zip_subscribe_and_pause(page):
    springfield_charities()
    sign_up_and_subscribe(page)
    subscription = Subscription.objects.get(user__email="new.donor@example.org")
    assert (subscription.amount_cents, subscription.user.zip_code) == (1000, "05156")
    assert subscription.user.place == "Springfield, VT"
    assert Contribution.objects.filter(subscription=subscription).count() == 1
    pause_from_the_dashboard(page)
    subscription.refresh_from_db()
    assert subscription.status == "paused"

    # Cancelling asks first; saying no changes nothing.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Cancel").click()
    subscription.refresh_from_db()
    assert subscription.status == "paused"
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url("**/dashboard/")
    assert "Your weekly gift is cancelled." in page.content()
    subscription.refresh_from_db()
    assert subscription.status == "cancelled"
    assert page.csp_errors == []


def test_the_weekly_distribution_reaches_the_report_and_the_map(page):
    charities = springfield_charities(3)
    sign_up_and_subscribe(page, dollars="25")
    subscription = Subscription.objects.get(user__email="new.donor@example.org")
    # Demo billing collected the payment now; the run distributes a week that has ended,
    # so the payment is moved into last week.
    week = last_completed_week(timezone.now())
    Contribution.objects.filter(subscription=subscription).update(
        paid_at=week_bounds(week)[0] + dt.timedelta(days=1)
    )

    # Integration point with the engine (portfolio.services.distribute_funds behind the
    # run_distribution command) and with reports.services.generate_report.
    call_command("run_distribution", "--week", week.isoformat())
    call_command("generate_reports", "--week", week.isoformat())

    rows = list(Distribution.objects.filter(subscription=subscription).select_related("charity"))
    assert {row.charity for row in rows} == set(charities)
    report = Report.objects.get(user=subscription.user, week_start=week)
    page.goto("/reports/")
    page.get_by_role("link", name=week.strftime("%b %-d, %Y")).click()
    page.wait_for_url(f"**/reports/{report.pk}/")
    table = page.locator("table.breakdown")
    for row in rows:
        assert table.get_by_role("link", name=row.charity.name, exact=True).count() == 1
        assert table.get_by_text(row.reason, exact=True).count() == 1

    open_map(page)
    assert markers_on_map(page) == len(charities)
    pause_from_the_dashboard(page)


def test_a_report_shows_every_charity_with_its_reason(page, verified_donor):
    charities = springfield_charities(3)
    breakdown = [
        {
            "charity_id": c.pk,
            "charity_name": c.name,
            "amount_cents": 300 + i,
            "reason": f"Reason number {i}: urgency {60 + 10 * i}/100.",
        }
        for i, c in enumerate(charities)
    ]
    report = ReportFactory(
        user=verified_donor,
        distribution_breakdown=breakdown,
        total_distributed_cents=903,
        charities_supported=3,
    )
    log_in(page, verified_donor.email)
    page.get_by_role("link", name="Reports").first.click()
    page.get_by_role("link", name="Nov 16, 2026").click()
    page.wait_for_url(f"**/reports/{report.pk}/")
    table = page.locator("table.breakdown")
    for entry in breakdown:
        assert table.get_by_role("link", name=entry["charity_name"], exact=True).count() == 1
        assert table.get_by_text(entry["reason"], exact=True).count() == 1
    assert page.locator(".chart-split .chart-row").count() == 3


def test_the_map_shows_a_marker_per_charity_and_filters_by_city(page):
    springfield_charities(4)
    for i in range(2):
        CharityFactory(
            name=f"Louisville Helper {i}",
            city="Louisville",
            state="KY",
            latitude=38.25 + i / 100,
            longitude=-85.76,
        )
    CharityFactory(name="Not on the map", latitude=None, longitude=None, coordinates_source=None)
    CharityFactory(name="Pending", verification_status=CharityStatus.PENDING, approved_at=None)
    open_map(page)
    assert markers_on_map(page) == 6  # single markers and the numbers on clusters
    page.get_by_label("Show the charities of").select_option("Louisville, KY")
    assert markers_on_map(page) == 2
    assert page.locator("#map-count").text_content() == "2 charities on the map."
    assert page.locator("#map-list li:visible").count() == 2
    page.get_by_role("button", name="Show on map: Louisville Helper 1").click()
    popup = page.locator(".leaflet-popup-content a")
    assert popup.text_content() == "Louisville Helper 1"
    popup.click()
    page.wait_for_url("**/charities/*/")
    assert page.locator("h1").text_content().startswith("Louisville Helper")
    assert page.csp_errors == []


def test_screenshots_of_the_main_pages(page, verified_donor):
    charities = springfield_charities(5)
    subscription = SubscriptionFactory(user=verified_donor, amount_cents=2500)
    for week in range(12):
        week_start = dt.date(2026, 11, 16) - dt.timedelta(weeks=week)
        breakdown = []
        for i, charity in enumerate(charities):
            reason = f"{20 + i}% of your $25.00: urgency {60 + 5 * i}/100 and a $5,000 gap."
            DistributionFactory(
                subscription=subscription,
                charity=charity,
                reason=reason,
                amount_cents=400 + 50 * i + 7 * week,
                week_start=week_start,
                distribution_date=week_start + dt.timedelta(days=7),
            )
            breakdown.append(
                {
                    "charity_id": charity.pk,
                    "charity_name": charity.name,
                    "amount_cents": 400 + 50 * i,
                    "reason": reason,
                }
            )
        ReportFactory(
            user=verified_donor,
            week_start=week_start,
            distribution_breakdown=breakdown,
            total_distributed_cents=2500,
            charities_supported=5,
        )

    for path, name in [
        ("/", "home"),
        ("/charities/", "charities"),
        (f"/charities/{charities[0].pk}/", "charity"),
        ("/charities/map/", "map"),
        ("/accounts/signup/", "signup"),
        ("/accounts/login/", "login"),
    ]:
        page.goto(path)
        if name in ("map", "charity"):
            page.wait_for_selector(".leaflet-marker-icon")
        screenshot(page, name)
    log_in(page, verified_donor.email)
    report = verified_donor.reports.order_by("-week_start").first()
    for path, name in [
        ("/dashboard/", "dashboard"),
        ("/reports/", "reports"),
        (f"/reports/{report.pk}/", "report"),
        ("/accounts/profile/", "profile"),
        ("/dashboard/statement/2026/", "statement"),
        ("/subscribe/", "subscribe"),
    ]:
        page.goto(path)
        screenshot(page, name)
    page.goto("/no/such/page/")
    screenshot(page, "not-found")
    assert page.csp_errors == []

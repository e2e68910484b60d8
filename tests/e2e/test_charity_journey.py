"""A charity's whole journey in a real browser (see tests/e2e/conftest.py): it applies at
/charities/apply/, staff approve it in the admin, its owner adds a need in the portal, the
weekly run gives it a share of a donor's gift for that need, and the owner sees the week's
total on the portal's money page. Screenshots at 1280 and 390 px."""

import datetime as dt

import pytest
from allauth.account.models import EmailAddress
from django.db.models import Sum
from django.utils import timezone

from charities.models import Charity, CharityMember, CharityStatus
from core.templatetags.money import dollars
from core.weeks import last_completed_week, week_bounds
from distributions.models import Distribution
from needs.models import MoneyReceived, Need
from portfolio.services import distribute_funds
from tests.e2e.conftest import DESKTOP, SCREENSHOTS, log_in
from tests.factories import (
    CharityFactory,
    ContributionFactory,
    NeedFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE_390 = {"width": 390, "height": 844}
EIN = "12-3456789"  # not in any IRS import: the application is flagged for staff


def screenshot_390(page, name: str) -> None:
    """Save the page at 1280 and 390 px and check the 390 px view does not scroll
    sideways."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size(PHONE_390)
    page.wait_for_timeout(100)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-390.png"), full_page=True)
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    page.set_viewport_size(DESKTOP)
    assert scroll <= inner + 1, f"{name} scrolls sideways at 390 px ({scroll} > {inner} px)"


def verified(user):
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def new_page(browser, live_server):
    """A second browser (its own cookies), watching the console like the page fixture."""
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.csp_errors = []
    page.on(
        "console",
        lambda msg: (
            page.csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None
        ),
    )
    return page


def apply_for_a_charity(page) -> Charity:
    page.goto("/charities/apply/")
    page.get_by_label("EIN").fill(EIN)
    screenshot_390(page, "charity-apply-ein")
    page.get_by_role("button", name="Look up").click()
    page.wait_for_selector("#apply-form")
    assert "This EIN is not in the IRS file we imported" in page.content()
    form = page.locator("#apply-form")
    assert form.get_by_label("EIN").input_value() == EIN
    form.get_by_label("Charity's name").fill("Springfield Warming Shelter")
    form.get_by_label("City").fill("Springfield")
    form.get_by_label("State").select_option("VT")
    form.get_by_label("ZIP code").fill("05156")
    form.get_by_label("Category").select_option("human_services")
    form.get_by_label("Mission").fill("Warm beds and hot meals for anyone without a home.")
    screenshot_390(page, "charity-apply")
    form.get_by_role("button", name="Send application").click()
    page.wait_for_url("**/portal/")
    assert "is waiting for our staff" in page.content()
    return Charity.objects.get(ein=EIN.replace("-", ""))


def approve_in_the_admin(page, charity: Charity) -> None:
    page.goto("/admin/charities/charity/?applications=pending")
    page.locator(f"input.action-select[value='{charity.pk}']").check()
    page.locator("select[name=action]").select_option("approve_selected")
    page.get_by_role("button", name="Go").click()
    # The new charity has no need yet: the admin warns before approving it.
    warning = page.locator("#approval-warnings")
    assert f"{charity.name} has no current need" in warning.inner_text()
    page.get_by_role("button", name="Approve anyway").click()
    page.wait_for_selector(".messagelist")
    assert "Approved 1 charity." in page.locator(".messagelist").inner_text()


def add_a_need(page, charity: Charity) -> None:
    page.goto(f"/portal/{charity.pk}/needs/")
    assert "No needs yet" in page.content()
    form = page.locator("form", has=page.get_by_role("button", name="Add need"))
    form.get_by_label("Category").select_option("housing")
    form.get_by_label("Urgency").fill("90")
    form.get_by_label("Funding gap (dollars)").fill("4,000")
    form.get_by_label("Description").fill("Twenty winter beds")
    form.get_by_role("button", name="Add need").click()
    page.wait_for_url(f"**/portal/{charity.pk}/needs/")
    assert "Saved: Housing &amp; shelter." in page.content()
    assert "Twenty winter beds" in page.locator("table").inner_text()
    screenshot_390(page, "portal-needs")


def test_a_charity_applies_is_approved_adds_a_need_and_sees_its_week(
    page, browser, live_server, carol
):
    owner = verified(UserFactory(email="olive@example.org", name="Olive"))
    log_in(page, owner.email)
    charity = apply_for_a_charity(page)
    assert charity.verification_status == CharityStatus.PENDING
    assert charity.applied_by == owner
    assert charity.application_flags  # an EIN we hold nothing for is flagged for staff
    assert CharityMember.objects.filter(charity=charity, user=owner, role="owner").exists()

    staff = new_page(browser, live_server)
    try:
        verified(carol)
        log_in(staff, carol.email)
        approve_in_the_admin(staff, charity)
        assert staff.csp_errors == []
    finally:
        staff.context.close()
    charity.refresh_from_db()
    assert charity.verification_status == CharityStatus.APPROVED
    assert charity.approved_by == carol

    add_a_need(page, charity)
    need = Need.objects.get(charity=charity)
    assert (need.category, need.urgency_score, need.funding_gap_cents) == ("housing", 90, 400_000)
    assert need.description == "Twenty winter beds"

    # Another Springfield charity competes for the same gift, so the new charity's total
    # is a share the engine computed rather than the whole gift.
    NeedFactory(
        charity=CharityFactory(name="Springfield Food Shelf"),
        urgency_score=50,
        funding_gap_cents=300_000,
    )
    donor = UserFactory(email="dan@example.org", city="Springfield", state="VT")
    subscription = SubscriptionFactory(user=donor, amount_cents=2500)
    week = last_completed_week(timezone.now())
    ContributionFactory(
        subscription=subscription, paid_at=week_bounds(week)[0] + dt.timedelta(days=1)
    )
    distribute_funds(week)

    # The run used the need the owner entered.
    rows = Distribution.objects.filter(charity=charity, week_start=week)
    total = rows.aggregate(total=Sum("amount_cents"))["total"]
    assert total and 0 < total < 2500
    credited = MoneyReceived.objects.filter(need=need, week_start=week)
    assert credited.aggregate(total=Sum("amount_cents"))["total"] == total

    page.goto(f"/portal/{charity.pk}/money/")
    week_row = page.locator("tbody tr", has=page.locator("th", has_text=f"{week:%b %-d, %Y}"))
    assert week_row.count() == 1
    assert week_row.locator("td").nth(1).inner_text() == dollars(total)
    assert week_row.locator("td").nth(0).inner_text() == "1"
    assert page.locator("tfoot td").inner_text() == dollars(total)
    screenshot_390(page, "portal-money")
    assert page.csp_errors == []

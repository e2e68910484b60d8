"""Manage from any email, in the browser: the link in the receipt email opens the gift
without signing in; skip a week, pause until a date (a bad date first), change the
amount, cancel; then the same link is refused. Screenshots at 1280 and 390 px."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone

from subscriptions.models import Subscription
from subscriptions.services import start_demo_subscription
from tests.e2e.conftest import DESKTOP, SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE_390 = {"width": 390, "height": 844}


def shots(page, name: str) -> None:
    """The page at 1280 and 390 px, and no sideways scrolling on the phone."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size(PHONE_390)
    page.wait_for_timeout(100)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-390.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size(DESKTOP)
    assert width <= PHONE_390["width"], f"{name} scrolls sideways at 390 px ({width} px)"


def gift_of(user) -> Subscription:
    return Subscription.objects.get(user=user)


def test_a_donor_manages_the_gift_from_the_email_link(page, verified_donor):
    start_demo_subscription(user=verified_donor, amount_cents=1000)
    [receipt] = mail.outbox
    path = re.search(r"https?://[^/\s]+(/manage/[^/\s]+/)", receipt.body).group(1)

    response = page.goto(path)
    assert response.status == 200
    assert page.get_by_role("heading", name="Your weekly gift").is_visible()
    assert "Hello Erin." in page.content() and "erin@example.org" not in page.content()
    assert page.get_by_role("link", name="Log in").count() == 1  # nobody was signed in
    shots(page, "manage-link")

    page.get_by_role("button", name="Skip next week").click()
    page.wait_for_selector(".message-success")
    assert "Next week's payment is skipped" in page.locator(".messages").inner_text()
    skipped = gift_of(verified_donor)
    assert skipped.status == "paused" and skipped.paused_until is not None
    assert "Paused until" in page.locator(".manage-summary").inner_text()
    shots(page, "manage-link-skipped")

    # A date in the past is a form error and changes nothing.
    date_field = page.get_by_label("Pause until another date")
    date_field.fill((timezone.localdate() - dt.timedelta(days=2)).isoformat())
    page.get_by_role("button", name="Pause until this date").click()
    page.wait_for_selector("#until-errors")
    assert "Choose a date after today." in page.locator("#until-errors").inner_text()
    assert gift_of(verified_donor).paused_until == skipped.paused_until
    shots(page, "manage-link-bad-date")

    until = timezone.localdate() + dt.timedelta(days=45)
    page.get_by_label("Pause until another date").fill(until.isoformat())
    page.get_by_role("button", name="Pause until this date").click()
    page.wait_for_selector(".message-success")
    assert gift_of(verified_donor).paused_until == until
    assert f"{until:%B} {until.day}" in page.locator(".manage-summary").inner_text()

    page.get_by_label("New weekly amount ($)").fill("15")
    page.get_by_role("button", name="Change amount").click()
    page.wait_for_selector(".message-success")
    assert "$15.00" in page.locator(".messages").inner_text()
    assert gift_of(verified_donor).amount_cents == 1500
    shots(page, "manage-link-changed")

    page.get_by_role("link", name="Cancel this gift").click()
    page.wait_for_url("**/cancel/")
    assert gift_of(verified_donor).status == "paused"  # the confirm page changes nothing
    shots(page, "manage-link-cancel-confirm")
    page.get_by_role("button", name="Yes, cancel my gift").click()
    page.wait_for_selector("h1:has-text('This gift is cancelled')")
    assert gift_of(verified_donor).status == "cancelled"

    refused = page.goto(path)
    assert refused.status == 410
    assert page.get_by_role("heading", name="This gift is cancelled").is_visible()
    assert page.get_by_role("link", name="Start giving again").is_visible()
    shots(page, "manage-link-refused")
    assert page.csp_errors == []

    # Every change was confirmed by email; only the cancellation's has no link.
    subjects = [m.subject for m in mail.outbox[1:]]
    assert subjects.count("Your weekly gift was changed") == 3
    assert subjects[-1] == "Your weekly gift is cancelled"

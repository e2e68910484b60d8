"""Covering the fees in the browser: the live breakdown (static JS), the confirm step,
the dashboard line; screenshots of the pages it changes."""

import pytest

from subscriptions.models import Subscription
from tests.e2e.conftest import log_in, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_donor_covers_the_fees_and_sees_the_total_before_confirming(page, verified_donor):
    log_in(page, verified_donor.email)
    page.goto("/subscribe/")
    page.locator("input[name=amount]").fill("10")
    preview = page.locator(".fee-preview")
    assert preview.text_content() == ""
    page.get_by_label("Add the processing fee so charities receive the full amount").check()
    # The static script shows the same figure the server will ask to confirm.
    assert preview.text_content() == "$10.00 + $0.61 fees = $10.61 a week"
    screenshot(page, "subscribe-cover-fees")

    page.get_by_role("button", name="Start giving (demo)").click()
    page.wait_for_selector(".review")
    assert "$10.00 + $0.61 fees = $10.61 a week" in page.locator(".review").inner_text()
    assert Subscription.objects.count() == 0  # nothing until confirmed
    screenshot(page, "subscribe-cover-fees-confirm")

    page.get_by_role("button", name="Confirm and start giving (demo)").click()
    page.wait_for_url("**/dashboard/")
    sub = Subscription.objects.get()
    assert (sub.amount_cents, sub.covers_fees, sub.gift_cents) == (1061, True, 1000)
    assert "You give $10.00 a week + $0.61 fees (you cover the fees)" in page.content()
    screenshot(page, "dashboard-cover-fees")
    assert page.csp_errors == []

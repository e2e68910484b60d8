"""The admin's lists in compact form (they fit a 1280 px screen: tests/e2e/
test_admin_money.py measures it): short labels, money as dollars, gaps in whole dollars,
dates without times, long text cut short with the whole in its title."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from core.templatetags.money import dollars, whole_dollars
from core.weeks import last_completed_week, week_bounds
from portfolio.services import distribute_funds
from tests.factories import CharityFactory, ContributionFactory, NeedFactory, UserFactory
from tests.portfolio.scenario import donor, paid

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_demo_billing")]


@pytest.fixture
def superuser(client):
    user = UserFactory(is_staff=True, is_superuser=True, city="", state="", zip_code="")
    client.force_login(user)
    return user


def headers(page: str) -> list[str]:
    """The list's column labels (each header's text, without its sort priority)."""
    head = page.split("<thead>", 1)[1].split("</thead>", 1)[0]
    return re.findall(r'<div class="text">(?:<a [^>]*>|<span>)([^<]*)<', head)


def test_the_charity_list(client, superuser):
    charity = CharityFactory(
        name="Springfield Area Food Shelf", ein="030179436", verification_status="pending"
    )
    page = client.get(reverse("admin:charities_charity_changelist")).content.decode()
    assert [h for h in headers(page) if h] == [
        "Name", "Place", "Category", "Status", "Needs", "EIN", "Payouts", "Added",
    ]  # fmt: skip
    created = timezone.localtime(charity.created_at)
    assert f"{created:%b} {created.day}, {created.year}" in page
    assert "03-0179436" in page
    # The payout reason in a word, in full in the title.
    assert '<span title="not approved (pending review)">not approved</span>' in page


def test_the_need_list(client, superuser):
    name = "The Greater Springfield Community Food and Warming Shelter Association"
    NeedFactory(charity=CharityFactory(name=name), urgency_score=87, funding_gap_cents=1_250_075)
    page = client.get(reverse("admin:needs_need_changelist")).content.decode()
    assert [h for h in headers(page) if h] == [
        "Charity", "Category", "Urgency", "Gap", "Source", "Updated",
    ]  # fmt: skip
    assert f">{whole_dollars(1_250_075)}<" in page  # "$12,500"
    assert f'<span title="{name}">' in page and f">{name}<" not in page
    assert ">87<" in page


def test_the_run_list(client, superuser):
    week = last_completed_week(timezone.now())
    NeedFactory(charity=CharityFactory())
    paid(donor(), 1234, when=week_bounds(week)[0])
    paid(donor("Laramie", "WY"), 500, when=week_bounds(week)[0])
    distribute_funds(week)
    page = client.get(reverse("admin:distributions_distributionrun_changelist")).content.decode()
    assert [h for h in headers(page) if h] == [
        "Week", "Status", "Pooled", "Distributed", "Held", "Places", "Rows", "Finished",
    ]  # fmt: skip
    assert dollars(1234) in page and dollars(500) in page
    assert "2 (1 holding)" in page


def test_the_contribution_list(client, superuser):
    ContributionFactory(stripe_invoice_id="in_1PzXyZ2eZvKYlo2C0a1b2c3d", fee_source="demo")
    page = client.get(reverse("admin:subscriptions_contribution_changelist")).content.decode()
    assert [h for h in headers(page) if h] == [
        "Invoice", "Donor", "Paid", "Fee", "Net (given)", "Fee from", "Paid on",
        "Given in week",
    ]  # fmt: skip
    assert '<span title="in_1PzXyZ2eZvKYlo2C0a1b2c3d">' in page
    assert "not yet" in page

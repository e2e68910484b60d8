"""The seed-named ledger selectors are the path the product takes: narrow what one
returns (here, in the test) and the donor's pages and the weekly reports follow."""

import pytest

import distributions.selectors
import reports.services
from portfolio.services import distribute_funds
from reports.services import generate_report
from tests.portfolio.scenario import NOW, WEEK, charity, paid

pytestmark = pytest.mark.django_db


@pytest.fixture
def given(alice):
    """Alice's $10.00 of WEEK, split over two charities of her city."""
    kept, hidden = charity(name="Kept Charity"), charity(name="Hidden Charity")
    paid(alice, 1000)
    distribute_funds(WEEK, now=NOW)
    return kept, hidden


def test_the_donors_pages_read_get_distributions_by_user(client, alice, given, monkeypatch):
    _, hidden = given
    client.force_login(alice)
    assert "Hidden Charity" in client.get("/dashboard/history.csv").getvalue().decode()
    assert "Hidden Charity" in client.get(f"/dashboard/statement/{NOW.year}/").text

    real = distributions.selectors.get_distributions_by_user
    monkeypatch.setattr(
        distributions.selectors,
        "get_distributions_by_user",
        lambda user: real(user).exclude(charity=hidden),
    )
    csv = client.get("/dashboard/history.csv").getvalue().decode()
    assert "Kept Charity" in csv and "Hidden Charity" not in csv
    statement = client.get(f"/dashboard/statement/{NOW.year}/").text
    assert "Kept Charity" in statement and "Hidden Charity" not in statement


def test_a_weekly_report_reads_get_distributions_by_week(alice, given, monkeypatch):
    kept, hidden = given
    real = distributions.selectors.get_distributions_by_week
    monkeypatch.setattr(
        reports.services,
        "get_distributions_by_week",
        lambda week: real(week).exclude(charity=hidden),
    )
    report = generate_report(alice, WEEK)
    assert [row["charity_id"] for row in report.distribution_breakdown] == [kept.pk]

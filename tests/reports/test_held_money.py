"""Held money is visible everywhere it matters: the dashboard (paid, given, held, and why
in words), the profile and subscribe pages before a donor gives, a weekly report and email
for a week whose money was held, and the label on released money when it goes out
(dashboard, report, email, CSV)."""

import csv
import datetime as dt
import io

import pytest
from django.core import mail

from portfolio.services import distribute_funds
from reports.models import Report
from reports.services import generate_reports, send_report_emails
from tests.portfolio.scenario import WEEK, at, charity, donor, paid

pytestmark = pytest.mark.django_db

WAITS = "Casper, WY has no vetted charity yet; your $20.00 waits and goes out the first week"


def week(k):
    return WEEK + dt.timedelta(weeks=k)


def run_and_report(k, capture):
    distribute_funds(week(k), now=at(week(k) + dt.timedelta(days=7), 6))
    generate_reports(week(k))
    with capture(execute=True):
        send_report_emails(week(k))


@pytest.fixture
def casper(django_capture_on_commit_callbacks):
    """A donor in Casper, WY, where no charity is vetted, who paid $20 in WEEK."""
    user = donor("CASPER", "WY", email="casey@example.org")
    paid(user, 2000, when=at(week(0) + dt.timedelta(days=2)))
    run_and_report(0, django_capture_on_commit_callbacks)
    return user


def test_a_week_whose_money_was_held_gets_a_report_and_an_email_saying_so(client, casper):
    report = Report.objects.get(user=casper, week_start=week(0))
    assert (report.total_distributed_cents, report.held_cents) == (0, 2000)
    assert (report.hold_reason, report.held_place) == ("no_charity", "Casper, WY")
    assert report.held_since == week(0) + dt.timedelta(days=2)
    assert report.held_text.startswith(WAITS)

    [email] = mail.outbox
    assert email.subject.startswith("Your money waits")
    assert WAITS in email.body
    client.force_login(casper)
    page = client.get(f"/reports/{report.pk}/").text
    assert WAITS in page
    assert "Nothing of yours was given out" not in page


def test_the_dashboard_shows_paid_given_and_held_with_the_reason(client, casper):
    client.force_login(casper)
    page = client.get("/dashboard/").text
    assert "$20.00</span> paid in all" in page
    assert "$0.00</span> given to charities" in page
    assert "$20.00 held since Nov 11" in page
    assert WAITS in page
    assert "after your first payment has been distributed" not in page


def test_profile_and_subscribe_warn_before_a_donor_gives_in_such_a_city(client, casper):
    client.force_login(casper)
    for url in ("/accounts/profile/", "/subscribe/"):
        assert "Casper, WY has no vetted charity yet." in client.get(url).text, url
    saved = client.post(
        "/accounts/profile/",
        {"name": "Casey", "zip_code": "", "city": "Casper", "state": "WY"},
        follow=True,
    )
    assert "Your money goes to the charities of" not in saved.text
    assert "Casper, WY has no vetted charity yet." in saved.text


def test_released_money_is_labelled_where_it_goes_out(
    client, casper, django_capture_on_commit_callbacks
):
    charity("Casper", "WY", name="Casper Food Bank", updated=at(week(1)))
    paid(casper, 1000, when=at(week(1) + dt.timedelta(days=2)))
    mail.outbox.clear()
    run_and_report(1, django_capture_on_commit_callbacks)

    report = Report.objects.get(user=casper, week_start=week(1))
    assert (report.total_distributed_cents, report.held_cents) == (3000, 0)
    assert report.released_cents == 2000
    label = "includes $20.00 paid Nov 11, held until a charity was approved"
    assert report.released_text == label
    assert label in mail.outbox[0].body
    client.force_login(casper)
    assert label in client.get(f"/reports/{report.pk}/").text
    assert label in client.get("/dashboard/").text
    body = b"".join(client.get("/dashboard/history.csv").streaming_content).decode()
    notes = {row["note"] for row in csv.DictReader(io.StringIO(body))}
    assert notes == {f"This week's gift {label}."}
    # The held week's report still says what happened then.
    assert Report.objects.get(user=casper, week_start=week(0)).held_cents == 2000


def test_money_recorded_after_its_weeks_run_is_labelled_as_late_not_held(
    django_capture_on_commit_callbacks,
):
    charity(name="Food Shelf", updated=at(week(0)))
    alice = donor(email="late@example.org")
    paid(alice, 1000)
    run_and_report(0, django_capture_on_commit_callbacks)
    paid(alice, 700, when=at(week(0) + dt.timedelta(days=6), 22))  # recorded after the run
    run_and_report(1, django_capture_on_commit_callbacks)
    report = Report.objects.get(user=alice, week_start=week(1))
    assert report.released_cents == 700
    assert report.released_text == (
        "includes $7.00 paid Nov 15, recorded after its own week's run, so given the week after"
    )


def test_the_dashboards_held_note_follows_todays_reason_at_once(client, casper):
    """The whole page is cached under what it shows (reports.views.dashboard): the reason
    money waits is today's, so vetting a charity changes it on the next visit, with no new
    ledger row for the cache to notice."""
    client.force_login(casper)
    client.get("/dashboard/")
    assert WAITS in client.get("/dashboard/").text
    charity("Casper", "WY", name="Casper Food Bank", updated=at(week(1)))
    page = client.get("/dashboard/").text
    assert WAITS not in page
    assert "$20.00 held since Nov 11" in page

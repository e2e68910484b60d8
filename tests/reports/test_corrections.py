"""Corrections reach the donor: a report whose money changes after it was emailed is
revised, keeps what the donor was told, and brings one "corrected" email naming what
changed; a report whose figures did not change is never sent again."""

import datetime as dt

import pytest
from django.core import mail

from portfolio.services import distribute_funds
from reports.models import Report
from reports.services import generate_reports, send_report_emails
from tests.portfolio.scenario import NOW, WEEK, at, charity, paid

pytestmark = pytest.mark.django_db


@pytest.fixture
def emailed(alice, django_capture_on_commit_callbacks):
    """Alice's $10.00 of WEEK given, reported and emailed."""
    food = charity(name="Food Shelf")
    paid(alice, 1000)
    distribute_funds(WEEK, now=NOW)
    generate_reports(WEEK)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_report_emails(WEEK) == 1
    mail.outbox.clear()
    return food


def _late_second_gift(alice, cents=500):
    """Another subscription of Alice's, paid inside the week but recorded after its run:
    a rerun of the week gives it with the rest."""
    paid(alice, cents, when=at(WEEK + dt.timedelta(days=6), 20))
    distribute_funds(WEEK, now=NOW + dt.timedelta(hours=2))


def test_a_changed_report_is_revised_and_the_donor_gets_one_correction(
    alice, emailed, django_capture_on_commit_callbacks
):
    first = Report.objects.get(user=alice)
    _late_second_gift(alice)
    generate_reports(WEEK)

    report = Report.objects.get(user=alice)
    assert (report.revision, report.total_distributed_cents) == (2, 1500)
    assert report.previous_total_cents == 1000
    assert report.revised_at is not None and report.generated_at > first.generated_at
    assert report.changes() == [
        {"charity_name": "Food Shelf", "before_cents": 1000, "now_cents": 1500}
    ]

    with django_capture_on_commit_callbacks(execute=True):
        assert send_report_emails(WEEK) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject.startswith("Corrected:")
    assert "Food Shelf: $10.00 before, now $15.00" in message.body
    assert "In all: $10.00 before, now $15.00." in message.body
    report.refresh_from_db()
    assert report.emailed_revision == 2

    with django_capture_on_commit_callbacks(execute=True):
        assert send_report_emails(WEEK) == 0  # told once
    generate_reports(WEEK)  # the same figures again
    with django_capture_on_commit_callbacks(execute=True):
        assert send_report_emails(WEEK) == 0
    assert Report.objects.get(user=alice).revision == 2
    assert len(mail.outbox) == 1


def test_an_unchanged_report_is_never_sent_again(
    alice, emailed, django_capture_on_commit_callbacks
):
    generate_reports(WEEK)
    generate_reports(WEEK)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_report_emails(WEEK) == 0
    assert mail.outbox == []
    report = Report.objects.get(user=alice)
    assert (report.revision, report.emailed_revision, report.revised_at) == (1, 1, None)


def test_a_report_changed_before_its_first_email_is_simply_sent_as_it_stands(
    alice, django_capture_on_commit_callbacks
):
    charity(name="Food Shelf")
    paid(alice, 1000)
    distribute_funds(WEEK, now=NOW)
    generate_reports(WEEK)
    _late_second_gift(alice)
    generate_reports(WEEK)
    report = Report.objects.get(user=alice)
    assert (report.revision, report.previous_breakdown) == (2, None)
    with django_capture_on_commit_callbacks(execute=True):
        send_report_emails(WEEK)
    assert len(mail.outbox) == 1
    assert not mail.outbox[0].subject.startswith("Corrected")
    assert "$15.00" in mail.outbox[0].body


def test_a_correction_that_fails_to_send_is_tried_again(
    alice, emailed, django_capture_on_commit_callbacks, monkeypatch
):
    _late_second_gift(alice)
    generate_reports(WEEK)
    monkeypatch.setattr(
        "django.core.mail.EmailMultiAlternatives.send",
        lambda self, *a, **k: (_ for _ in ()).throw(OSError("mail server down")),
    )
    with django_capture_on_commit_callbacks(execute=True):
        send_report_emails(WEEK)
    report = Report.objects.get(user=alice)
    assert report.emailed_revision == 1  # released: still owed the correction
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        assert send_report_emails(WEEK) == 1
    assert mail.outbox[0].subject.startswith("Corrected:")


def test_the_report_page_says_it_was_corrected(client, alice, emailed):
    _late_second_gift(alice)
    generate_reports(WEEK)
    client.force_login(alice)
    page = client.get(f"/reports/{Report.objects.get(user=alice).pk}/").text
    assert "Corrected on" in page
    assert "Before the correction this report said $10.00" in page

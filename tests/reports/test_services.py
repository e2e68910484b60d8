"""Weekly reports (reports.services) and their emails."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from distributions.models import Distribution
from reports import services
from reports.models import Report
from reports.selectors import get_latest_report, get_report, get_user_reports
from tests.factories import DistributionFactory, SubscriptionFactory
from tests.portfolio.scenario import WEEK, charity, donor

pytestmark = pytest.mark.django_db


def _give(user, charity_, amount, *, subscription=None, reason="Because.", week=WEEK):
    subscription = subscription or SubscriptionFactory(user=user)
    return DistributionFactory(subscription=subscription, charity=charity_, amount_cents=amount,
                               week_start=week, reason=reason)  # fmt: skip


def test_a_report_adds_up_the_donors_rows_per_charity_across_subscriptions():
    alice = donor(email="alice2@example.org")
    food, shelter = charity(name="Food Shelf"), charity(name="Shelter")
    first, second = SubscriptionFactory(user=alice), SubscriptionFactory(user=alice)
    _give(alice, food, 600, subscription=first, reason="First reason.")
    _give(alice, food, 300, subscription=second, reason="Second reason.")
    _give(alice, shelter, 400, subscription=first, reason="Shelter reason.")
    _give(donor(), food, 999)  # someone else's money is not in alice's report
    _give(alice, food, 50, subscription=first, week=WEEK - dt.timedelta(days=7))

    report = services.generate_report(alice, WEEK)

    assert report.total_distributed_cents == 1300
    assert report.charities_supported == 2
    assert report.distribution_breakdown == [
        {"charity_id": food.pk, "charity_name": "Food Shelf", "amount_cents": 900,
         "reason": "First reason. Second reason."},
        {"charity_id": shelter.pk, "charity_name": "Shelter", "amount_cents": 400,
         "reason": "Shelter reason."},
    ]  # fmt: skip


def test_generating_a_report_twice_keeps_one_report_with_the_same_figures():
    alice = donor()
    _give(alice, charity(), 700)

    first = services.generate_report(alice, WEEK)
    second = services.generate_report(alice.pk, WEEK)

    assert Report.objects.count() == 1
    assert second.pk == first.pk
    assert second.total_distributed_cents == 700


def test_a_donor_with_nothing_given_that_week_gets_no_report():
    assert services.generate_report(donor(), WEEK) is None
    assert Report.objects.count() == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"user": "nobody", "week_start": WEEK}, "user"),
        ({"user": None, "week_start": WEEK}, "user"),
        ({"week_start": WEEK + dt.timedelta(days=1)}, "week_start"),
        ({"week_start": "2026-11-09"}, "week_start"),
    ],
)
def test_bad_arguments_are_refused_naming_the_field(kwargs, field):
    alice = donor()
    _give(alice, charity(), 700)
    kwargs.setdefault("user", alice)

    with pytest.raises(ValidationError) as err:
        services.generate_report(**kwargs)

    assert field in err.value.message_dict
    assert Report.objects.count() == 0


def test_the_week_run_writes_one_report_per_donor_with_rows_and_the_selectors_find_them():
    food = charity()
    donors = [donor() for _ in range(3)]
    for i, user in enumerate(donors):
        _give(user, food, 100 * (i + 1))
    idle = donor()

    assert services.generate_reports(WEEK) == 3
    assert services.generate_reports(WEEK) == 3  # rewritten, not duplicated

    assert Report.objects.count() == 3
    assert not get_user_reports(idle).exists()
    report = get_latest_report(donors[2])
    assert report.total_distributed_cents == 300
    assert get_report(donors[2], report.pk) == report
    assert get_report(donors[0], report.pk) is None


def test_a_report_follows_rows_added_by_a_later_pass_of_the_week():
    alice = donor()
    food = charity()
    _give(alice, food, 100)
    services.generate_reports(WEEK)
    _give(alice, charity(), 200)

    services.generate_reports(WEEK)

    assert Report.objects.get().total_distributed_cents == 300


class TestEmails:
    def test_each_donor_who_wants_it_gets_an_html_and_text_email_once(
        self, django_capture_on_commit_callbacks
    ):
        food = charity(name="Food Shelf")
        wants = donor(email="wants@example.org")
        opted_out = donor(email="no@example.org", wants_report_emails=False)
        _give(wants, food, 1234, reason="Food Shelf got $12.34, all of your $12.34.")
        _give(opted_out, food, 500)
        services.generate_reports(WEEK)

        with django_capture_on_commit_callbacks(execute=True):
            assert services.send_report_emails(WEEK) == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert services.send_report_emails(WEEK) == 0

        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == ["wants@example.org"]
        assert "November 9, 2026" in message.subject
        assert "$12.34" in message.body
        assert "Food Shelf got $12.34, all of your $12.34." in message.body
        html, mimetype = message.alternatives[0]
        assert mimetype == "text/html"
        assert "<strong>Food Shelf</strong>" in html
        report = Report.objects.get(user=wants)
        assert report.emailed_at is not None
        assert f"/reports/{report.pk}/" in message.body
        assert Report.objects.get(user=opted_out).emailed_at is None

    def test_no_email_leaves_before_the_claim_commits(self, django_capture_on_commit_callbacks):
        _give(donor(), charity(), 100)
        services.generate_reports(WEEK)

        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.send_report_emails(WEEK)

        assert len(callbacks) == 1
        assert mail.outbox == []

    def test_a_mail_that_fails_is_released_for_a_later_retry(
        self, django_capture_on_commit_callbacks, monkeypatch
    ):
        _give(donor(), charity(), 100)
        services.generate_reports(WEEK)

        def broken_send(self, fail_silently=False):
            raise OSError("SMTP down")

        monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", broken_send)
        with django_capture_on_commit_callbacks(execute=True):
            services.send_report_emails(WEEK)
        assert Report.objects.get().emailed_at is None

        monkeypatch.undo()
        with django_capture_on_commit_callbacks(execute=True):
            assert services.send_report_emails(WEEK) == 1
        assert len(mail.outbox) == 1


def test_reports_by_city_sums_up_the_week():
    food = charity()
    _give(donor(), food, 100)
    _give(donor(), food, 200)
    services.generate_reports(WEEK)

    assert services.reports_by_city(WEEK) == [("Springfield, VT", 2, 300, 0)]
    assert Distribution.objects.count() == 2

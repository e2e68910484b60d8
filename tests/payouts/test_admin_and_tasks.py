"""Manual payouts in the admin, the monthly task and its beat entry."""

import datetime as dt

import pytest
from django.urls import reverse

from payouts import services, tasks
from payouts.models import Payout, PayoutSlice
from tests.payouts.conftest import NOW, OCT_WEEKS, PERIOD, ledger
from tests.payouts.test_run_payouts import ready_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def manual_payout(charity):
    ledger(charity, OCT_WEEKS[0], [2500])
    services.run_payouts(PERIOD, now=NOW)
    payout = Payout.objects.get()
    assert (payout.method, payout.status) == ("manual", "pending")
    return payout


def record(client, payout, **data):
    return client.post(reverse("admin:payouts_payout_record", args=[payout.pk]), data)


class TestManualPayments:
    def test_the_list_shows_amounts_in_dollars(self, manual_payout, treasurer_client):
        response = treasurer_client.get(reverse("admin:payouts_payout_changelist"))
        text = response.content.decode()
        assert "$25.00" in text and "Record payment" in text and "2026-10" in text

    def test_sent_then_paid(self, manual_payout, treasurer_client, treasurer):
        response = record(treasurer_client, manual_payout, status="sent", reference="CHQ 1042")
        assert response.status_code == 302
        manual_payout.refresh_from_db()
        assert (manual_payout.status, manual_payout.manual_reference) == ("sent", "CHQ 1042")
        assert manual_payout.sent_at and manual_payout.settled_at is None
        assert manual_payout.recorded_by == treasurer

        record(treasurer_client, manual_payout, status="paid")
        manual_payout.refresh_from_db()
        assert manual_payout.status == "paid" and manual_payout.settled_at
        assert manual_payout.manual_reference == "CHQ 1042"
        assert PayoutSlice.objects.get().live

    def test_a_reference_is_required_and_nothing_is_written_without_one(
        self, manual_payout, treasurer_client
    ):
        response = record(treasurer_client, manual_payout, status="paid", reference="  ")
        assert response.status_code == 200
        assert "Give the cheque number or bank reference." in response.content.decode()
        manual_payout.refresh_from_db()
        assert manual_payout.status == "pending" and manual_payout.manual_reference == ""

    def test_a_status_not_allowed_from_here_is_a_form_error(self, manual_payout, treasurer_client):
        response = record(treasurer_client, manual_payout, status="reversed", reference="X")
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()
        manual_payout.refresh_from_db()
        assert manual_payout.status == "pending"

    def test_failed_needs_a_reason_and_puts_the_rows_back_to_owed(
        self, manual_payout, treasurer_client, charity
    ):
        record(treasurer_client, manual_payout, status="sent", reference="CHQ 7")
        response = record(treasurer_client, manual_payout, status="failed", reason="")
        assert "Say why the payment failed." in response.content.decode()
        assert PayoutSlice.objects.get().live

        record(treasurer_client, manual_payout, status="failed", reason="Cheque bounced.")
        manual_payout.refresh_from_db()
        assert manual_payout.status == "failed"
        assert manual_payout.failure_reason == "Cheque bounced."
        assert not PayoutSlice.objects.get().live
        services.run_payouts(PERIOD, now=NOW)
        assert Payout.objects.filter(status="pending").get().amount_cents == 2500

    def test_a_paid_payout_cannot_be_recorded_again(self, manual_payout, treasurer_client):
        record(treasurer_client, manual_payout, status="paid", reference="BANK-1")
        response = treasurer_client.get(
            reverse("admin:payouts_payout_record", args=[manual_payout.pk]), follow=True
        )
        assert "nothing to record by hand" in response.content.decode()

    def test_staff_without_the_permission_are_refused(self, manual_payout, dave):
        from django.test import Client

        client = Client()
        client.force_login(dave)
        assert record(client, manual_payout, status="paid", reference="X").status_code == 403
        manual_payout.refresh_from_db()
        assert manual_payout.status == "pending"


class TestMonthlyTask:
    def test_the_beat_entry_is_installed_monthly(self, settings):
        from django_celery_beat.models import PeriodicTask

        entry = PeriodicTask.objects.select_related("crontab").get(name="Monthly payouts")
        assert entry.task == "payouts.tasks.monthly_payouts"
        cron = entry.crontab
        assert (cron.minute, cron.hour, cron.day_of_month, cron.day_of_week) == (
            "0", "7", "3", "*",
        )  # fmt: skip
        assert str(cron.timezone) == settings.TIME_ZONE

    def test_the_task_fixes_the_previous_month_then_pays_it(self, charity, monkeypatch):
        ledger(charity, OCT_WEEKS[0], [2500])
        monkeypatch.setattr("payouts.tasks.timezone.now", lambda: NOW)
        # In-process (no broker): the re-enqueued call with the period runs at once.
        assert tasks.monthly_payouts() == {"period": "2026-10", "scheduled": True}
        assert Payout.objects.get().period == PERIOD
        again = tasks.monthly_payouts("2026-10")
        assert again["payouts_created"] == 0


@pytest.fixture
def held_payout(fake, charity):
    """A Stripe payout whose transfer answer did not match: held for staff review."""
    ready_account(fake, charity)
    ledger(charity, OCT_WEEKS[0], [3000])
    fake.answer_with(amount=1)
    services.run_payouts(PERIOD, now=NOW)
    payout = Payout.objects.get()
    assert services.is_held_for_review(payout)
    return payout


class TestHeldForReview:
    def test_the_list_offers_to_resolve_it(self, held_payout, treasurer_client):
        text = treasurer_client.get(reverse("admin:payouts_payout_changelist")).content.decode()
        assert "Resolve review" in text

    def test_failed_puts_the_rows_back_and_the_next_run_pays_them_anew(
        self, held_payout, treasurer_client, treasurer, fake
    ):
        response = record(treasurer_client, held_payout, status="failed",
                          reason="Stripe shows no transfer to this account")  # fmt: skip
        assert response.status_code == 302
        held_payout.refresh_from_db()
        assert held_payout.status == "failed" and held_payout.recorded_by == treasurer
        assert "Staff marked it failed: Stripe shows no transfer" in held_payout.failure_reason
        assert not PayoutSlice.objects.filter(live=True).exists()
        fake.answer_with()  # Stripe answers truthfully again
        services.run_payouts(PERIOD, now=NOW + dt.timedelta(hours=1))
        again = Payout.objects.exclude(pk=held_payout.pk).get()
        assert (again.status, again.amount_cents) == ("paid", 3000)

    def test_paid_records_the_transfer_staff_name(self, held_payout, treasurer_client):
        response = record(treasurer_client, held_payout, status="paid", reference="tr_test_42")
        assert response.status_code == 302
        held_payout.refresh_from_db()
        assert (held_payout.status, held_payout.stripe_transfer_id) == ("paid", "tr_test_42")
        assert held_payout.settled_at and PayoutSlice.objects.get().live

    @pytest.mark.parametrize(
        "data, error",
        [({"status": "paid", "reference": "cheque 12"}, "Give the Stripe transfer id"),
         ({"status": "failed", "reason": " "}, "Say what Stripe shows happened."),
         ({"status": "sent", "reference": "tr_x"}, "Select a valid choice")],
    )  # fmt: skip
    def test_bad_input_is_a_form_error_and_writes_nothing(
        self, held_payout, treasurer_client, data, error
    ):
        before = held_payout.failure_reason
        response = record(treasurer_client, held_payout, **data)
        assert response.status_code == 200 and error in response.content.decode()
        held_payout.refresh_from_db()
        assert held_payout.status == "pending" and held_payout.failure_reason == before
        assert PayoutSlice.objects.get().live

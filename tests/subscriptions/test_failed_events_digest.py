"""The daily digest of failed Stripe events to ADMINS: one mail listing each failed event
once, nothing when none failed (Django's locmem outbox stands in for the mail server)."""

import datetime as dt
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from config.schedules import SCHEDULES
from subscriptions.models import StripeEvent
from subscriptions.tasks import failed_events_digest
from tests.factories import SubscriptionFactory
from tests.subscriptions.fake_stripe import invoice_object
from tests.subscriptions.helpers import make_event, post_event

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture(autouse=True)
def admins(settings):
    settings.ADMINS = [("Ops", "ops@example.org")]
    return settings


def stored(event_id, status, error="", **fields):
    return StripeEvent.objects.create(
        stripe_event_id=event_id,
        type="invoice.paid",
        created=NOW - dt.timedelta(hours=2),
        payload={"id": event_id},
        status=status,
        error=error,
        attempts=1,
        **fields,
    )


def test_no_mail_when_nothing_failed():
    stored("evt_ok", "processed")
    stored("evt_ignored", "ignored")
    assert failed_events_digest() == {"listed": 0}
    assert mail.outbox == []


def test_one_mail_lists_every_failed_event_with_its_reason():
    stored("evt_future", "failed", "invoice in_1 was paid at 2242-03-01, more than a day ahead")
    stored("evt_customer", "failed", "invoice in_2 is billed to customer cus_mallory")
    stored("evt_ok", "processed")
    assert failed_events_digest() == {"listed": 2}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ops@example.org"]
    assert "2 failed Stripe events" in message.subject
    assert "evt_future" in message.body and "2242-03-01" in message.body
    assert "evt_customer" in message.body and "cus_mallory" in message.body
    assert "evt_ok" not in message.body
    assert "/admin/subscriptions/stripeevent/?status__exact=failed" in message.body


def test_each_event_is_listed_once():
    stored("evt_first", "failed", "boom")
    failed_events_digest()
    stored("evt_second", "failed", "bang")
    assert failed_events_digest() == {"listed": 1}
    assert len(mail.outbox) == 2
    assert "evt_second" in mail.outbox[1].body and "evt_first" not in mail.outbox[1].body
    assert failed_events_digest() == {"listed": 0}  # a rerun the same day
    assert len(mail.outbox) == 2


def test_an_event_reprocessed_before_the_digest_is_not_listed():
    stored("evt_fixed", "processed", "")  # failed, then Reprocess succeeded
    stored("evt_still", "failed", "still broken")
    failed_events_digest()
    assert "evt_fixed" not in mail.outbox[0].body


def test_without_admins_nothing_is_sent_and_the_events_wait(settings):
    settings.ADMINS = []
    stored("evt_waits", "failed", "boom")
    assert failed_events_digest() == {"listed": 0}
    assert mail.outbox == []
    assert StripeEvent.objects.get().digested_at is None


def test_a_mail_that_cannot_be_sent_marks_nothing(monkeypatch):
    stored("evt_retry", "failed", "boom")

    def down(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("subscriptions.digest.mail_admins", down)
    with pytest.raises(ConnectionRefusedError):
        failed_events_digest()
    monkeypatch.undo()
    assert failed_events_digest() == {"listed": 1}


def test_the_command_says_what_it_did():
    out = StringIO()
    call_command("mail_failed_events", stdout=out)
    assert "No mail sent" in out.getvalue()
    stored("evt_cmd", "failed", "boom")
    call_command("mail_failed_events", stdout=out)
    assert "digest of 1 failed Stripe event." in out.getvalue()


def test_beat_runs_the_digest_daily():
    entry = next(e for e in SCHEDULES if e.task == "subscriptions.tasks.failed_events_digest")
    assert (entry.day_of_week, entry.day_of_month) == ("*", "*")
    assert entry.hour.isdigit() and entry.minute.isdigit()


def test_a_webhook_failure_reaches_the_digest(client, alice, stripe_keys):
    SubscriptionFactory(
        user=alice, stripe_subscription_id="sub_test_alice", stripe_customer_id="cus_test_alice"
    )
    invoice = invoice_object(subscription="sub_test_alice", customer="cus_test_mallory",
                             paid_at=int(NOW.timestamp()) - 60)  # fmt: skip
    event = make_event("invoice.paid", invoice)
    assert post_event(client, event).json()["result"] == "invalid"
    failed_events_digest()
    assert event["id"] in mail.outbox[0].body and "cus_test_mallory" in mail.outbox[0].body

"""Skip a week and pause until a date: through Stripe (pause_collection with resumes_at,
an idempotency key, Stripe's answer recorded; Stripe's own resume arriving as a webhook)
and in demo billing (the weekly run skips the weeks paused through, then resumes)."""

import datetime as dt
import re
import time

import pytest
from django.core import mail

from core.weeks import local_zone, week_start_for
from subscriptions import services
from subscriptions.links import make_token, read_token
from subscriptions.models import Contribution, StripeEvent, Subscription
from subscriptions.selectors import (
    get_demo_charges_due,
    get_schedule,
    next_stripe_charge_at,
)
from subscriptions.services import bill_demo_week, pause_subscription_until
from subscriptions.sync import sync_stripe
from tests.factories import SubscriptionFactory
from tests.subscriptions.fake_stripe import invoice_object, subscription_object
from tests.subscriptions.helpers import make_event, post_event

pytestmark = pytest.mark.django_db

NOW = int(time.time())
DAY = 86400
LINK = re.compile(r"http://testserver(/manage/[^/\s]+/)")


def midnight(day: dt.date) -> int:
    """The Unix time of the local midnight that starts `day` (TIME_ZONE)."""
    return int(dt.datetime.combine(day, dt.time.min, tzinfo=local_zone()).timestamp())


def local_date(ts: int) -> dt.date:
    return dt.datetime.fromtimestamp(ts, tz=local_zone()).date()


def today() -> dt.date:
    return local_date(int(time.time()))


# --- with Stripe ----------------------------------------------------------------------

PERIOD_END = NOW + 3 * DAY + 5 * 3600  # Stripe bills next in three days and a bit


@pytest.fixture
def remote(alice, fake_stripe):
    return fake_stripe.add_subscription(
        id="sub_test_alice",
        customer="cus_test_alice",
        amount_cents=1000,
        user_id=alice.pk,
        current_period_end=PERIOD_END,
    )


@pytest.fixture
def stripe_sub(alice, remote):
    return SubscriptionFactory(
        user=alice,
        stripe_subscription_id="sub_test_alice",
        stripe_customer_id="cus_test_alice",
        current_period_end=dt.datetime.fromtimestamp(PERIOD_END, tz=dt.UTC),
    )


def the_update(fake_stripe):
    (call,) = fake_stripe.calls("POST", "/v1/subscriptions/sub_test_alice")
    return call


def test_skip_reads_stripe_then_pauses_until_the_day_after_the_next_payment(
    client, stripe_sub, fake_stripe
):
    response = client.post(f"/manage/{make_token(stripe_sub)}/skip/")
    assert response.status_code == 302
    # Stripe is asked when it bills next, then told to void that payment.
    assert fake_stripe.calls("GET", "/v1/subscriptions/sub_test_alice")
    call = the_update(fake_stripe)
    resume_day = local_date(PERIOD_END) + dt.timedelta(days=1)
    assert call.params == {
        "pause_collection": {"behavior": "void", "resumes_at": str(midnight(resume_day))}
    }
    assert call.idempotency_key and call.idempotency_key.startswith("hometown-skip-")
    # The local row says what Stripe answered.
    sub = Subscription.objects.get(pk=stripe_sub.pk)
    assert (sub.status, sub.stripe_status, sub.paused_until) == ("paused", "active", resume_day)
    # The payment voided is the next one; the one after is charged.
    assert midnight(resume_day) > PERIOD_END > NOW
    assert midnight(resume_day) < PERIOD_END + 7 * DAY


def test_skip_uses_stripes_billing_date_not_the_one_last_recorded(client, alice, remote):
    stale = SubscriptionFactory(
        user=alice, stripe_subscription_id="sub_test_alice", stripe_customer_id="cus_test_alice"
    )
    page = client.get(f"/manage/{make_token(stale)}/").content.decode()
    assert "Skip next week" in page  # offered before the period end is known here
    client.post(f"/manage/{make_token(stale)}/skip/")
    sub = Subscription.objects.get(pk=stale.pk)
    assert sub.paused_until == local_date(PERIOD_END) + dt.timedelta(days=1)
    assert sub.current_period_end == dt.datetime.fromtimestamp(PERIOD_END, tz=dt.UTC)


def test_pause_until_sends_resumes_at_the_local_midnight_of_the_date(
    alice_client, stripe_sub, fake_stripe
):
    until = today() + dt.timedelta(days=30)
    response = alice_client.post(
        f"/subscriptions/{stripe_sub.pk}/pause-until/", {"until": until.isoformat()}
    )
    assert response["Location"] == "/dashboard/"
    call = the_update(fake_stripe)
    assert call.params["pause_collection"] == {
        "behavior": "void",
        "resumes_at": str(midnight(until)),
    }
    assert call.idempotency_key.startswith("hometown-pause_until-")
    assert fake_stripe.subscriptions["sub_test_alice"]["pause_collection"]["resumes_at"] == (
        midnight(until)
    )
    sub = Subscription.objects.get(pk=stripe_sub.pk)
    assert (sub.status, sub.paused_until) == ("paused", until)
    # The next payment shown is the first Stripe makes from that day on.
    schedule = get_schedule(sub, now=dt.datetime.now(dt.UTC))
    first = PERIOD_END + ((midnight(until) - PERIOD_END) // (7 * DAY) + 1) * 7 * DAY
    assert schedule.next_charge == local_date(first)


def test_pausing_for_good_drops_the_date_and_resume_unsets_the_pause(
    client, stripe_sub, fake_stripe
):
    token = make_token(stripe_sub)
    until = today() + dt.timedelta(days=30)
    client.post(f"/manage/{token}/pause-until/", {"until": until.isoformat()})
    client.post(f"/manage/{token}/pause/")
    assert fake_stripe.subscriptions["sub_test_alice"]["pause_collection"] == {"behavior": "void"}
    sub = Subscription.objects.get(pk=stripe_sub.pk)
    assert (sub.status, sub.paused_until) == ("paused", None)
    client.post(f"/manage/{token}/resume/")
    assert fake_stripe.calls("POST")[-1].params == {"pause_collection": ""}
    sub.refresh_from_db()
    assert (sub.status, sub.paused_until) == ("active", None)


def test_when_stripe_refuses_nothing_changes_here(
    client, stripe_sub, fake_stripe, django_capture_on_commit_callbacks
):
    fake_stripe.fail_next(
        "POST", "/v1/subscriptions/sub_test_alice", status=400, message="No.", error_type="x"
    )
    until = today() + dt.timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/manage/{make_token(stripe_sub)}/pause-until/", {"until": until.isoformat()}
        )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Stripe could not pause the subscription" in page
    sub = Subscription.objects.get(pk=stripe_sub.pk)
    assert (sub.status, sub.paused_until) == ("active", None)
    assert mail.outbox == []


def test_a_gift_stripe_paused_itself_cannot_be_paused_until_a_date_here(client, alice, remote):
    sub = SubscriptionFactory(
        user=alice,
        stripe_subscription_id="sub_test_alice",
        status="paused",
        stripe_status="paused",
    )
    until = today() + dt.timedelta(days=30)
    response = client.post(f"/manage/{make_token(sub)}/pause-until/", {"until": until.isoformat()})
    assert "use Manage billing" in client.get(response["Location"]).content.decode()
    assert Subscription.objects.get(pk=sub.pk).paused_until is None


# --- Stripe's side: webhooks and sync ----------------------------------------------------


def sub_event(type_, created, alice, **kwargs):
    obj = subscription_object(id="sub_test_w", user_id=alice.pk, **kwargs)
    return make_event(type_, obj, created=created)


def test_the_webhook_records_resumes_at_and_stripes_own_resume(client, alice, stripe_keys):
    until = today() + dt.timedelta(days=10)
    paused = {"behavior": "void", "resumes_at": midnight(until)}
    post_event(client, sub_event("customer.subscription.created", NOW - 30, alice))
    post_event(
        client,
        sub_event("customer.subscription.updated", NOW - 20, alice, pause_collection=paused),
    )
    sub = Subscription.objects.get()
    assert (sub.status, sub.paused_until) == ("paused", until)
    # At resumes_at Stripe removes the pause by itself and says so.
    post_event(client, sub_event("customer.subscription.updated", NOW - 10, alice))
    sub.refresh_from_db()
    assert (sub.status, sub.paused_until) == ("active", None)
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_a_canceled_subscription_keeps_no_pause_date(client, alice, stripe_keys):
    paused = {"behavior": "void", "resumes_at": midnight(today() + dt.timedelta(days=10))}
    post_event(
        client,
        sub_event(
            "customer.subscription.deleted",
            NOW,
            alice,
            status="canceled",
            pause_collection=paused,
        ),
    )
    sub = Subscription.objects.get()
    assert (sub.status, sub.paused_until) == ("cancelled", None)


@pytest.mark.parametrize("resumes_at", ["soon", -5, True, 2**40])
def test_an_impossible_resumes_at_fails_the_event_and_changes_nothing(
    client, alice, stripe_keys, resumes_at
):
    post_event(client, sub_event("customer.subscription.created", NOW - 30, alice))
    response = post_event(
        client,
        sub_event(
            "customer.subscription.updated",
            NOW,
            alice,
            pause_collection={"behavior": "void", "resumes_at": resumes_at},
        ),
    )
    assert response.status_code == 200
    failed = StripeEvent.objects.get(type="customer.subscription.updated")
    assert failed.status == "failed" and "resumes_at" in failed.error
    sub = Subscription.objects.get()
    assert (sub.status, sub.paused_until) == ("active", None)


def test_sync_records_a_pause_date_the_webhook_missed(alice, fake_stripe):
    until = today() + dt.timedelta(days=10)
    fake_stripe.add_subscription(
        id="sub_test_sync",
        user_id=alice.pk,
        pause_collection={"behavior": "void", "resumes_at": midnight(until)},
    )
    SubscriptionFactory(
        user=alice, stripe_subscription_id="sub_test_sync", stripe_customer_id="cus_test_alice"
    )
    lines = []
    sync_stripe(dry_run=False, say=lines.append)
    assert any("paused_until None ->" in line for line in lines), lines
    sub = Subscription.objects.get()
    assert (sub.status, sub.paused_until) == ("paused", until)


# --- emails with Stripe ------------------------------------------------------------------


def test_checkout_sends_the_receipt_with_a_working_link(
    client, alice, fake_stripe, django_capture_on_commit_callbacks
):
    fake_stripe.add_subscription(id="sub_test_new", amount_cents=1500, user_id=alice.pk)
    session = {
        "id": "cs_test_1",
        "mode": "subscription",
        "client_reference_id": str(alice.pk),
        "customer": "cus_test_alice",
        "subscription": "sub_test_new",
    }
    event = make_event("checkout.session.completed", session)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, event)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, event)  # a redelivery sends nothing more
    [email] = mail.outbox
    assert email.subject == "Your weekly gift of $15.00 has started"
    token = LINK.search(email.body).group(1).split("/")[2]
    assert read_token(token) == Subscription.objects.get()


def test_the_payment_failed_email_carries_the_gifts_link(
    client, alice, stripe_keys, django_capture_on_commit_callbacks
):
    sub = SubscriptionFactory(
        user=alice, stripe_subscription_id="sub_test_alice", stripe_customer_id="cus_test_alice"
    )
    invoice = invoice_object(subscription="sub_test_alice", status="open")
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, make_event("invoice.payment_failed", invoice))
    [email] = mail.outbox
    token = LINK.search(email.body).group(1).split("/")[2]
    assert read_token(token) == sub


# --- demo billing ---------------------------------------------------------------------

W = dt.date(2026, 11, 16)  # a Monday
NEXT = W + dt.timedelta(days=7)


@pytest.fixture
def demo_gift(alice):
    return SubscriptionFactory(
        user=alice,
        stripe_subscription_id="demo_gift",
        stripe_status="",
        start_date=W - dt.timedelta(days=14),
    )


def billed_weeks(sub) -> list[str]:
    return sorted(
        Contribution.objects.filter(subscription=sub).values_list("stripe_invoice_id", flat=True)
    )


def test_demo_billing_skips_the_week_paused_through_and_resumes_after(demo_gift):
    # Skipping on Tuesday of W: W's payment (made at W's Monday) is skipped.
    pause_subscription_until(demo_gift, until=NEXT, today=W + dt.timedelta(days=1))
    assert list(get_demo_charges_due(W)) == []
    assert bill_demo_week(W) == 0
    demo_gift.refresh_from_db()
    assert (demo_gift.status, demo_gift.paused_until) == ("active", None)
    assert bill_demo_week(NEXT) == 1
    assert billed_weeks(demo_gift) == [f"demo_{demo_gift.pk}_{NEXT}"]
    assert bill_demo_week(NEXT) == 0  # a rerun records nothing


def test_a_pause_ending_mid_week_skips_that_week_too(demo_gift):
    wednesday = NEXT + dt.timedelta(days=2)
    pause_subscription_until(demo_gift, until=wednesday, today=W + dt.timedelta(days=1))
    assert bill_demo_week(W) == 0
    demo_gift.refresh_from_db()
    assert demo_gift.status == "paused"  # not before the run after its end
    assert bill_demo_week(NEXT) == 0  # NEXT's Monday is before the Wednesday
    demo_gift.refresh_from_db()
    assert demo_gift.status == "active"
    assert bill_demo_week(NEXT + dt.timedelta(days=7)) == 1


def test_a_pause_that_ended_before_a_week_bills_it_even_if_no_run_resumed_it(demo_gift):
    Subscription.objects.filter(pk=demo_gift.pk).update(status="paused", paused_until=W)
    assert list(get_demo_charges_due(W)) == [demo_gift]
    assert list(get_demo_charges_due(W, city="Springfield", state="VT")) == [demo_gift]
    assert bill_demo_week(W, city="Springfield", state="VT") == 1
    demo_gift.refresh_from_db()
    assert (demo_gift.status, demo_gift.paused_until) == ("active", None)


def test_an_open_ended_pause_is_never_billed_or_resumed(demo_gift):
    services.pause_subscription(demo_gift)
    assert bill_demo_week(W) == 0
    demo_gift.refresh_from_db()
    assert demo_gift.status == "paused"


def test_demo_billing_never_resumes_a_stripe_gift(alice):
    stripe_gift = SubscriptionFactory(
        user=alice, stripe_subscription_id="sub_test_x", status="paused", paused_until=W
    )
    bill_demo_week(W)
    stripe_gift.refresh_from_db()
    assert (stripe_gift.status, stripe_gift.paused_until) == ("paused", W)


def test_a_pause_date_must_be_after_today_and_within_a_year(demo_gift):
    day = dt.date(2026, 11, 17)
    for bad in (day, day - dt.timedelta(days=1), day + dt.timedelta(days=366), "2026-12-01"):
        with pytest.raises(services.ValidationError):
            pause_subscription_until(demo_gift, until=bad, today=day)
    demo_gift.refresh_from_db()
    assert (demo_gift.status, demo_gift.paused_until) == ("active", None)


# --- the schedule -----------------------------------------------------------------------


def test_the_next_stripe_payment_steps_by_weeks():
    end = dt.datetime(2026, 12, 3, 15, 0, tzinfo=dt.UTC)
    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    assert next_stripe_charge_at(end, now=now, paused_until=None) == end
    later = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
    assert next_stripe_charge_at(end, now=later, paused_until=None) == end + dt.timedelta(days=7)
    # Paused until the day after the payment: that one is voided, the next is charged.
    assert next_stripe_charge_at(
        end, now=now, paused_until=dt.date(2026, 12, 4)
    ) == end + dt.timedelta(days=7)
    assert next_stripe_charge_at(
        end, now=now, paused_until=dt.date(2026, 12, 24)
    ) == end + dt.timedelta(days=21)


def test_a_demo_pause_that_has_ended_says_so_until_the_run_resumes_it(demo_gift):
    Subscription.objects.filter(pk=demo_gift.pk).update(status="paused", paused_until=W)
    sub = Subscription.objects.get(pk=demo_gift.pk)
    now = dt.datetime.combine(NEXT, dt.time(12), tzinfo=local_zone())
    schedule = get_schedule(sub, now=now)
    assert schedule.pause_over and schedule.skip_until is None
    assert schedule.next_charge == week_start_for(NEXT)
    assert schedule.text.startswith("The pause ended on Monday, November 16.")

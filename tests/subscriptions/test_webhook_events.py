"""What each Stripe event does to the platform's rows, exactly once."""

import datetime as dt
import time

import pytest
from django.core import mail

from subscriptions import webhooks
from subscriptions.models import Contribution, StripeEvent, Subscription
from tests.factories import SubscriptionFactory, UserFactory
from tests.subscriptions.fake_stripe import invoice_object, subscription_object
from tests.subscriptions.helpers import make_event, post_event

pytestmark = pytest.mark.django_db

NOW = int(time.time())


@pytest.fixture
def alice_sub(alice, stripe_keys):
    return SubscriptionFactory(
        user=alice,
        stripe_subscription_id="sub_test_alice",
        stripe_customer_id="cus_test_alice",
        amount_cents=1000,
        stripe_state_at=dt.datetime.fromtimestamp(NOW - 3600, tz=dt.UTC),
    )


def paid(sub_id="sub_test_alice", **kwargs):
    kwargs.setdefault("amount_paid", 1000)
    kwargs.setdefault("paid_at", NOW - 60)
    return make_event("invoice.paid", invoice_object(subscription=sub_id, **kwargs))


# --- invoice.paid ---------------------------------------------------------------------


def test_invoice_paid_records_the_amount_actually_paid(client, alice_sub):
    event = paid(amount_paid=1000, id="in_test_weekly")
    response = post_event(client, event)
    assert response.status_code == 200
    contribution = Contribution.objects.get()
    assert contribution.amount_cents == 1000
    assert contribution.stripe_invoice_id == "in_test_weekly"
    assert contribution.subscription == alice_sub
    assert contribution.paid_at == dt.datetime.fromtimestamp(NOW - 60, tz=dt.UTC)
    stored = StripeEvent.objects.get()
    assert (stored.status, stored.attempts, stored.error) == ("processed", 1, "")
    assert stored.processed_at is not None


def test_invoice_paid_reads_the_legacy_subscription_field(client, alice_sub):
    post_event(client, paid(legacy_subscription_field=True))
    assert Contribution.objects.get().subscription == alice_sub


def test_a_redelivered_event_has_no_second_effect(client, alice_sub):
    event = paid()
    assert post_event(client, event).status_code == 200
    second = post_event(client, event)
    assert second.status_code == 200
    assert second.json()["result"] == "duplicate"
    assert Contribution.objects.count() == 1
    assert StripeEvent.objects.get().attempts == 1


def test_two_events_about_one_invoice_record_it_once(client, alice_sub):
    post_event(client, paid(id="in_test_same"))
    post_event(client, paid(id="in_test_same"))
    assert Contribution.objects.count() == 1
    assert StripeEvent.objects.filter(status="processed").count() == 2


def test_invoice_paid_for_an_unknown_subscription_fetches_it_from_stripe(
    client, alice, fake_stripe, django_capture_on_commit_callbacks
):
    fake_stripe.add_subscription(
        id="sub_test_new", customer="cus_test_new", amount_cents=2500, user_id=alice.pk
    )
    invoice = fake_stripe.add_invoice(
        subscription="sub_test_new",
        customer="cus_test_new",
        amount_paid=2500,
        paid_at=NOW - 60,
        payment={"fee": 103},
    )
    with django_capture_on_commit_callbacks(execute=True):  # the fee read queued on commit
        response = post_event(client, make_event("invoice.paid", invoice))
    assert response.status_code == 200, response.content
    sub = Subscription.objects.get(stripe_subscription_id="sub_test_new")
    assert (sub.user, sub.amount_cents, sub.status, sub.stripe_customer_id) == (
        alice,
        2500,
        "active",
        "cus_test_new",
    )
    contribution = Contribution.objects.get()
    assert contribution.subscription == sub
    assert (contribution.fee_cents, contribution.net_cents) == (103, 2397)
    assert next(c.path for c in fake_stripe.calls("GET")) == "/v1/subscriptions/sub_test_new"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount_paid": 0}, "positive"),
        ({"amount_paid": -500}, "positive"),
        ({"amount_paid": "1000"}, "whole number"),
        ({"amount_paid": 10.5}, "whole number"),
        ({"amount_paid": None}, "whole number"),
        ({"currency": "eur"}, "currency"),
        ({"status_transitions": {}}, "paid_at"),
        ({"status_transitions": {"paid_at": "today"}}, "paid_at"),
        ({"status_transitions": None}, "status_transitions"),
        ({"id": None}, "invoice.id"),
        ({"id": 42}, "invoice.id"),
        ({"parent": None}, "not for a subscription"),
        ({"customer": None}, "invoice.customer"),
    ],
)
def test_impossible_invoice_data_is_recorded_as_failed_without_a_contribution(
    client, alice_sub, change, message
):
    event = paid()
    event["data"]["object"].update(change)
    response = post_event(client, event)
    assert response.status_code == 200  # never a 500: retrying signed data cannot help
    assert Contribution.objects.count() == 0
    stored = StripeEvent.objects.get()
    assert stored.status == "failed"
    assert message in stored.error
    assert response.json()["status"] == "failed"


def test_an_invoice_for_a_subscription_stripe_does_not_have_fails_cleanly(client, fake_stripe):
    response = post_event(client, paid("sub_test_ghost"))
    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert stored.status == "failed"
    assert "no subscription" in stored.error
    assert Subscription.objects.count() == 0


def test_an_unknown_customer_fails_cleanly(client, fake_stripe):
    # Stripe has the subscription, but it names no donor of this site.
    fake_stripe.add_subscription(id="sub_test_orphan", customer="cus_test_nobody")
    response = post_event(client, paid("sub_test_orphan"))
    assert response.status_code == 200
    assert "unknown customer" in StripeEvent.objects.get().error
    assert Subscription.objects.count() == 0 and Contribution.objects.count() == 0


# --- handler errors -------------------------------------------------------------------


def test_a_handler_error_rolls_back_answers_500_and_a_redelivery_reprocesses(
    client, alice, fake_stripe, monkeypatch
):
    fake_stripe.add_subscription(id="sub_test_new", user_id=alice.pk)

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("subscriptions.stripe_objects.record_contribution", broken)
    event = paid("sub_test_new")
    response = post_event(client, event)
    assert response.status_code == 500
    stored = StripeEvent.objects.get()
    assert (stored.status, stored.attempts) == ("failed", 1)
    assert "database went away" in stored.error
    # The subscription fetched on the way was rolled back with the rest.
    assert Subscription.objects.count() == 0 and Contribution.objects.count() == 0

    monkeypatch.undo()
    response = post_event(client, event)
    assert response.status_code == 200
    stored.refresh_from_db()
    assert (stored.status, stored.attempts, stored.error) == ("processed", 2, "")
    assert Contribution.objects.count() == 1


def test_stripe_being_unreachable_is_a_retryable_error(client, fake_stripe):
    fake_stripe.fail_next(
        "GET",
        "/v1/subscriptions/",
        status=400,
        message="Try later",
        error_type="invalid_request_error",
        code="lock_timeout",
    )
    response = post_event(client, paid("sub_test_new"))
    assert response.status_code == 500
    assert StripeEvent.objects.get().status == "failed"


def test_unknown_event_types_are_stored_and_answered_200(client, stripe_keys):
    event = make_event("customer.tax_id.created", {"id": "txi_1", "object": "tax_id"})
    response = post_event(client, event)
    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert (stored.type, stored.status) == ("customer.tax_id.created", "ignored")
    assert stored.payload == event


def test_every_handled_type_is_in_the_one_table():
    # Beside subscriptions' own types, payouts registers Connect's (payouts.apps).
    assert set(webhooks.HANDLERS) - {"account.updated", "transfer.reversed"} == {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
        "invoice.paid",
        "invoice.payment_failed",
    }


# --- checkout and subscription events -------------------------------------------------


def test_checkout_completed_attaches_the_new_subscription_to_the_donor(client, alice, fake_stripe):
    fake_stripe.add_subscription(
        id="sub_test_checkout", customer="cus_test_alice", amount_cents=1250, user_id=alice.pk
    )
    session = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "mode": "subscription",
        "client_reference_id": str(alice.pk),
        "metadata": {"user_id": str(alice.pk)},
        "customer": "cus_test_alice",
        "subscription": "sub_test_checkout",
    }
    response = post_event(client, make_event("checkout.session.completed", session))
    assert response.status_code == 200, response.content
    sub = Subscription.objects.get()
    assert (sub.user, sub.amount_cents, sub.status, sub.stripe_status) == (
        alice,
        1250,
        "active",
        "active",
    )


def test_checkout_completed_for_an_unknown_user_fails_cleanly(client, fake_stripe):
    fake_stripe.add_subscription(id="sub_test_checkout")
    session = {
        "id": "cs_test_1",
        "mode": "subscription",
        "client_reference_id": "999999",
        "subscription": "sub_test_checkout",
    }
    response = post_event(client, make_event("checkout.session.completed", session))
    assert response.status_code == 200
    assert "unknown customer" in StripeEvent.objects.get().error
    assert Subscription.objects.count() == 0


def test_checkout_completed_for_a_one_off_payment_changes_nothing(client, stripe_keys):
    session = {"id": "cs_test_1", "mode": "payment", "client_reference_id": "1"}
    response = post_event(client, make_event("checkout.session.completed", session))
    assert response.status_code == 200
    assert StripeEvent.objects.get().status == "processed"


def sub_event(type_, created, alice, **kwargs):
    kwargs.setdefault("id", "sub_test_order")
    obj = subscription_object(user_id=alice.pk, **kwargs)
    return make_event(type_, obj, created=created)


def test_an_update_arriving_before_its_create_ends_in_the_newer_state(client, alice, stripe_keys):
    created = sub_event("customer.subscription.created", NOW - 10, alice, status="incomplete")
    updated = sub_event(
        "customer.subscription.updated", NOW - 5, alice, status="active", amount_cents=2000
    )
    post_event(client, updated)
    post_event(client, created)
    sub = Subscription.objects.get()
    assert (sub.status, sub.stripe_status, sub.amount_cents) == ("active", "active", 2000)
    assert sub.stripe_state_at == dt.datetime.fromtimestamp(NOW - 5, tz=dt.UTC)
    assert StripeEvent.objects.filter(status="processed").count() == 2


def test_a_create_in_the_same_second_as_an_update_loses(client, alice, stripe_keys):
    post_event(client, sub_event("customer.subscription.updated", NOW, alice, status="active"))
    post_event(client, sub_event("customer.subscription.created", NOW, alice, status="incomplete"))
    assert Subscription.objects.get().stripe_status == "active"


def test_an_older_update_never_overwrites_a_newer_one(client, alice, stripe_keys):
    post_event(client, sub_event("customer.subscription.updated", NOW, alice, amount_cents=3000))
    post_event(
        client, sub_event("customer.subscription.updated", NOW - 60, alice, amount_cents=1000)
    )
    assert Subscription.objects.get().amount_cents == 3000


def test_deleted_cancels_and_a_canceled_subscription_stays_canceled(client, alice, stripe_keys):
    post_event(client, sub_event("customer.subscription.created", NOW - 20, alice))
    post_event(
        client, sub_event("customer.subscription.deleted", NOW - 10, alice, status="canceled")
    )
    sub = Subscription.objects.get()
    assert (sub.status, sub.stripe_status) == ("cancelled", "canceled")
    assert sub.cancelled_at is not None
    post_event(client, sub_event("customer.subscription.updated", NOW, alice, status="active"))
    sub.refresh_from_db()
    assert sub.status == "cancelled"


def test_pause_collection_pauses_and_resumed_activates(client, alice, stripe_keys):
    post_event(client, sub_event("customer.subscription.created", NOW - 20, alice))
    post_event(
        client,
        sub_event(
            "customer.subscription.paused", NOW - 10, alice, pause_collection={"behavior": "void"}
        ),
    )
    sub = Subscription.objects.get()
    assert (sub.status, sub.stripe_status) == ("paused", "active")
    post_event(client, sub_event("customer.subscription.resumed", NOW, alice))
    sub.refresh_from_db()
    assert sub.status == "active"


def test_a_subscription_event_with_an_impossible_amount_fails_cleanly(client, alice, stripe_keys):
    response = post_event(
        client, sub_event("customer.subscription.created", NOW, alice, amount_cents=0)
    )
    assert response.status_code == 200
    assert "outside" in StripeEvent.objects.get().error
    assert Subscription.objects.count() == 0


def test_a_subscription_event_naming_no_donor_fails_cleanly(client, stripe_keys):
    obj = subscription_object(id="sub_test_x", customer="cus_test_stranger")
    response = post_event(client, make_event("customer.subscription.created", obj))
    assert response.status_code == 200
    assert "unknown customer" in StripeEvent.objects.get().error


def test_a_subscription_is_matched_by_its_customer_when_metadata_is_missing(
    client, alice_sub, stripe_keys
):
    obj = subscription_object(id="sub_test_second", customer="cus_test_alice")
    post_event(client, make_event("customer.subscription.created", obj))
    assert (
        Subscription.objects.get(stripe_subscription_id="sub_test_second").user == alice_sub.user
    )


# --- invoice.payment_failed -----------------------------------------------------------


def test_payment_failed_emails_the_donor_once_and_contributes_nothing(
    client, alice_sub, django_capture_on_commit_callbacks
):
    invoice = invoice_object(subscription="sub_test_alice", status="open", amount_paid=1000)
    invoice["last_finalization_error"] = {"message": "Your card has insufficient funds."}
    invoice["next_payment_attempt"] = NOW + 3 * 86400
    event = make_event("invoice.payment_failed", invoice)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(client, event).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(client, event).status_code == 200
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.org"]
    assert "$10.00" in message.subject
    assert "insufficient funds" in message.body
    assert "http://testserver/billing/portal/" in message.body
    assert Contribution.objects.count() == 0


def test_payment_failed_for_another_donor_goes_to_that_donor(
    client, stripe_keys, django_capture_on_commit_callbacks
):
    bob = UserFactory(email="bob2@example.org")
    SubscriptionFactory(user=bob, stripe_subscription_id="sub_test_bob")
    event = make_event(
        "invoice.payment_failed", invoice_object(subscription="sub_test_bob", status="open")
    )
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, event)
    assert mail.outbox[0].to == ["bob2@example.org"]
    assert "could not be used" in mail.outbox[0].body  # the generic reason


# --- staff reprocess ------------------------------------------------------------------


def test_reprocess_reruns_a_failed_event_through_the_same_path(client, alice, fake_stripe):
    post_event(client, paid("sub_test_later"))
    event = StripeEvent.objects.get()
    assert event.status == "failed"
    fake_stripe.add_subscription(id="sub_test_later", user_id=alice.pk)
    outcome = webhooks.reprocess_event(event)
    assert outcome.result == "processed"
    assert Contribution.objects.count() == 1
    assert webhooks.reprocess_event(event).result == "duplicate"
    assert Contribution.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"status": 123},
        {"status": "frozen"},
        {"items": None},
        {"items": {"data": []}},
        {"items": {"data": "x"}},
        {"customer": None},
        {"id": ["sub"]},
        {"pause_collection": "yes"},
        {"metadata": "user 1"},
    ],
)
def test_a_subscription_event_with_wrong_types_fails_cleanly(client, alice, stripe_keys, change):
    event = sub_event("customer.subscription.created", NOW, alice)
    event["data"]["object"].update(change)
    response = post_event(client, event)
    assert response.status_code == 200
    assert StripeEvent.objects.get().status == "failed"
    assert Subscription.objects.count() == 0


@pytest.mark.postgres
def test_an_event_postgres_cannot_store_is_refused_with_400(client, stripe_keys):
    # jsonb cannot hold \u0000; the delivery is refused whole, never half-stored.
    event = make_event("customer.created", {"id": "cus_x", "name": "nul\u0000byte"})
    response = post_event(client, event)
    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0

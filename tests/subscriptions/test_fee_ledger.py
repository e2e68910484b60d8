"""The processing fee of every Stripe payment, read from Stripe's balance transaction
(never estimated): invoice.paid records the payment with its fee pending and the fee is
read after the commit (subscriptions.fee_reads, a task; in-process here, as without a
broker), and sync_stripe reads one that was not there yet. Bad fee data is refused: the
fee stays pending, the event is marked failed with the reason, nothing else is written."""

import datetime as dt
import time
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import TestCase

from subscriptions.fee_reads import read_pending_fees
from subscriptions.models import Contribution, StripeEvent
from subscriptions.services import record_contribution, record_fee
from tests.factories import ContributionFactory, SubscriptionFactory
from tests.subscriptions.fake_stripe import stripe_fee
from tests.subscriptions.helpers import make_event, post_event

pytestmark = pytest.mark.django_db

NOW = int(time.time())


@pytest.fixture
def alice_sub(alice, fake_stripe):
    fake_stripe.add_subscription(id="sub_test_alice", amount_cents=1000, user_id=alice.pk)
    return SubscriptionFactory(
        user=alice,
        stripe_subscription_id="sub_test_alice",
        stripe_customer_id="cus_test_alice",
        amount_cents=1000,
    )


def weekly_charge(sub, amount_cents):
    """The subscription's price: an invoice.paid must be for it (check_plausible)."""
    sub.amount_cents = amount_cents
    sub.save(update_fields=["amount_cents"])


def deliver(client, fake, *, amount=1000, invoice_id=None, **payment):
    invoice = fake.add_invoice(
        id=invoice_id,
        subscription="sub_test_alice",
        amount_paid=amount,
        paid_at=NOW - 60,
        payment=payment,
    )
    # The fee read queued on commit runs when the webhook's transaction commits.
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = post_event(client, make_event("invoice.paid", invoice))
    return invoice, response


def test_stripe_fee_is_the_published_us_card_price():
    assert [stripe_fee(a) for a in (100, 1000, 1035, 2500)] == [33, 59, 60, 103]


@pytest.mark.parametrize("kind", ["payment_intent", "charge"])
def test_invoice_paid_records_gross_fee_and_net_from_the_balance_transaction(
    client, alice_sub, fake_stripe, kind
):
    weekly_charge(alice_sub, 1035)
    _invoice, response = deliver(client, fake_stripe, amount=1035, kind=kind)
    assert response.status_code == 200, response.content
    row = Contribution.objects.get()
    bt = next(iter(fake_stripe.balance_transactions.values()))
    assert (row.amount_cents, row.fee_cents, row.net_cents) == (1035, bt["fee"], 1035 - bt["fee"])
    assert bt["fee"] == stripe_fee(1035)
    assert (row.fee_source, row.stripe_balance_transaction_id) == ("stripe", bt["id"])
    paths = [c.path for c in fake_stripe.calls("GET")]
    assert "/v1/invoice_payments" in paths
    if kind == "payment_intent":
        intent_call = fake_stripe.calls("GET", "/v1/payment_intents/")[0]
        assert intent_call.params["expand"] == ["latest_charge.balance_transaction"]
    else:
        assert fake_stripe.calls("GET", "/v1/charges/")[0].params["expand"] == [
            "balance_transaction"
        ]


def test_a_given_fee_is_recorded_as_given(client, alice_sub, fake_stripe):
    weekly_charge(alice_sub, 2000)
    deliver(client, fake_stripe, amount=2000, fee=17)
    row = Contribution.objects.get()
    assert (row.fee_cents, row.net_cents) == (17, 1983)


def test_an_older_invoice_with_a_charge_field_gets_its_fee_from_the_invoice_payments(
    client, alice_sub, fake_stripe
):
    # The fee is read later from the invoice id alone: Stripe lists the payments of every
    # invoice in the API version the site's SDK speaks, whatever the event's shape was.
    invoice = fake_stripe.add_invoice(
        subscription="sub_test_alice", amount_paid=1000, paid_at=NOW - 60, payment={"fee": 44}
    )
    payment = next(iter(fake_stripe.invoice_payments.values()))
    charge_id = fake_stripe.payment_intents[payment["payment"]["payment_intent"]]["latest_charge"]
    invoice = {**invoice, "charge": charge_id}
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert post_event(client, make_event("invoice.paid", invoice)).status_code == 200
    assert Contribution.objects.get().fee_cents == 44
    assert fake_stripe.calls("GET", "/v1/invoice_payments")


@pytest.mark.parametrize(
    "payment", [{"settled": False}, {"charged": False}, {"status": "open"}], ids=str
)
def test_a_payment_with_no_balance_transaction_yet_is_recorded_with_the_fee_pending(
    client, alice_sub, fake_stripe, payment
):
    _, response = deliver(client, fake_stripe, **payment)
    assert response.status_code == 200
    row = Contribution.objects.get()
    assert (row.amount_cents, row.fee_cents, row.net_cents, row.fee_source) == (
        1000,
        None,
        None,
        "",
    )
    assert StripeEvent.objects.get().status == "processed"


@pytest.mark.parametrize(
    ("payment", "message"),
    [
        ({"fee": 1000}, "not less than the payment"),
        ({"fee": 5000}, "not less than the payment"),
        ({"fee": -1}, "negative fee"),
        ({"bt_amount": 999}, "do not match"),
        ({"bt_amount": 1001}, "do not match"),
        ({"bt_currency": "eur"}, "currency"),
        ({"kind": "payment_record"}, "payment_record"),
    ],
    ids=str,
)
def test_fee_data_that_cannot_be_right_leaves_the_fee_pending_and_fails_the_event(
    client, alice_sub, fake_stripe, payment, message
):
    _, response = deliver(client, fake_stripe, **payment)
    assert response.status_code == 200  # the payment was collected: it is recorded
    row = Contribution.objects.get()
    assert (row.amount_cents, row.fee_cents, row.net_cents, row.fee_source) == (
        1000,
        None,
        None,
        "",
    )
    stored = StripeEvent.objects.get()
    assert stored.status == "failed"  # staff see it (admin filter, daily digest)
    assert message in stored.error and row.stripe_invoice_id in stored.error


def test_two_paid_payments_on_one_invoice_are_refused(client, alice_sub, fake_stripe):
    invoice = fake_stripe.add_invoice(
        subscription="sub_test_alice", amount_paid=1000, paid_at=NOW - 60
    )
    fake_stripe.add_payment(invoice)
    with TestCase.captureOnCommitCallbacks(execute=True):
        post_event(client, make_event("invoice.paid", invoice))
    assert Contribution.objects.get().fee_cents is None
    assert "2 payments" in StripeEvent.objects.get().error


def test_a_payment_intent_stripe_does_not_have_is_refused(client, alice_sub, fake_stripe):
    invoice = fake_stripe.add_invoice(
        subscription="sub_test_alice", amount_paid=1000, paid_at=NOW - 60
    )
    fake_stripe.payment_intents.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        post_event(client, make_event("invoice.paid", invoice))
    assert Contribution.objects.get().fee_cents is None
    assert "Stripe has no payment intent" in StripeEvent.objects.get().error


def test_stripe_unreachable_for_the_fee_records_the_payment_and_a_later_read_gets_it(
    client, alice_sub, fake_stripe
):
    for _ in range(3):  # the SDK's own retries
        fake_stripe.fail_next("GET", "/v1/payment_intents/", status=500, message="Oops")
    _, response = deliver(client, fake_stripe)
    # The payment is safe in the ledger; the failed read (logged) never fails the webhook.
    assert response.status_code == 200
    assert StripeEvent.objects.get().status == "processed"
    row = Contribution.objects.get()
    assert row.fee_cents is None
    assert read_pending_fees().read == 1  # Stripe is back: the task's retry, or beat's read
    row.refresh_from_db()
    assert (row.fee_cents, row.net_cents) == (59, 941)


def test_a_redelivered_paid_invoice_does_not_ask_stripe_for_the_fee_again(
    client, alice_sub, fake_stripe
):
    invoice, _ = deliver(client, fake_stripe)
    before = len(fake_stripe.requests)
    post_event(client, make_event("invoice.paid", invoice))  # another event, same invoice
    assert len(fake_stripe.requests) == before
    assert Contribution.objects.count() == 1


# --- the database and the service refuse what cannot be right --------------------------


@pytest.mark.parametrize(
    ("fee", "net"), [(-1, 1001), (1000, 0), (100, 800), (None, 1000), (59, None)]
)
def test_the_database_refuses_a_fee_and_net_that_are_not_the_gross(alice_sub, fee, net):
    with pytest.raises(IntegrityError), transaction.atomic():
        ContributionFactory(
            subscription=alice_sub, amount_cents=1000, fee_cents=fee, net_cents=net
        )


@pytest.mark.parametrize(("fee", "field"), [(-5, "fee_cents"), (1000, "fee_cents")])
def test_record_contribution_refuses_a_bad_fee_before_writing(alice_sub, fee, field):
    with pytest.raises(ValidationError) as info:
        record_contribution(
            subscription=alice_sub,
            amount_cents=1000,
            paid_at=dt.datetime.now(dt.UTC),
            stripe_invoice_id="in_test_bad_fee",
            fee_cents=fee,
            fee_source="stripe",
            balance_transaction_id="txn_x",
        )
    assert field in info.value.message_dict
    assert Contribution.objects.count() == 0


def pending_row(sub, invoice_id="in_test_pending", amount=1000):
    row, _ = record_contribution(
        subscription=sub,
        amount_cents=amount,
        paid_at=dt.datetime.now(dt.UTC),
        stripe_invoice_id=invoice_id,
    )
    return row


def test_record_fee_sets_a_pending_fee_once(alice_sub):
    row = pending_row(alice_sub)
    record_fee(row, fee_cents=59, balance_transaction_id="txn_test_1")
    row.refresh_from_db()
    assert (row.fee_cents, row.net_cents, row.fee_source) == (59, 941, "stripe")
    assert row.stripe_balance_transaction_id == "txn_test_1"
    stale = Contribution.objects.get(pk=row.pk)
    stale.fee_cents, stale.fee_source = None, ""  # a second sync that read it earlier
    with pytest.raises(ValidationError, match="already recorded"):
        record_fee(stale, fee_cents=60, balance_transaction_id="txn_test_2")
    row.refresh_from_db()
    assert (row.fee_cents, row.stripe_balance_transaction_id) == (59, "txn_test_1")


@pytest.mark.parametrize("fee", [-1, 1000, 1001, "59", 5.5, True])
def test_record_fee_refuses_a_bad_fee_and_writes_nothing(alice_sub, fee):
    row = pending_row(alice_sub)
    with pytest.raises(ValidationError):
        record_fee(row, fee_cents=fee, balance_transaction_id="txn_test_1")
    row.refresh_from_db()
    assert (row.fee_cents, row.net_cents, row.fee_source) == (None, None, "")


# --- sync_stripe reads the fees the webhook could not --------------------------------------


def run_sync(*args):
    out = StringIO()
    try:
        call_command("sync_stripe", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_sync_reads_a_pending_fee_and_a_dry_run_writes_nothing(client, alice_sub, fake_stripe):
    invoice, _ = deliver(client, fake_stripe, settled=False)
    row = Contribution.objects.get()
    assert row.fee_cents is None
    # Stripe settles the charge later: it gets its balance transaction.
    charge = next(iter(fake_stripe.charges.values()))
    fake_stripe.balance_transactions["txn_test_late"] = {
        "id": "txn_test_late",
        "object": "balance_transaction",
        "amount": 1000,
        "currency": "usd",
        "fee": 59,
        "net": 941,
    }
    charge["balance_transaction"] = "txn_test_late"

    output, error = run_sync("--dry-run")
    assert error is None, output
    assert f"would fix: invoice {invoice['id']}: fee $0.59 read from txn_test_late" in output
    row.refresh_from_db()
    assert row.fee_cents is None

    output, error = run_sync()
    assert error is None, output
    assert f"fixed: invoice {invoice['id']}: fee $0.59" in output
    row.refresh_from_db()
    assert (row.fee_cents, row.net_cents, row.stripe_balance_transaction_id) == (
        59,
        941,
        "txn_test_late",
    )
    output, _ = run_sync()
    assert "fixed 0 drifts" in output


def test_sync_leaves_a_fee_pending_while_stripe_has_none(client, alice_sub, fake_stripe):
    invoice, _ = deliver(client, fake_stripe, settled=False)
    output, error = run_sync()
    assert error is None
    assert f"pending: invoice {invoice['id']}: Stripe has no balance transaction" in output
    assert "1 fee not settled" in output
    assert Contribution.objects.get().fee_cents is None


def test_sync_refuses_a_bad_fee_for_a_pending_row(client, alice_sub, fake_stripe):
    _invoice, _ = deliver(client, fake_stripe, settled=False)
    charge = next(iter(fake_stripe.charges.values()))
    fake_stripe.balance_transactions["txn_test_bad"] = {
        "id": "txn_test_bad",
        "amount": 1000,
        "currency": "usd",
        "fee": 1200,
    }
    charge["balance_transaction"] = "txn_test_bad"
    output, error = run_sync()
    assert error is not None
    assert "not less than the payment" in output
    assert Contribution.objects.get().fee_cents is None


def test_sync_records_a_missing_invoice_with_its_fee(alice_sub, fake_stripe):
    weekly_charge(alice_sub, 2500)
    invoice = fake_stripe.add_invoice(
        subscription="sub_test_alice", amount_paid=2500, paid_at=NOW - 60, payment={"fee": 103}
    )
    output, error = run_sync()
    assert error is None, output
    assert f"fixed: invoice {invoice['id']}" in output and "fee $1.03, net $23.97" in output
    row = Contribution.objects.get()
    assert (row.amount_cents, row.fee_cents, row.net_cents) == (2500, 103, 2397)


def test_sync_reports_a_recorded_fee_that_differs_from_stripe_and_keeps_it(
    client, alice_sub, fake_stripe
):
    invoice, _ = deliver(client, fake_stripe, fee=59)
    bt = next(iter(fake_stripe.balance_transactions.values()))
    bt["fee"], bt["net"] = 61, 939  # Stripe's figure changed after we recorded ours
    output, error = run_sync()
    assert error is not None
    assert f"invoice {invoice['id']}: recorded fee 59 cents" in output
    assert "says 61 (left unchanged)" in output
    assert Contribution.objects.get().fee_cents == 59

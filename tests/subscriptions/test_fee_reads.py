"""The processing fee read off the request path (subscriptions.fee_reads, issue 17):
invoice.paid records the payment with its fee pending and queues one read per burst on
commit; the read (a task, hourly from beat as well, and before the weekly run) writes the
fee once. Celery runs in-process here (no broker), as it does without CELERY_BROKER_URL."""

import datetime as dt
import time
from io import StringIO

import pytest
from celery.exceptions import Retry
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from config.schedules import SCHEDULES
from distributions.models import Distribution
from subscriptions import services, tasks
from subscriptions.fee_reads import read_pending_fees
from subscriptions.models import Contribution, StripeEvent
from subscriptions.services import record_contribution
from subscriptions.webhooks import reprocess_event
from tests.factories import SubscriptionFactory
from tests.portfolio.scenario import PAID, WEEK, at, charity, donor
from tests.subscriptions.helpers import make_event, post_event

pytestmark = pytest.mark.django_db

NOW = int(time.time())
MONDAY = at(WEEK + dt.timedelta(days=7), 6)  # the Monday job's clock


@pytest.fixture
def alice_sub(alice, fake_stripe):
    fake_stripe.add_subscription(id="sub_test_alice", amount_cents=1000, user_id=alice.pk)
    return SubscriptionFactory(
        user=alice,
        stripe_subscription_id="sub_test_alice",
        stripe_customer_id="cus_test_alice",
        amount_cents=1000,
    )


def paid_event(fake, **payment):
    invoice = fake.add_invoice(
        subscription="sub_test_alice", amount_paid=1000, paid_at=NOW - 60, payment=payment
    )
    return make_event("invoice.paid", invoice)


def fee_calls(fake) -> int:
    return len(fake.calls("GET", "/v1/invoice_payments")) + len(
        fake.calls("GET", "/v1/payment_intents/")
    )


def test_the_webhook_records_the_payment_and_the_fee_is_read_after_the_commit(
    client, alice_sub, fake_stripe, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        response = post_event(client, paid_event(fake_stripe, fee=61))
    assert response.status_code == 200, response.content
    row = Contribution.objects.get()
    assert (row.amount_cents, row.fee_cents, row.net_cents, row.fee_source) == (
        1000,
        None,
        None,
        "",
    )
    assert fee_calls(fake_stripe) == 0  # nothing asked of Stripe while Stripe waited
    assert StripeEvent.objects.get().status == "processed"
    for callback in queued:  # the commit: the money log line, and the queued fee read
        callback()
    row.refresh_from_db()
    assert (row.fee_cents, row.net_cents, row.fee_source) == (61, 939, "stripe")
    assert row.stripe_balance_transaction_id.startswith("txn_")


def test_a_new_invoice_paid_costs_two_inserts(client, alice_sub, fake_stripe):
    event = paid_event(fake_stripe)
    with CaptureQueriesContext(connection) as queries:
        assert post_event(client, event).status_code == 200
    statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    # The event row with its outcome (ON CONFLICT DO NOTHING), then the contribution with
    # the subscription read and checked inside its INSERT ... SELECT (ON CONFLICT DO
    # NOTHING); in production BEGIN and COMMIT around them (here the test's transaction
    # makes them a savepoint and its release).
    assert [sql.split()[0] for sql in statements] == ["INSERT", "INSERT"], statements
    assert "subscriptions_stripeevent" in statements[0].split("(")[0]
    assert "subscriptions_contribution" in statements[1].split("(")[0]
    assert '"subscriptions_subscription"' in statements[1]
    row = Contribution.objects.get()
    assert (row.subscription_id, row.amount_cents, row.fee_source) == (alice_sub.pk, 1000, "")


def test_a_redelivered_event_does_nothing(
    client, alice_sub, fake_stripe, django_capture_on_commit_callbacks
):
    event = paid_event(fake_stripe)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, event)
    calls = fee_calls(fake_stripe)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = post_event(client, event)
    assert response.status_code == 200
    assert response.json()["result"] == "duplicate"
    assert queued == []  # no read queued, no money logged
    assert fee_calls(fake_stripe) == calls
    assert Contribution.objects.count() == 1
    assert StripeEvent.objects.get().attempts == 1


def test_another_event_for_an_invoice_whose_fee_is_pending_queues_a_read_again(
    client, alice_sub, fake_stripe, django_capture_on_commit_callbacks
):
    event = paid_event(fake_stripe)
    with django_capture_on_commit_callbacks():  # the first read is lost
        post_event(client, event)
    again = {**event, "id": "evt_test_same_invoice"}
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, again)
    assert Contribution.objects.get().fee_cents == 59


def test_the_fee_read_writes_each_fee_once_and_a_second_read_finds_nothing(
    client, alice_sub, fake_stripe, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():  # queued reads not run: beat's will
        for _ in range(3):
            post_event(client, paid_event(fake_stripe))
    assert Contribution.objects.filter(fee_cents__isnull=True).count() == 3
    assert tasks.read_pending_fees.apply().get() == {"read": 3, "not_settled": 0, "refused": []}
    assert list(Contribution.objects.values_list("fee_cents", "net_cents")) == [(59, 941)] * 3
    calls = fee_calls(fake_stripe)
    assert read_pending_fees().as_dict() == {"read": 0, "not_settled": 0, "refused": []}
    assert fee_calls(fake_stripe) == calls


def test_beat_reads_the_pending_fees_every_hour():
    """The safety net: a read that was queued and lost (a broker restart) or a payment
    Stripe had not settled is read within the hour."""
    [entry] = [e for e in SCHEDULES if e.task == "subscriptions.tasks.read_pending_fees"]
    assert (entry.minute, entry.hour, entry.day_of_week, entry.day_of_month) == (
        "17",
        "*",
        "*",
        "*",
    )
    assert entry.task in tasks.read_pending_fees.app.tasks


def test_a_payment_stripe_has_not_settled_stays_pending_until_a_later_read(
    client, alice_sub, fake_stripe, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, paid_event(fake_stripe, settled=False))
    row = Contribution.objects.get()
    assert row.fee_cents is None
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
    assert read_pending_fees().read == 1
    row.refresh_from_db()
    assert (row.fee_cents, row.stripe_balance_transaction_id) == (59, "txn_test_late")


def test_the_task_retries_with_backoff_while_stripe_is_down(
    client, alice_sub, fake_stripe, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks():
        post_event(client, paid_event(fake_stripe))
    for _ in range(3):  # the SDK's own retries
        fake_stripe.fail_next("GET", "/v1/payment_intents/", status=500, message="Down")
    retried = {}

    def retry(*, exc, countdown):
        retried.update(exc=exc, countdown=countdown)
        return Retry(exc=exc, when=countdown)

    monkeypatch.setattr(tasks.read_pending_fees, "retry", retry)
    with pytest.raises(Retry):
        tasks.read_pending_fees()  # called as a worker would: not eager
    assert "in_test_" in str(retried["exc"]) and retried["countdown"] == 30
    assert Contribution.objects.get().fee_cents is None  # nothing written on a failure
    assert [tasks.fee_read_backoff(n) for n in (0, 1, 2, 5, 6, 11)] == [
        30,
        60,
        120,
        960,
        1800,
        1800,
    ]
    # Stripe is back: the retry reads it.
    assert tasks.read_pending_fees() == {"read": 1, "not_settled": 0, "refused": []}
    assert Contribution.objects.get().fee_cents == 59


def test_an_impossible_fee_fails_the_event_once_and_a_reprocess_after_the_fix_reads_it(
    client, alice_sub, fake_stripe, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, paid_event(fake_stripe, fee=1000))
    event = StripeEvent.objects.get()
    assert event.status == "failed" and "not less than the payment" in event.error
    row = Contribution.objects.get()
    assert (row.fee_cents, row.net_cents) == (None, None)  # never given on a guess
    # Stripe corrects the balance transaction; staff press Reprocess.
    bt = next(iter(fake_stripe.balance_transactions.values()))
    bt["fee"], bt["net"] = 59, 941
    with django_capture_on_commit_callbacks(execute=True):
        outcome = reprocess_event(event)
    assert outcome.result == "processed"
    row.refresh_from_db()
    assert (row.fee_cents, row.net_cents) == (59, 941)
    assert Contribution.objects.count() == 1


class FakeTask:
    """The read task as a process with a broker sees it: what it was asked to publish."""

    def __init__(self, fail=False):
        self.published, self.fail = [], fail
        self.app = type("App", (), {"conf": type("Conf", (), {"task_always_eager": False})})

    def apply_async(self, *, countdown):
        if self.fail:
            raise ConnectionError("broker down")
        self.published.append(countdown)


@pytest.fixture
def with_a_broker(monkeypatch):
    """services._queue_fee_read with a broker, a fake task and a clock the test moves."""
    task, clock = FakeTask(), [1000.0]
    monkeypatch.setattr(services, "signature", lambda name: task)
    monkeypatch.setattr(services.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(services, "_queued_at", None)
    return task, clock


def test_a_burst_of_payments_publishes_one_read_that_starts_after_all_of_them(with_a_broker):
    task, clock = with_a_broker
    delay = services.FEE_READ_DELAY_SECONDS
    services._queue_fee_read()
    assert task.published == [delay]  # to start `delay` seconds from now
    # Payments committed before that read starts publish nothing: it will see them.
    for _ in range(50):
        clock[0] += 0.1
        services._queue_fee_read()
    assert task.published == [delay]
    # Close to its start (within the margin for clocks) the next payment queues the next.
    clock[0] = 1000.0 + delay - services.FEE_READ_MARGIN_SECONDS
    services._queue_fee_read()
    assert task.published == [delay, delay]


def test_a_failed_publish_lets_the_next_payment_publish_again(with_a_broker, monkeypatch):
    down = FakeTask(fail=True)
    monkeypatch.setattr(services, "signature", lambda name: down)
    with pytest.raises(ConnectionError):
        services._queue_fee_read()
    up, _ = with_a_broker
    monkeypatch.setattr(services, "signature", lambda name: up)
    services._queue_fee_read()
    assert up.published == [services.FEE_READ_DELAY_SECONDS]


def test_a_failed_publish_never_fails_the_webhook(
    client, alice_sub, fake_stripe, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(services, "signature", lambda name: FakeTask(fail=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(client, paid_event(fake_stripe))
    assert response.status_code == 200
    assert Contribution.objects.get().fee_cents is None  # beat's hourly read gets it


# --- the weekly run and a payment whose fee is pending ------------------------------------


def pending_payment(fake, user):
    """A payment of WEEK recorded by the webhook whose fee read has not run yet."""
    sub = SubscriptionFactory(user=user, amount_cents=1000, stripe_subscription_id="sub_test_w")
    invoice = fake.add_invoice(
        subscription="sub_test_w", amount_paid=1000, paid_at=NOW - 60, payment={"fee": 59}
    )
    row, _ = record_contribution(
        subscription=sub, amount_cents=1000, paid_at=PAID, stripe_invoice_id=invoice["id"]
    )
    return row


def run_week(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: MONDAY)
    out = StringIO()
    call_command("run_distribution", "--week", WEEK.isoformat(), "--no-email", stdout=out)
    return out.getvalue()


def test_the_run_reads_a_pending_fee_first_and_gives_the_net(fake_stripe, monkeypatch):
    charity()
    row = pending_payment(fake_stripe, donor())
    out = run_week(monkeypatch)
    assert "Read 1 pending fee from Stripe before the run." in out
    row.refresh_from_db()
    assert (row.fee_cents, row.distributed_week) == (59, WEEK)
    assert Distribution.objects.aggregate(s=Sum("amount_cents"))["s"] == 941


def test_a_fee_stripe_cannot_give_before_the_run_waits_and_a_later_run_gives_it_once(
    fake_stripe, monkeypatch
):
    charity()
    row = pending_payment(fake_stripe, donor())
    for _ in range(3):  # the SDK's own retries
        fake_stripe.fail_next("GET", "/v1/invoice_payments", status=500, message="Down")
    out = run_week(monkeypatch)
    assert "1 payment wait for their fee and go out in a later run" in out
    row.refresh_from_db()
    assert (row.fee_cents, row.distributed_week) == (None, None)
    assert not Distribution.objects.exists()  # nothing given on a guessed fee
    # Stripe is back (the hourly read, or the next run, reads it): given once, the net.
    out = run_week(monkeypatch)
    out = run_week(monkeypatch)
    row.refresh_from_db()
    assert (row.fee_cents, row.distributed_week) == (59, WEEK)
    assert Distribution.objects.aggregate(s=Sum("amount_cents"))["s"] == 941


def test_the_weekly_task_reads_a_pending_fee_before_it_distributes(fake_stripe, monkeypatch):
    from portfolio import tasks as portfolio_tasks

    charity()
    row = pending_payment(fake_stripe, donor())
    monkeypatch.setattr("django.utils.timezone.now", lambda: MONDAY)
    result = portfolio_tasks.weekly_distribution.delay(WEEK.isoformat()).get()
    assert result["fees"] == "Read 1 pending fee from Stripe before the run."
    row.refresh_from_db()
    assert (row.net_cents, row.distributed_week) == (941, WEEK)
    assert Distribution.objects.aggregate(s=Sum("amount_cents"))["s"] == 941


def test_a_subscription_with_no_known_customer_is_recorded_in_one_insert_too(
    client, alice_sub, fake_stripe
):
    alice_sub.stripe_customer_id = ""  # check_plausible then does not compare customers
    alice_sub.save(update_fields=["stripe_customer_id"])
    with CaptureQueriesContext(connection) as queries:
        response = post_event(client, paid_event(fake_stripe))
    assert response.json()["result"] == "processed", response.json()
    inserts = [q["sql"] for q in queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 2 and not any(q["sql"].startswith("SELECT") for q in queries)
    assert Contribution.objects.get().subscription_id == alice_sub.pk


def test_an_invoice_already_in_the_ledger_is_not_recorded_again(
    client, alice_sub, fake_stripe, django_capture_on_commit_callbacks
):
    # sync_stripe recorded it first (same amount, same subscription); then the event comes.
    event = paid_event(fake_stripe)
    invoice = event["data"]["object"]
    first, _ = record_contribution(
        subscription=alice_sub,
        amount_cents=1000,
        paid_at=dt.datetime.fromtimestamp(NOW - 60, tz=dt.UTC),
        stripe_invoice_id=invoice["id"],
    )
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_event(client, event)
    assert response.json()["result"] == "processed", response.json()
    assert list(Contribution.objects.values_list("pk", flat=True)) == [first.pk]
    assert len(callbacks) == 1  # no money log line (nothing recorded): the fee read only

"""Two deliveries of one event at the same moment, on PostgreSQL: one effect."""

import json
import threading
import time

import pytest
from django.db import connection
from django.test import Client

from subscriptions import webhooks
from subscriptions.models import Contribution, StripeEvent
from tests.factories import SubscriptionFactory, UserFactory
from tests.subscriptions.fake_stripe import invoice_object
from tests.subscriptions.helpers import make_event, signature


@pytest.fixture
def slow_invoice_handler(monkeypatch):
    """Hold each run of the handler open a moment, so two deliveries surely overlap."""
    real = webhooks.HANDLERS["invoice.paid"]
    runs = []

    def slow(obj, context):
        runs.append(context.id)
        time.sleep(0.3)
        real(obj, context)

    monkeypatch.setitem(webhooks.HANDLERS, "invoice.paid", slow)
    return runs


def deliver_at_once(body: str, header: str, deliveries: int = 2) -> list[int]:
    barrier = threading.Barrier(deliveries)
    statuses: list[int] = []

    def deliver():
        try:
            client = Client()
            barrier.wait(timeout=10)
            response = client.post(
                "/stripe/webhook/",
                data=body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=header,
            )
            statuses.append(response.status_code)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=deliver) for _ in range(deliveries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


@pytest.mark.postgres
@pytest.mark.usefixtures("stripe_keys")
def test_two_simultaneous_deliveries_of_one_event_count_once(
    transactional_db, slow_invoice_handler
):
    user = UserFactory(email="racer@example.org")
    SubscriptionFactory(user=user, stripe_subscription_id="sub_test_race")
    invoice = invoice_object(
        subscription="sub_test_race", amount_paid=1000, paid_at=int(time.time())
    )
    body = json.dumps(make_event("invoice.paid", invoice))
    header = signature(body)

    for _ in range(2):
        statuses = deliver_at_once(body, header)
        assert statuses == [200, 200]
    assert StripeEvent.objects.count() == 1
    event = StripeEvent.objects.get()
    assert (event.status, event.attempts) == ("processed", 1)
    assert Contribution.objects.count() == 1
    assert len(slow_invoice_handler) == 1  # the handler itself ran once, not only its effect


@pytest.mark.postgres
@pytest.mark.usefixtures("stripe_keys", "slow_invoice_handler")
def test_two_simultaneous_events_about_one_invoice_record_it_once(transactional_db):
    user = UserFactory(email="racer2@example.org")
    SubscriptionFactory(user=user, stripe_subscription_id="sub_test_race2")
    invoice = invoice_object(
        id="in_test_race",
        subscription="sub_test_race2",
        amount_paid=1000,
        paid_at=int(time.time()),
    )
    bodies = [json.dumps(make_event("invoice.paid", invoice)) for _ in range(2)]
    barrier = threading.Barrier(2)
    statuses = []

    def deliver(body):
        try:
            barrier.wait(timeout=10)
            statuses.append(
                Client()
                .post(
                    "/stripe/webhook/",
                    data=body,
                    content_type="application/json",
                    HTTP_STRIPE_SIGNATURE=signature(body),
                )
                .status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert statuses == [200, 200]
    assert Contribution.objects.count() == 1
    assert StripeEvent.objects.filter(status="processed").count() == 2

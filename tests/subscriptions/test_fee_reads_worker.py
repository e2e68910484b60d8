"""The fee read through a real Celery worker: a separate process, a Redis broker, the
test database, the fake Stripe on 127.0.0.1. The webhook's part (recording the payment
with its fee pending, queueing the read) is in test_fee_reads; here the queued task is
delivered by the broker and run by `celery -A config worker`, as in production."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from subscriptions.models import Contribution
from subscriptions.services import record_contribution
from tests.factories import SubscriptionFactory

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db.get("PASSWORD"):
        url = url.replace("://", f"://{db['USER']}:{db['PASSWORD']}@", 1).replace(
            f"@{db['USER']}@", "@", 1
        )
    return url


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_reads_the_pending_fee_the_broker_delivers(
    alice, stripe_server, redis_url, tmp_path
):
    import redis
    from celery import Celery

    redis.Redis.from_url(redis_url).flushdb()  # this test's own Redis database
    sub = SubscriptionFactory(user=alice, amount_cents=1000, stripe_subscription_id="sub_test_w")
    invoice = stripe_server.add_invoice(
        subscription="sub_test_w", amount_paid=1000, paid_at=int(time.time()) - 60,
        payment={"fee": 59},
    )  # fmt: skip
    row, _ = record_contribution(
        subscription=sub,
        amount_cents=1000,
        paid_at=dt.datetime.now(dt.UTC),
        stripe_invoice_id=invoice["id"],
    )
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "STRIPE_SECRET_KEY": "sk_test_fake_0123456789",
        "STRIPE_WEBHOOK_SECRET": "whsec_test_current_0123456789",
        "STRIPE_API_BASE": stripe_server.url,
        "DEMO_BILLING": "0",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            sender = Celery("sender", broker=redis_url, backend=redis_url)
            result = sender.send_task("subscriptions.tasks.read_pending_fees")
            try:
                answer = result.get(timeout=90)
            except Exception as exc:
                raise AssertionError(log_path.read_text()[-3000:]) from exc
            assert answer == {"read": 1, "not_settled": 0, "refused": []}
            _wait_for(
                lambda: Contribution.objects.get(pk=row.pk).fee_cents is not None, 10, "the fee"
            )
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
    row.refresh_from_db()
    assert (row.fee_cents, row.net_cents, row.fee_source) == (59, 941, "stripe"), (
        log_path.read_text()[-3000:]
    )

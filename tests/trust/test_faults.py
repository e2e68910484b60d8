"""Faults: each ends with nothing lost and nothing doubled after the documented retry.

Fault -> documented retry:
- a database error in the middle of one city -> rerun the week (run_distribution --week);
- a worker SIGKILLed mid-run -> none by hand: acks_late redelivers the task (that test
  lives in tests/portfolio/test_exactly_once.py);
- the broker (Redis) restarted mid-run, its queue lost -> send the week again
  (weekly_distribution(week), or run_distribution --week);
- two beat schedulers firing the weekly task at once -> none: the second run finds
  nothing left to take;
- a webhook handler failing halfway -> Stripe redelivers (it retries any 500).

Every scenario is parametrized by `attempt` (FAULT_REPEAT, default 1) so that
benchmarks/faults.py can repeat it and count. The ones with real processes commit for real
(transaction=True) and use a week that has really ended, since other processes read it.
"""

import datetime as dt
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count, Sum

from charities.models import Charity
from distributions.models import Distribution, DistributionRun
from portfolio import services
from portfolio.services import calculate_distribution
from subscriptions import webhooks
from subscriptions.models import Contribution, StripeEvent
from subscriptions.stripe_objects import record_paid_invoice
from tests.factories import SubscriptionFactory
from tests.portfolio.scenario import lines
from tests.portfolio.test_exactly_once import (
    CITIES,
    _assert_every_cent_once,
    _env,
    _hold_city_lock,
    _populate,
    _raw_connection,
    _wait_for,
    _waiting_on_locks,
    _week,
)
from tests.subscriptions.helpers import make_event, post_event

pytestmark = pytest.mark.usefixtures("no_demo_billing")

ROOT = Path(__file__).resolve().parents[2]
REPEAT = max(1, int(os.environ.get("FAULT_REPEAT", "1")))
attempts = pytest.mark.parametrize("attempt", range(REPEAT), ids=lambda n: f"run{n + 1}")


def _expected_rows(week) -> Counter:
    expected = Counter()
    for city, state in CITIES:
        expected.update(r[:3] for r in calculate_distribution(city, state, week).rows)
    return expected


def _rows() -> Counter:
    return Counter(
        Distribution.objects.values_list("subscription_id", "charity_id", "amount_cents")
    )


# --- (a) a database error in the middle of one city -------------------------------------

TRIGGER = "trust_fault_refuse_one_charity"


def _install_failing_trigger(charity_id: int) -> None:
    """A real PostgreSQL error raised while the city's rows are being written (COPY),
    after some of that city's rows went in: the middle of the city's transaction."""
    with connection.cursor() as cur:
        cur.execute(
            f"""
            CREATE FUNCTION {TRIGGER}() RETURNS trigger AS $$
            BEGIN
              IF NEW.charity_id = {int(charity_id)} THEN
                RAISE EXCEPTION 'injected fault for charity %', NEW.charity_id
                  USING ERRCODE = '57P01';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER {TRIGGER} BEFORE INSERT ON distributions_distribution
              FOR EACH ROW EXECUTE FUNCTION {TRIGGER}();
            """
        )


def _drop_failing_trigger() -> None:
    with connection.cursor() as cur:
        cur.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON distributions_distribution")
        cur.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")


def _committed_rows_by_city() -> dict[str, int]:
    """Read from another connection: only what really committed."""
    with _raw_connection() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT u.city, count(*) FROM distributions_distribution d "
            "JOIN subscriptions_subscription s ON s.id = d.subscription_id "
            "JOIN accounts_user u ON u.id = s.user_id GROUP BY u.city"
        )
        return dict(cur.fetchall())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@attempts
def test_a_database_error_in_one_city_rolls_back_that_city_only_and_a_rerun_completes_it(
    attempt, settings
):
    settings.DEMO_BILLING = False
    week = _week()
    _populate(week, donors_per_city=15)
    expected = _expected_rows(week)
    # Rutland's second charity (by id): rows of its first charity are written before it.
    victim = Charity.objects.filter(city="Rutland").order_by("id")[1]
    _install_failing_trigger(victim.pk)
    try:
        first = services.distribute_funds(week)
        assert first.status == DistributionRun.Status.PARTIAL
        line = lines(first)["Rutland, VT"]
        assert line.status == "failed" and "injected fault" in line.why
        rutland_total = Contribution.objects.filter(subscription__user__city="Rutland").aggregate(
            s=Sum("net_cents")
        )["s"]
        assert line.held_cents == rutland_total  # reported, not lost
        committed = _committed_rows_by_city()
        assert "Rutland" not in committed  # the city rolled back, none of its rows stayed
        assert committed.keys() == {"Burlington", "Springfield"}  # the others committed
        assert not Contribution.objects.filter(
            subscription__user__city="Rutland", distributed_week__isnull=False
        ).exists()
    finally:
        _drop_failing_trigger()

    again = services.distribute_funds(week)  # the documented retry: rerun the week
    assert again.status == DistributionRun.Status.COMPLETED
    assert lines(again)["Rutland, VT"].status == "done"
    assert _rows() == expected
    _assert_every_cent_once(week)


# --- workers and a broker ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    """A throwaway redis-server on a free port, never the shared one: this test kills it."""

    def __init__(self, workdir: Path):
        self.port = _free_port()
        self.workdir = workdir
        self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "OwnRedis":
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        _wait_for(self.is_up, 10, f"redis-server on port {self.port}")
        return self

    def is_up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)


def _start_worker(broker_url: str, log_path: Path, name: str):
    env = _env(
        CELERY_BROKER_URL=broker_url,
        CELERY_RESULT_BACKEND=broker_url,
        CELERY_VISIBILITY_TIMEOUT="3",
    )
    log = open(log_path, "a")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
         "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"{name}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    return proc, log


def _stop(workers) -> None:
    for proc, log in workers:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def _run_completed(week):
    def check():
        run = DistributionRun.objects.filter(week_start=week).first()
        return run is not None and run.status == DistributionRun.Status.COMPLETED

    return check


def _sender(broker_url: str):
    from celery import Celery

    return Celery("sender", broker=broker_url, backend=broker_url)


# --- (c) the broker restarted in the middle of a run -------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@attempts
def test_a_broker_restart_mid_run_loses_no_money_and_a_resent_week_completes_it(
    attempt, settings, tmp_path, record_property
):
    settings.DEMO_BILLING = False
    week = _week()
    _populate(week, donors_per_city=15)
    expected = _expected_rows(week)
    broker = OwnRedis(tmp_path).start()
    workers = []
    lock = _raw_connection()
    _hold_city_lock(lock, "Rutland")  # the run stops in the middle: in Rutland's transaction
    try:
        workers.append(_start_worker(broker.url, tmp_path / "worker.log", "w1"))
        _sender(broker.url).send_task(
            "portfolio.tasks.weekly_distribution", args=[week.isoformat()]
        )

        def burlington_done_and_rutland_waiting():
            run = DistributionRun.objects.filter(week_start=week).first()
            done = run is not None and "Burlington, VT" in lines(run)
            return done and _waiting_on_locks() >= 1

        _wait_for(burlington_done_and_rutland_waiting, 60, "the run to stop in Rutland")
        broker.kill()  # kill -9: the queue (no persistence) and the chord's state are gone
        broker.start()  # same port, empty
        lock.rollback()  # Rutland's task goes on, with the broker back but empty

        def rutland_committed():
            return not Contribution.objects.filter(
                subscription__user__city="Rutland", distributed_week__isnull=True
            ).exists()

        _wait_for(rutland_committed, 60, "the running city to finish")
        time.sleep(2)  # let the worker reconnect and run anything it still holds
        # What was lost with the queue is only not yet given, never half given:
        assert (
            Distribution.objects.aggregate(s=Sum("amount_cents"))["s"]
            == (
                Contribution.objects.filter(distributed_week__isnull=False).aggregate(
                    s=Sum("net_cents")
                )["s"]
            )
        )
        waiting = Contribution.objects.filter(distributed_week__isnull=True).aggregate(
            s=Sum("net_cents"), n=Count("subscription__user__city", distinct=True)
        )
        record_property(
            "note",
            f"cities waiting for the resent week after the restart: {waiting['n']} "
            f"({waiting['s'] or 0} cents)",
        )
        # The documented retry: send the week again (what `run_distribution --week` does).
        _sender(broker.url).send_task(
            "portfolio.tasks.weekly_distribution", args=[week.isoformat()]
        )
        _wait_for(_run_completed(week), 90, "the resent week to complete the run")
    finally:
        lock.close()
        _stop(workers)
        broker.kill()

    assert _rows() == expected
    _assert_every_cent_once(week)


# --- (d) two beat schedulers at once ------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@attempts
def test_two_beat_schedulers_firing_at_once_give_the_same_rows_as_one(
    attempt, settings, redis_url, tmp_path, record_property
):
    import redis

    settings.DEMO_BILLING = False
    redis.Redis.from_url(redis_url).flushdb()  # this test's own Redis database
    week = _week()
    _populate(week, donors_per_city=15)
    expected = _expected_rows(week)
    locks = []
    workers = []
    try:
        for city, _ in CITIES:  # every city's task waits: the two runs meet in each one
            conn = _raw_connection()
            _hold_city_lock(conn, city)
            locks.append(conn)
        workers = [_start_worker(redis_url, tmp_path / f"w{n}.log", f"w{n}") for n in (1, 2)]
        sender = _sender(redis_url)
        # What each beat sends on Monday: the task with no week; each fixes the week itself.
        for _ in range(2):
            sender.send_task("portfolio.tasks.weekly_distribution")
        _wait_for(lambda: _waiting_on_locks() >= 2, 60, "both workers to wait in a city")
        record_property("note", "both workers waited on city locks at the same time")
        for conn in locks:
            conn.rollback()
        _wait_for(_run_completed(week), 90, "the runs to complete")
        time.sleep(1)  # the slower twin's last city finds nothing left
    finally:
        for conn in locks:
            conn.close()
        _stop(workers)

    assert _rows() == expected
    _assert_every_cent_once(week)
    assert DistributionRun.objects.count() == 1


# --- (e) a webhook handler that fails halfway ---------------------------------------------


@pytest.mark.django_db
@attempts
def test_a_webhook_handler_failing_halfway_keeps_nothing_and_the_redelivery_records_once(
    attempt, client, fake_stripe, monkeypatch, caplog, django_capture_on_commit_callbacks, alice
):
    caplog.set_level(logging.INFO, logger="hometown.money")
    sub = SubscriptionFactory(
        user=alice, stripe_subscription_id="sub_test_halfway", amount_cents=1234
    )
    paid_at = int(time.time()) - 60
    event = make_event(
        "invoice.paid",
        fake_stripe.add_invoice(
            subscription="sub_test_halfway", amount_paid=1234, paid_at=paid_at, payment={"fee": 66}
        ),
    )
    real = webhooks.HANDLERS["invoice.paid"]

    def halfway(invoice, context):
        contribution, created = record_paid_invoice(invoice)
        assert created and Contribution.objects.filter(pk=contribution.pk).exists()
        raise ConnectionError("the process died after writing the contribution")

    monkeypatch.setitem(webhooks.HANDLERS, "invoice.paid", halfway)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(client, event)
    assert response.status_code == 500  # so Stripe delivers it again
    stored = StripeEvent.objects.get()
    assert (stored.status, stored.attempts) == ("failed", 1)
    assert "ConnectionError" in stored.error
    assert not Contribution.objects.exists()  # rolled back: nothing half-written

    monkeypatch.setitem(webhooks.HANDLERS, "invoice.paid", real)
    with django_capture_on_commit_callbacks(execute=True):
        redelivered = post_event(client, event)  # Stripe's retry
        again = post_event(client, event)  # and a duplicate of it
    assert redelivered.status_code == 200
    assert json.loads(again.content)["result"] == "duplicate"
    contribution = Contribution.objects.get()
    assert (contribution.subscription_id, contribution.amount_cents) == (sub.pk, 1234)
    assert (contribution.fee_cents, contribution.net_cents) == (66, 1168)
    assert contribution.paid_at == dt.datetime.fromtimestamp(paid_at, tz=dt.UTC)
    stored.refresh_from_db()
    assert (stored.status, stored.attempts) == ("processed", 2)
    recorded = [r.money for r in caplog.records if r.name == "hometown.money"]
    # One line for the payment, one for its fee (read after the commit): once each.
    assert [(r["event"], r.get("cents"), r["fee_cents"]) for r in recorded] == [
        ("contribution_recorded", 1234, None),
        ("contribution_fee_recorded", None, 66),
    ]

"""Exactly once under concurrency and failure, against real services: two processes at
once on PostgreSQL, and a Celery worker killed (SIGKILL) in the middle of a run.

These tests commit for real (transaction=True) so other processes see the data, and use
a week that has really ended by the clock, since the other processes read it.
"""

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from core.weeks import last_completed_week, week_bounds
from distributions.models import Distribution, DistributionRun
from portfolio.services import calculate_distribution
from subscriptions.models import Contribution, Subscription
from tests.factories import CharityFactory, NeedFactory
from tests.portfolio.scenario import lines
from tests.subscriptions.fake_stripe import stripe_fee

ROOT = Path(__file__).resolve().parents[2]
CITIES = [("Burlington", "VT"), ("Rutland", "VT"), ("Springfield", "VT")]


def _week():
    return last_completed_week(timezone.now())


def _populate(week, donors_per_city=40):
    """Charities with current needs and donors who paid in `week`, in each city."""
    paid_at = week_bounds(week)[0] + dt.timedelta(days=2)
    for city, state in CITIES:
        for urgency in (90, 60, 30):
            charity = CharityFactory(city=city, state=state)
            NeedFactory(charity=charity, urgency_score=urgency,
                        funding_gap_cents=500_000 + urgency,
                        last_updated=timezone.now() - dt.timedelta(days=1))  # fmt: skip
        users = User.objects.bulk_create(
            User(email=f"{city.lower()}{i}@example.org", city=city, state=state, password="!")
            for i in range(donors_per_city)
        )
        subs = Subscription.objects.bulk_create(
            Subscription(
                user=u,
                amount_cents=500 + 37 * i,
                stripe_subscription_id=f"sub_{u.pk}",
                start_date=week,
            )
            for i, u in enumerate(users)
        )
        Contribution.objects.bulk_create(
            Contribution(
                subscription=s,
                amount_cents=s.amount_cents,
                # Stripe's card fee: only the net is pooled.
                fee_cents=stripe_fee(s.amount_cents),
                net_cents=s.amount_cents - stripe_fee(s.amount_cents),
                fee_source="stripe",
                stripe_balance_transaction_id=f"txn_{s.pk}",
                paid_at=paid_at,
                stripe_invoice_id=f"in_{s.pk}",
            )
            for s in subs
        )


def _env(**extra):
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db.get("PASSWORD"):
        url = url.replace("://", f"://{db['USER']}:{db['PASSWORD']}@", 1).replace(
            f"@{db['USER']}@", "@", 1
        )
    return {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1", **extra}


def _raw_connection():
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"], user=db["USER"], password=db.get("PASSWORD") or None,
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, autocommit=False,
    )  # fmt: skip


def _hold_city_lock(conn, city):
    """Lock one undistributed contribution of `city` in an open transaction: a run that
    reaches that city waits there, in the middle of its transaction."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT c.id FROM subscriptions_contribution c "
            "JOIN subscriptions_subscription s ON s.id = c.subscription_id "
            "JOIN accounts_user u ON u.id = s.user_id WHERE u.city = %s "
            "ORDER BY c.id LIMIT 1 FOR UPDATE OF c",
            [city],
        )
        assert cur.fetchone()


def _waiting_on_locks() -> int:
    with _raw_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cur.fetchone()[0]


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _assert_every_cent_once(week):
    """Every contribution's net (what the processor left) given once, in the week; never
    its gross."""
    total = Contribution.objects.aggregate(s=Sum("net_cents"))["s"]
    assert total < Contribution.objects.aggregate(s=Sum("amount_cents"))["s"]
    assert not Contribution.objects.filter(distributed_week__isnull=True).exists()
    assert set(Contribution.objects.values_list("distributed_week", flat=True)) == {week}
    assert Distribution.objects.aggregate(s=Sum("amount_cents"))["s"] == total
    for sub in Subscription.objects.all():
        given = Distribution.objects.filter(subscription=sub).aggregate(s=Sum("amount_cents"))
        assert given["s"] == sub.amount_cents - stripe_fee(sub.amount_cents)
    run = DistributionRun.objects.get(week_start=week)
    assert (run.pooled_cents, run.distributed_cents, run.held_cents) == (total, total, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_in_two_processes_give_the_same_rows_as_one(settings):
    settings.DEMO_BILLING = False
    week = _week()
    _populate(week)
    expected = Counter()
    for city, state in CITIES:
        plan = calculate_distribution(city, state, week)
        expected.update(r[:3] for r in plan.rows)

    lock = _raw_connection()
    _hold_city_lock(lock, "Burlington")  # both runs start, then meet at the first city
    procs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "run_distribution", "--week", week.isoformat()],
            cwd=ROOT,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        _wait_for(lambda: _waiting_on_locks() >= 2, 60, "both runs to reach the same city")
        lock.rollback()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        lock.close()
        for p in procs:
            p.kill()

    assert [p.returncode for p in procs] == [0, 0], outputs
    rows = Counter(
        Distribution.objects.values_list("subscription_id", "charity_id", "amount_cents")
    )
    assert rows == expected
    _assert_every_cent_once(week)
    assert DistributionRun.objects.get().status == DistributionRun.Status.COMPLETED
    # Each shell says what it gave itself: together, the week's total, each place once.
    said = [re.search(r"This run gave \$([\d,]+)\.(\d\d)", out).groups() for out, _ in outputs]
    given = sum(int(dollars.replace(",", "")) * 100 + int(cents) for dollars, cents in said)
    assert given == Distribution.objects.aggregate(s=Sum("amount_cents"))["s"]
    done_here = [re.search(r"This run gave [^:]*: (.*)", out).group(1) for out, _ in outputs]
    for city, state in CITIES:
        place = f"{city}, {state}"
        assert sum(text.split(" done here")[0].count(place) for text in done_here) == 1, (
            place,
            done_here,
        )


def _start_worker(redis_url, log_path):
    env = _env(
        CELERY_BROKER_URL=redis_url,
        CELERY_RESULT_BACKEND=redis_url,
        CELERY_VISIBILITY_TIMEOUT="3",
    )
    log = open(log_path, "a")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
         "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    return proc, log


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_then_restarted_gives_every_cent_once(
    settings, redis_url, tmp_path
):
    import redis
    from celery import Celery

    settings.DEMO_BILLING = False
    redis.Redis.from_url(redis_url).flushdb()  # this test's own Redis database
    week = _week()
    _populate(week, donors_per_city=25)
    sender = Celery("sender", broker=redis_url, backend=redis_url)
    log_path = tmp_path / "worker.log"

    lock = _raw_connection()
    _hold_city_lock(lock, "Rutland")  # the run stops in the middle: in Rutland's transaction
    first, first_log = _start_worker(redis_url, log_path)
    second = second_log = None
    try:
        sender.send_task("portfolio.tasks.weekly_distribution", args=[week.isoformat()])

        def burlington_done_and_rutland_waiting():
            run = DistributionRun.objects.filter(week_start=week).first()
            done = run is not None and "Burlington, VT" in lines(run)
            return done and _waiting_on_locks() >= 1

        _wait_for(burlington_done_and_rutland_waiting, 60, "the run to stop in Rutland")
        assert Distribution.objects.exists()
        assert Contribution.objects.filter(distributed_week__isnull=True).exists()

        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        lock.rollback()
        time.sleep(4)  # past the visibility timeout: the unacked task is due again

        second, second_log = _start_worker(redis_url, log_path)

        def run_completed():
            run = DistributionRun.objects.filter(week_start=week).first()
            return run is not None and run.status == DistributionRun.Status.COMPLETED

        _wait_for(run_completed, 90, "the restarted worker to complete the run")
    finally:
        lock.close()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for log in (first_log, second_log):
            if log is not None:
                log.close()

    _assert_every_cent_once(week)
    assert "Rutland, VT" in lines(DistributionRun.objects.get())
    assert first.returncode == -signal.SIGKILL

"""Load test: donors browsing and Stripe webhooks arriving while the weekly distribution
runs, on PostgreSQL + Redis with gunicorn and a real Celery worker (README, BENCHMARKS.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hometown \\
    LOAD_REDIS_URL=redis://127.0.0.1:6379/12 python benchmarks/load.py [--smoke]

It drops and creates `<DATABASE_URL's database>_load`, migrates it and fills it (COPY,
as benchmarks/distribution.py does) with N donors, each with an active weekly
subscription and last week's payment, over C cities of K approved charities with current
needs. It flushes the Redis database of LOAD_REDIS_URL (broker, results and cache: give it
one of its own) and starts gunicorn (--workers) and one Celery worker (concurrency 2).

Then, for --seconds, a thread pool of Python clients (threads + requests):
- donors browsing: a signed-in donor's /dashboard/ and /reports/, /charities/ and a
  random /charities/<pk>/;
- Stripe: signed invoice.paid events for the donors' subscriptions (half paid last week,
  arriving late; half paid this week), 20% of them redeliveries of an earlier event;
- a fifth of the way in, the weekly distribution is triggered through Celery exactly as
  beat triggers it (`portfolio.tasks.weekly_distribution` with no argument), and its run
  (one task per city, then reports) overlaps the traffic.

Afterwards it checks, and exits non-zero unless all hold: no 5xx answer; no deadlock
(pg_stat_database.deadlocks of the load database did not grow); the week's run completed;
money conserved: the sum of Distribution rows equals the sum of the contributions marked
distributed, every contribution of last week's world is distributed exactly once, and
the webhook contributions are exactly the unique invoices posted (count and cents), each
event stored once. It prints requests per second and p50/p99 latency per kind and a
Markdown row for BENCHMARKS.md. The database is dropped unless --keep-db.

Smoke size for CI (about 30 s end to end): --smoke (400 donors, 3 cities x 3 charities,
10 s of traffic).
"""

import argparse
import datetime as dt
import hashlib
import hmac
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from common import drop_database, free_port, recreate_database, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/hometown"
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
SECRET = "whsec_load_test_0123456789"  # noqa: S105 - a throwaway, signs local requests
KINDS = ["dashboard", "reports", "charities", "charity", "webhook"]


def load_env(database_url: str, redis_url: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "READ_DOT_ENV_FILE": "0",
        "DEBUG": "0",
        "SECRET_KEY": "load-test-only-secret-key-0123456789abcdefghijklmnop",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "STATIC_MANIFEST": "0",
        "DATABASE_URL": database_url,
        "CONN_MAX_AGE": "60",
        "CACHE_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "STRIPE_SECRET_KEY": "sk_test_load_0123456789",
        "STRIPE_WEBHOOK_SECRET": SECRET,
        # Replaced by the fake Stripe's address once it runs (main): a paid invoice makes
        # the site read its fee from Stripe. Until then, a closed local port: never the
        # network.
        "STRIPE_API_BASE": "http://127.0.0.1:9",
        "EMAIL_URL": "dummymail://",
        "EXPLAINER": "template",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def deadlocks(url: str) -> int:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = %s", [name]
        ).fetchone()
    return int(row[0])


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def build_world(*, donors: int, cities: int, per_city: int, browsers: int, week: dt.date):
    """Migrate and fill the database; returns (session keys, charity ids, and each
    subscription's (Stripe id, weekly charge, Stripe customer))."""
    from importlib import import_module

    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import Value
    from django.db.models.functions import Concat

    call_command("migrate", verbosity=0)
    from benchmarks.distribution import populate  # after setup: it only sets defaults

    populate(subscriptions=donors, cities=cities, per_city=per_city, week=week)
    from accounts.models import User
    from charities.models import Charity
    from subscriptions.models import Subscription

    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = []
    for user in User.objects.order_by("?")[:browsers]:
        session = store()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = "accounts.backends.ModelBackend"
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    charity_ids = list(Charity.objects.values_list("pk", flat=True))
    # Each subscription its own Stripe customer: a paid invoice must come from it.
    Subscription.objects.update(stripe_customer_id=Concat(Value("cus_load_"), "id"))
    subs = list(
        Subscription.objects.values_list(
            "stripe_subscription_id", "amount_cents", "stripe_customer_id"
        )
    )
    return keys, charity_ids, subs


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = defaultdict(list)
        self.statuses = defaultdict(lambda: defaultdict(int))
        self.errors: list[str] = []

    def add(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[kind][status] += 1


class Webhooks:
    """Signed invoice.paid deliveries; a fifth are redeliveries of an earlier event. Each
    pays its subscription's weekly charge from its customer (the webhook refuses anything
    else), and the fake Stripe learns the invoice with its payment and fee first."""

    FEE_CENTS = 59

    def __init__(self, subs: list[tuple[str, int, str]], week: dt.date, rng, fake):
        from core.weeks import week_bounds

        self.subs = subs
        self.fake = fake
        self.last_week_paid = int(week_bounds(week)[1].timestamp()) - 3600  # Sunday night
        self.rng = rng
        self.lock = threading.Lock()
        self.events: list[dict] = []
        self.invoices: dict[str, int] = {}
        self.counter = 0
        self.redeliveries = 0

    def next_body(self) -> tuple[bytes, str]:
        with self.lock:
            if self.events and self.rng.random() < 0.2:
                event = self.rng.choice(self.events)
                self.redeliveries += 1
            else:
                self.counter += 1
                n = self.counter
                sub_id, amount, customer = self.rng.choice(self.subs)
                paid_at = self.last_week_paid if n % 2 else int(time.time()) - 5
                invoice_id = f"in_load_{n:07d}"
                self.fake.add_invoice(
                    id=invoice_id, subscription=sub_id, customer=customer,
                    amount_paid=amount, paid_at=paid_at, payment={"fee": self.FEE_CENTS},
                )  # fmt: skip
                event = {
                    "id": f"evt_load_{n:07d}",
                    "object": "event",
                    "type": "invoice.paid",
                    "created": int(time.time()),
                    "livemode": False,
                    "data": {"object": self.fake.invoices[invoice_id]},
                }
                self.events.append(event)
                self.invoices[invoice_id] = amount
        body = json.dumps(event).encode()
        ts = int(time.time())  # Stripe signs every delivery afresh
        digest = hmac.new(SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256)
        return body, f"t={ts},v1={digest.hexdigest()}"


def client_loop(kind_picker, base, recorder, stop, session_keys, charity_ids, hooks, rng):
    import requests

    http = requests.Session()
    while not stop.is_set():
        kind = kind_picker(rng)
        headers, body, method = {}, None, "GET"
        if kind == "webhook":
            method = "POST"
            body, signature = hooks.next_body()
            headers = {"Stripe-Signature": signature, "Content-Type": "application/json"}
            url = base + "/stripe/webhook/"
        elif kind in ("dashboard", "reports"):
            headers = {"Cookie": f"sessionid={rng.choice(session_keys)}"}
            url = base + ("/dashboard/" if kind == "dashboard" else "/reports/")
        elif kind == "charities":
            url = base + "/charities/"
        else:
            url = base + f"/charities/{rng.choice(charity_ids)}/"
        start = time.perf_counter()
        try:
            response = http.request(
                method, url, data=body, headers=headers, allow_redirects=False, timeout=60
            )
            status = response.status_code
            if status >= 400:
                recorder.errors.append(f"{kind} {status} {response.text[:200]!r}")
        except requests.RequestException as exc:
            status = 599  # no answer at all counts with the 5xx
            recorder.errors.append(f"{kind} {type(exc).__name__}: {exc}")
        recorder.add(kind, time.perf_counter() - start, status)


def warm_up(base: str, workers: int, session_keys, charity_ids) -> None:
    """Each gunicorn worker imports views and compiles templates on its first requests:
    a few unmeasured rounds first, so the figures are of a running site."""
    import requests

    cookie = {"Cookie": f"sessionid={session_keys[0]}"}
    for _ in range(3 * workers):
        for path, headers in [
            ("/dashboard/", cookie), ("/reports/", cookie), ("/charities/", {}),
            (f"/charities/{charity_ids[0]}/", {}),
        ]:  # fmt: skip
            requests.get(base + path, headers=headers, allow_redirects=False, timeout=60)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] if ordered else 0.0


def wait_for_run(week: dt.date, timeout: float) -> dict:
    from distributions.models import DistributionRun
    from reports.models import Report

    deadline = time.time() + timeout
    while time.time() < deadline:
        run = DistributionRun.objects.filter(week_start=week).first()
        done = run is not None and run.status != "running" and run.finished_at is not None
        # The run's end enqueues the donors' reports; wait for those too.
        if done and Report.objects.filter(week_start=week).exists():
            return {
                "status": run.status,
                "started": run.started_at,
                "finished": run.finished_at,
            }
        time.sleep(0.5)
    return {"status": "timeout", "started": None, "finished": None}


def check_money(week: dt.date, hooks: Webhooks) -> list[tuple[str, bool, str]]:
    from django.db.models import Count, Sum

    from distributions.models import Distribution
    from subscriptions.models import Contribution, StripeEvent

    def total(qs, field="amount_cents") -> int:
        return qs.aggregate(s=Sum(field))["s"] or 0

    # The engine gives the net (what the card processor left); the ledger rows add up to it.
    distributed = Contribution.objects.filter(distributed_week__isnull=False)
    rows = Distribution.objects.all()
    world = Contribution.objects.filter(stripe_invoice_id__startswith="in_bench_")
    load = Contribution.objects.filter(stripe_invoice_id__startswith="in_load_")
    per_week_ok = all(
        total(Distribution.objects.filter(week_start=w["distributed_week"]))
        == total(distributed.filter(distributed_week=w["distributed_week"]), "net_cents")
        for w in distributed.values("distributed_week").annotate(n=Count("id"))
    )
    events = StripeEvent.objects
    checks = [
        (
            "sum(Distribution) == sum(distributed contributions)",
            total(rows) == total(distributed, "net_cents") and per_week_ok,
            f"{total(rows)} == {total(distributed, 'net_cents')} cents",
        ),
        (
            "last week's world distributed in full, once",
            world.filter(distributed_week=week).count() == world.count()
            and total(rows.filter(week_start=week, subscription__in=world.values("subscription")))
            >= total(world, "net_cents"),
            f"{world.filter(distributed_week=week).count()}/{world.count()} contributions",
        ),
        (
            "no negative or zero Distribution row",
            not rows.filter(amount_cents__lte=0).exists(),
            "",
        ),
        (
            "webhook contributions == unique invoices posted",
            load.count() == len(hooks.invoices) and total(load) == sum(hooks.invoices.values()),
            f"{load.count()} rows / {len(hooks.invoices)} invoices, "
            f"{total(load)} / {sum(hooks.invoices.values())} cents",
        ),
        (
            "each event stored once and processed",
            events.count() == len(hooks.events)
            and events.filter(status="processed").count() == len(hooks.events),
            f"{events.count()} events, {hooks.redeliveries} redeliveries",
        ),
    ]
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="CI size (about 40 s)")
    parser.add_argument("--seconds", type=int, default=None, help="length of the traffic")
    parser.add_argument("--donors", type=int, default=None)
    parser.add_argument("--cities", type=int, default=None)
    parser.add_argument("--charities-per-city", type=int, default=None)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (2-4)")
    parser.add_argument("--clients", type=int, default=8, help="load-generator threads")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    seconds = args.seconds or (10 if args.smoke else 90)
    donors = args.donors or (400 if args.smoke else 20_000)
    cities = args.cities or (3 if args.smoke else 10)
    per_city = args.charities_per_city or (3 if args.smoke else 10)

    base_url = os.environ.get("DATABASE_URL", DEFAULT_DB)
    if not base_url.startswith("postgres"):
        sys.exit("DATABASE_URL must name a PostgreSQL database (its name + _load is used)")
    database_url = base_url.split("?")[0] + "_load"
    redis_url = os.environ.get("LOAD_REDIS_URL", DEFAULT_REDIS)
    env = load_env(database_url, redis_url)
    os.environ.update(env)

    import django

    django.setup()
    from django.db import connections
    from django.utils import timezone

    from config.celery import app as celery_app
    from core.weeks import last_completed_week

    rng = random.Random(7)
    week = last_completed_week(timezone.now())
    print(f"world: {donors} donors, {cities} cities x {per_city} charities, week {week}")
    recreate_database(database_url)
    flush_redis(redis_url)
    t = time.perf_counter()
    session_keys, charity_ids, subs = build_world(
        donors=donors, cities=cities, per_city=per_city, browsers=50, week=week
    )
    connections.close_all()
    os.environ.update(env)  # benchmarks.distribution blanks a few variables on import
    print(f"built in {time.perf_counter() - t:.1f} s")

    # Stripe for the site's fee look-ups: the suite's fake, on 127.0.0.1, in this process.
    from tests.subscriptions.fake_stripe import FakeStripe

    fake = FakeStripe().start()
    env["STRIPE_API_BASE"] = fake.url
    logs = Path(tempfile.mkdtemp(prefix="hometown-load-"))
    port = free_port()
    bin_dir = Path(sys.executable).parent
    gunicorn = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "config.wsgi", "--workers", str(args.workers),
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=(logs / "gunicorn.log").open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    worker = subprocess.Popen(
        [str(bin_dir / "celery"), "-A", "config", "worker", "-l", "warning", "-c", "2",
         "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"load-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=(logs / "celery.log").open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    recorder, stop = Recorder(), threading.Event()
    hooks = Webhooks(subs, week, rng, fake)
    try:
        wait_for_port(port)
        deadline = time.time() + 60
        while not celery_app.control.ping(timeout=1) and time.time() < deadline:
            time.sleep(0.5)
        base = f"http://127.0.0.1:{port}"
        warm_up(base, args.workers, session_keys, charity_ids)
        deadlocks_before = deadlocks(database_url)

        # By request count: a fifth each of dashboard, reports, charity list, one
        # charity, and webhooks.
        def pick(r):
            x = r.random()
            if x < 0.2:
                return "webhook"
            return ["dashboard", "reports", "charities", "charity"][int((x - 0.2) / 0.2)]

        threads = [
            threading.Thread(
                target=client_loop,
                args=(
                    pick,
                    base,
                    recorder,
                    stop,
                    session_keys,
                    charity_ids,
                    hooks,
                    random.Random(i),
                ),
                daemon=True,
            )
            for i in range(args.clients)
        ]
        started = time.time()
        for thread in threads:
            thread.start()
        time.sleep(seconds / 5)
        triggered = time.time()
        celery_app.send_task("portfolio.tasks.weekly_distribution")  # as beat sends it
        time.sleep(max(0.0, started + seconds - time.time()))
        stop.set()
        for thread in threads:
            thread.join(timeout=70)
        elapsed = time.time() - started
        run = wait_for_run(week, timeout=max(120, seconds * 2))
        time.sleep(2)  # let the backends report their statistics
        deadlocks_after = deadlocks(database_url)
    finally:
        stop.set()
        for process in (gunicorn, worker):
            process.send_signal(signal.SIGTERM)
        for process in (gunicorn, worker):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        fake.stop()

    checks = check_money(week, hooks)
    fivexx = sum(n for k in recorder.statuses.values() for s, n in k.items() if s >= 500)
    other = sum(n for k in recorder.statuses.values() for s, n in k.items() if 300 <= s < 500)
    checks[:0] = [
        ("no 5xx (or unanswered) request", fivexx == 0, f"{fivexx}"),
        ("no other non-2xx answer", other == 0, f"{other}"),
        ("no deadlock", deadlocks_after == deadlocks_before,
         f"pg_stat_database.deadlocks {deadlocks_before} -> {deadlocks_after}"),
        ("the week's run completed", run["status"] == "completed", run["status"]),
    ]  # fmt: skip
    overlap = ""
    if run["started"] and run["finished"]:
        run_start = run["started"].timestamp() - started
        run_end = run["finished"].timestamp() - started
        overlap = (
            f"distribution run: triggered at {triggered - started:.1f} s, ran "
            f"{run_start:.1f}..{run_end:.1f} s of the {elapsed:.1f} s of traffic"
        )

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(
        f"commit={commit} smoke={args.smoke} seconds={elapsed:.1f} workers={args.workers} "
        f"clients={args.clients} donors={donors} cities={cities}x{per_city}"
    )
    print(overlap)
    print(f"{'kind':<10} {'requests':>8} {'rps':>7} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for kind in KINDS:
        values = recorder.latencies.get(kind, [])
        print(
            f"{kind:<10} {len(values):>8} {len(values) / elapsed:>7.1f} "
            f"{1000 * percentile(values, 50):>8.1f} {1000 * percentile(values, 99):>8.1f}  "
            f"{dict(recorder.statuses.get(kind, {}))}"
        )
    total = sum(len(v) for v in recorder.latencies.values())
    print(f"{'all':<10} {total:>8} {total / elapsed:>7.1f}")
    for name, ok, detail in checks:
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    for line in recorder.errors[:10]:
        print("  error:", line)
    print(f"logs: {logs}")
    if not args.keep_db:
        drop_database(database_url)
    failed = [name for name, ok, _ in checks if not ok]
    print("load: all checks passed" if not failed else f"load: FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Webhook throughput: signed invoice.paid events per second through /stripe/webhook/,
beside two floors measured in the same run, through the same WSGI handler, middleware
and signed body, so the figure says what the webhook itself costs:

- the no-op floor: a view that reads the body and answers 200;
- the insert floor: a view that verifies the same Stripe signature and inserts one
  StripeEvent row in one transaction (the least any webhook that stores its events does).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hometown \\
        BENCH_REDIS_URL=redis://127.0.0.1:6379/3 python benchmarks/webhook.py --events 2000

The no-op floor, the insert floor and the new events are measured interleaved: in
--rounds (10) alternating slices of the events (a slice of each, then the next slice of
each), so a change in the machine's load during the run (other processes, autovacuum)
weighs on the webhook and on its floors alike; each figure is still its N requests over
their summed time, and the spread of the ratio per round is printed. Redeliveries are
measured after all the new events.

Requests go through Django's WSGIHandler (request_started/request_finished fire, so
CONN_MAX_AGE decides whether a connection is kept or opened per request, as under
gunicorn); the test client would keep one connection whatever the setting.

It creates a throwaway database (bench_<name>), runs the migrations, posts N distinct
signed invoice.paid events (each creates one Contribution), then the same N again
(redeliveries: stored, answered 200, no effect), checks the ledger holds exactly N rows,
prints a Markdown table row for BENCHMARKS.md and drops the database. Without
DATABASE_URL it runs on SQLite and says so (the published figure is PostgreSQL's).

The processing fee is read from the suite's fake Stripe on 127.0.0.1
(tests/subscriptions/fake_stripe.py), which knows every invoice posted (the invoice's
payment, then its balance transaction: two API calls; Stripe's own latency is not
modelled). With BENCH_REDIS_URL, Celery publishes to that Redis database for real (the
script's own: flushed before and after) and nothing consumes it; the script then reads
the pending fees itself and checks every one. INFO logging is off during the run (the
SDK's request lines, the money log); warnings and errors still show.
"""

import argparse
import io
import json
import logging
import os
import platform
import subprocess
import sys
import time
import types
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The test suite's hermetic environment (DEBUG off, no .env, no Stripe keys); the Stripe
# settings the webhook needs are set below, after Django has read its settings.
import tests.env_plugin  # noqa: E402, F401

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# The env plugin runs tasks in-process; with BENCH_REDIS_URL they are published for real.
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "")
os.environ["CELERY_BROKER_URL"] = BENCH_REDIS_URL
warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic needed

import django  # noqa: E402

django.setup()

import stripe  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django.views.decorators.http import require_POST  # noqa: E402

SECRET = "whsec_benchmark_0123456789"  # noqa: S105 - a throwaway, signs local requests


@csrf_exempt
@require_POST
def noop(request):
    request.body  # noqa: B018 - read the body, as the webhook does
    return HttpResponse("ok")


@csrf_exempt
@require_POST
def insert_floor(request):
    """The same signature check as the webhook, then one StripeEvent row in one
    transaction: what any webhook that stores its events once must at least do."""
    from subscriptions.models import StripeEvent
    from subscriptions.stripe_objects import timestamp
    from subscriptions.webhooks import verify_event

    data = verify_event(request.body, request.headers.get("Stripe-Signature"))
    with transaction.atomic():
        StripeEvent.objects.create(
            stripe_event_id=data["id"],
            type=data["type"],
            created=timestamp(data["created"], "created"),
            livemode=data["livemode"],
            payload=data,
        )
    return JsonResponse({"received": True})


def install_urls():
    module = types.ModuleType("bench_webhook_urls")
    module.urlpatterns = [
        path("bench/noop/", noop),
        path("bench/insert/", insert_floor),
        path("", include("config.urls")),
    ]
    sys.modules["bench_webhook_urls"] = module
    settings.ROOT_URLCONF = "bench_webhook_urls"


def signed_events(n: int, subscription_id: str, tag: str, fake) -> list[str]:
    """n invoice.paid events for the subscription (signed when posted: a slow run would
    otherwise outlast the signature's 5 minutes); the fake Stripe learns each invoice,
    with its payment and a balance transaction (a $0.59 fee)."""
    now = int(time.time())
    out = []
    for i in range(n):
        invoice = fake.add_invoice(
            id=f"in_bench_{tag}_{i:07d}",
            subscription=subscription_id,
            customer="cus_bench",
            amount_paid=1000,
            paid_at=now - 60,
            payment={"fee": 59},
        )
        event = {
            "id": f"evt_bench_{tag}_{i:07d}",
            "object": "event",
            "type": "invoice.paid",
            "created": now,
            "livemode": False,
            "data": {"object": invoice},
        }
        out.append(json.dumps(event))
    return out


class Poster:
    """POSTs through Django's WSGI handler, as a WSGI server would call it: the request
    signals fire and the response is closed (request_finished: connections older than
    CONN_MAX_AGE, or every one with 0, are closed there)."""

    def __init__(self):
        self.handler = WSGIHandler()

    def post(self, url: str, body: bytes, header: str) -> tuple[int, bytes]:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": url,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "localhost",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_STRIPE_SIGNATURE": header,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        status = []
        response = self.handler(environ, lambda s, headers, exc_info=None: status.append(s))
        try:
            content = b"".join(response)
        finally:
            response.close()
        return int(status[0].split(" ", 1)[0]), content


def timed(poster: Poster, url: str, deliveries, expect: int) -> float:
    """Requests per second: only the posts are timed, not the signing before each."""
    return len(deliveries) / _elapsed(poster, url, deliveries, expect)


def _elapsed(poster: Poster, url: str, deliveries, expect: int) -> float:
    elapsed = 0.0
    for body in deliveries:
        header = stripe.WebhookSignature.generate_signature_header(body, SECRET)
        start = time.perf_counter()
        status, content = poster.post(url, body.encode(), header)
        elapsed += time.perf_counter() - start
        if status != expect:
            raise SystemExit(f"{url} answered {status}: {content[:200]}")
    return elapsed


def interleaved(poster: Poster, runs: list[tuple[str, list[str]]], rounds: int):
    """Requests per second of each (url, deliveries), measured in `rounds` alternating
    slices (a slice of the first, of the second, ..., then the next slice of each), so
    that a change in the machine's load during the run weighs on every measurement alike
    instead of on whichever ran at that moment. Returns the rates and, per round, each
    measurement's rate (the spread says how steady the run was)."""
    elapsed = [0.0] * len(runs)
    per_round = []
    for r in range(rounds):
        rates = []
        for i, (url, deliveries) in enumerate(runs):
            part = deliveries[r::rounds]
            seconds = _elapsed(poster, url, part, 200)
            elapsed[i] += seconds
            rates.append(len(part) / seconds)
        per_round.append(rates)
    return [len(d) / e for (_, d), e in zip(runs, elapsed, strict=True)], per_round


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
            text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def flush_redis() -> None:
    if BENCH_REDIS_URL:
        import redis

        redis.Redis.from_url(BENCH_REDIS_URL).flushdb()


def read_fees_off_the_request_path() -> tuple[int, float]:
    """What the worker does with the queued read (subscriptions.tasks.read_pending_fees),
    done here in-process: (fees read, seconds). Without a broker the webhook already
    read them in-process on commit, and this finds none."""
    from subscriptions.fee_reads import read_pending_fees

    start = time.perf_counter()
    report = read_pending_fees()
    seconds = time.perf_counter() - start
    if report.refused or report.not_settled:
        raise SystemExit(f"fee read: {report.as_dict()}")
    return report.read, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="events per measurement")
    parser.add_argument(
        "--rounds", type=int, default=10, help="alternating slices of the three first measurements"
    )
    args = parser.parse_args()
    if args.events < 1 or args.rounds < 1:
        parser.error("--events and --rounds must be at least 1")

    from tests.subscriptions.fake_stripe import FakeStripe

    fake = FakeStripe().start()
    settings.STRIPE_SECRET_KEY = "sk_test_benchmark"  # noqa: S105 - sent only to the fake
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.DEMO_BILLING = False
    install_urls()
    setup_test_environment()
    # The SDK's request lines and the money log would be a few thousand lines of output;
    # warnings and errors still show.
    logging.disable(logging.INFO)
    flush_redis()
    vendor = connection.vendor
    connection.settings_dict.setdefault("TEST", {})["NAME"] = (
        f"bench_{connection.settings_dict['NAME']}" if vendor == "postgresql" else None
    )
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from subscriptions.models import Contribution
        from tests.factories import SubscriptionFactory, UserFactory

        sub = SubscriptionFactory(
            user=UserFactory(email="bench@example.org"),
            stripe_subscription_id="sub_bench",
            stripe_customer_id="cus_bench",
            amount_cents=1000,
        )
        connection.close()  # from here on, only the requests open connections
        poster = Poster()
        warmup = signed_events(20, "sub_bench", "warm", fake)
        timed(poster, "/bench/noop/", warmup, 200)
        timed(poster, "/bench/insert/", signed_events(20, "sub_bench", "warmfloor", fake), 200)
        timed(poster, "/stripe/webhook/", warmup, 200)

        deliveries = signed_events(args.events, "sub_bench", "run", fake)
        floor_deliveries = signed_events(args.events, "sub_bench", "floor", fake)
        (noop_floor, insert_floor_rate, fresh), per_round = interleaved(
            poster,
            [
                ("/bench/noop/", deliveries),
                ("/bench/insert/", floor_deliveries),
                ("/stripe/webhook/", deliveries),
            ],
            rounds=min(args.rounds, args.events),
        )
        again = timed(poster, "/stripe/webhook/", deliveries, 200)
        fees_read, fee_seconds = read_fees_off_the_request_path()
        recorded = Contribution.objects.filter(subscription=sub).count()
        if recorded != args.events + len(warmup):
            raise SystemExit(f"ledger holds {recorded} rows, expected {args.events + 20}")
        unread = Contribution.objects.filter(subscription=sub).exclude(fee_cents=59).count()
        if unread:
            raise SystemExit(f"{unread} contributions without the fee Stripe reported")
        conn_max_age = connection.settings_dict.get("CONN_MAX_AGE")
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        fake.stop()
        flush_redis()

    print(
        f"database: {vendor} (CONN_MAX_AGE={conn_max_age}); events: {args.events}; "
        f"Celery: {'published to Redis' if BENCH_REDIS_URL else 'in-process (no broker)'}; "
        f"machine: {machine()}; commit {commit()}; load average {os.getloadavg()[0]:.2f}"
    )
    print(
        "| no-op view (req/s) | insert floor (req/s) | invoice.paid, new (events/s) "
        "| new / insert floor | redelivered (events/s) | fees read later (fees/s) |"
    )
    print("|---|---|---|---|---|---|")
    later = f"{fees_read / fee_seconds:,.0f}" if fees_read and fee_seconds else "-"
    print(
        f"| {noop_floor:,.0f} | {insert_floor_rate:,.0f} | {fresh:,.0f} "
        f"| {fresh / insert_floor_rate:.0%} | {again:,.0f} | {later} |"
    )
    ratios = sorted(rates[2] / rates[1] for rates in per_round)
    print(
        f"new / insert floor per round ({len(ratios)} rounds of ~{args.events // len(ratios)} "
        f"events each): min {ratios[0]:.0%}, median {ratios[len(ratios) // 2]:.0%}, "
        f"max {ratios[-1]:.0%}"
    )
    if vendor != "postgresql":
        print("note: not PostgreSQL; set DATABASE_URL for the published figure.")


if __name__ == "__main__":
    main()

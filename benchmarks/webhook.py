"""Webhook throughput: signed invoice.paid events per second through /stripe/webhook/,
beside the floor of a no-op view measured in the same run (same client, same
middleware, same body), so the figure says what the webhook itself costs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hometown \\
        python benchmarks/webhook.py --events 2000

It creates a throwaway database (bench_<name>), runs the migrations, posts N distinct
signed invoice.paid events (each creates one Contribution), then the same N again
(redeliveries: stored, answered 200, no effect), checks the ledger holds exactly N rows,
prints a Markdown table row for BENCHMARKS.md and drops the database. Without
DATABASE_URL it runs on SQLite and says so (the published figure is PostgreSQL's).

Since issue 13 a new invoice.paid reads its processing fee from Stripe (the invoice's
payment, then its balance transaction: two API calls). Here they go to the suite's fake
Stripe on 127.0.0.1 (tests/subscriptions/fake_stripe.py), which knows every invoice
posted, so the figure includes two local HTTP round trips per new event (Stripe's own
latency is not modelled). Redeliveries make no call.
"""

import argparse
import json
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
warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic needed

import django  # noqa: E402

django.setup()

import stripe  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
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


def install_urls():
    module = types.ModuleType("bench_urls")
    module.urlpatterns = [path("bench/noop/", noop), path("", include("config.urls"))]
    sys.modules["bench_urls"] = module
    settings.ROOT_URLCONF = "bench_urls"


def signed_events(n: int, subscription_id: str, tag: str, fake) -> list[tuple[str, str]]:
    """n signed invoice.paid events for the subscription; the fake Stripe learns each
    invoice, with its payment and a balance transaction (a $0.59 fee)."""
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
        body = json.dumps(event)
        out.append((body, stripe.WebhookSignature.generate_signature_header(body, SECRET)))
    return out


def timed(client: Client, url: str, deliveries, expect: int) -> float:
    start = time.perf_counter()
    for body, header in deliveries:
        response = client.post(
            url, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )
        if response.status_code != expect:
            raise SystemExit(f"{url} answered {response.status_code}: {response.content[:200]}")
    return len(deliveries) / (time.perf_counter() - start)


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="events per measurement")
    args = parser.parse_args()
    if args.events < 1:
        parser.error("--events must be at least 1")

    from tests.subscriptions.fake_stripe import FakeStripe

    fake = FakeStripe().start()
    settings.STRIPE_SECRET_KEY = "sk_test_benchmark"  # noqa: S105 - sent only to the fake
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.DEMO_BILLING = False
    install_urls()
    setup_test_environment()
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
        client = Client()
        warmup = signed_events(20, "sub_bench", "warm", fake)
        timed(client, "/bench/noop/", warmup, 200)
        timed(client, "/stripe/webhook/", warmup, 200)

        deliveries = signed_events(args.events, "sub_bench", "run", fake)
        floor = timed(client, "/bench/noop/", deliveries, 200)
        fresh = timed(client, "/stripe/webhook/", deliveries, 200)
        again = timed(client, "/stripe/webhook/", deliveries, 200)
        recorded = Contribution.objects.filter(subscription=sub).count()
        if recorded != args.events + len(warmup):
            raise SystemExit(f"ledger holds {recorded} rows, expected {args.events + 20}")
        unread = Contribution.objects.filter(subscription=sub).exclude(fee_cents=59).count()
        if unread:
            raise SystemExit(f"{unread} contributions without the fee Stripe reported")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        fake.stop()

    print(
        f"database: {vendor} (CONN_MAX_AGE={connection.settings_dict.get('CONN_MAX_AGE')}); "
        f"events: {args.events}; machine: {machine()}; commit {commit()}"
    )
    print("| no-op view (req/s) | invoice.paid, new (events/s) | redelivered (events/s) |")
    print("|---|---|---|")
    print(f"| {floor:,.0f} | {fresh:,.0f} | {again:,.0f} |")
    if vendor != "postgresql":
        print("note: not PostgreSQL; set DATABASE_URL for the published figure.")


if __name__ == "__main__":
    main()

"""Benchmark of run_payouts on PostgreSQL (README, BENCHMARKS.md).

    BENCH_DATABASE_URL=postgres://.../hometown_bp python benchmarks/payouts.py \
        [--subscriptions 100000] [--weeks 4] [--charities 500] [--repeats 3] [--smoke]

It recreates the database named by BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/hometown_bp), migrates it, and writes a month of
ledger with COPY: N subscriptions x W weeks of Distribution rows, each subscription
giving to one charity of its city each week (50 cities of 10 charities at the default
size), each (city, week) pass stamped with one created_at as the engine writes them:
N x W x P rows, P charities per subscription and week (--rows-per-sub, default 3:
1,200,000 rows at the default size).

Then, alternating, R times:
- the floor: `SELECT charity_id, SUM(amount_cents) ... WHERE week_start <= last day
  GROUP BY charity_id` over the same rows;
- run_payouts(period): every charity is paid by hand (no Connect accounts, so no HTTP is
  timed; the transfer path is covered by tests/payouts/test_faults.py), which writes a
  Payout and its slices per charity; the payouts are then deleted for the next repeat.

The last line is `ratio_to_floor=<x.xx>`: the best run_payouts / the best floor (goal:
at most 3). Smoke size for CI: --smoke (2,000 subscriptions, 20 charities, 1 repeat).
"""

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("READ_DOT_ENV_FILE", "0")
os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-0123456789-abcdefghijklmn")
os.environ.setdefault("ALLOWED_HOSTS", "localhost")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["STRIPE_SECRET_KEY"] = ""
os.environ["DEMO_BILLING"] = "1"
os.environ["CELERY_BROKER_URL"] = ""

from common import recreate_database  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/hometown_bp"
PERIOD = dt.date(2026, 10, 1)
WEEKS = [dt.date(2026, 10, 5) + dt.timedelta(days=7 * i) for i in range(5)]


def log(message: str) -> None:
    print(message, flush=True)


def populate(*, subscriptions: int, weeks: int, charities: int, rows_per_sub: int) -> int:
    from django.db import connection, transaction
    from django.utils import timezone

    from charities.models import Charity

    per_city = 10 if charities >= 10 else charities
    cities = max(1, charities // per_city)
    now = timezone.now()
    with transaction.atomic():
        made = Charity.objects.bulk_create(
            Charity(
                name=f"Charity {i:04d}", city=f"Benchville {i // per_city:03d}", state="VT",
                verification_status="approved", approved_at=now, category="human_services",
            )
            for i in range(cities * per_city)
        )  # fmt: skip
        ids = [c.pk for c in made]
        with connection.cursor() as cur:
            with cur.copy(
                "COPY accounts_user (password, is_superuser, email, name, city, state, "
                "zip_code, wants_report_emails, is_staff, is_active, created_at, updated_at) "
                "FROM STDIN"
            ) as copy:
                for i in range(subscriptions):
                    copy.write_row(("!", False, f"d{i}@bench.example", "", "Benchville", "VT",
                                    "", True, False, True, now, now))  # fmt: skip
            cur.execute("SELECT id FROM accounts_user ORDER BY id")
            users = [r[0] for r in cur.fetchall()]
            with cur.copy(
                "COPY subscriptions_subscription (user_id, amount_cents, status, "
                "stripe_subscription_id, stripe_customer_id, stripe_status, start_date, "
                "created_at, updated_at, covers_fees) FROM STDIN"
            ) as copy:
                for i, uid in enumerate(users):
                    copy.write_row((uid, 500 + (i * 37) % 9_500, "active", f"sub_b_{i}", "",
                                    "active", WEEKS[0], now, now, False))  # fmt: skip
            cur.execute("SELECT id, amount_cents FROM subscriptions_subscription ORDER BY id")
            subs = cur.fetchall()
            rows = 0
            with cur.copy(
                "COPY distributions_distribution (subscription_id, charity_id, amount_cents, "
                "distribution_date, week_start, reason, created_at) FROM STDIN"
            ) as copy:
                for w, week in enumerate(WEEKS[:weeks]):
                    monday = week + dt.timedelta(days=7)
                    for city in range(cities):
                        # One ledger write per (city, week), as the engine does.
                        stamp = dt.datetime.combine(monday, dt.time(11), tzinfo=dt.UTC) + (
                            dt.timedelta(seconds=city)
                        )
                        for s in range(city, len(subs), cities):
                            sub_id, amount = subs[s]
                            for k in range(rows_per_sub):
                                charity = ids[city * per_city + (s // cities + w + k) % per_city]
                                row = (sub_id, charity, amount // rows_per_sub + 1, monday,
                                       week, "Bench allocation.", stamp)  # fmt: skip
                                copy.write_row(row)
                                rows += 1
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return rows


def floor(last_day) -> tuple[float, int]:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT charity_id, SUM(amount_cents) FROM distributions_distribution "
            "WHERE week_start <= %s GROUP BY charity_id",
            [last_day],
        )
        total = sum(r[1] for r in cur.fetchall())
    return time.perf_counter() - started, total


def reset_payouts() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("DELETE FROM payouts_payoutslice")
        cur.execute("DELETE FROM payouts_payout")
        cur.execute("VACUUM ANALYZE payouts_payoutslice")
        cur.execute("VACUUM ANALYZE payouts_payout")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=4, choices=range(1, 5))
    parser.add_argument("--charities", type=int, default=500)
    parser.add_argument("--rows-per-sub", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.subscriptions, args.charities, args.repeats = 2_000, 20, 1
    if min(args.subscriptions, args.charities, args.repeats, args.rows_per_sub) < 1:
        parser.error("sizes must be positive")

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    recreate_database(url)
    os.environ["DATABASE_URL"] = url

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from core.months import period_last_day
    from payouts.models import Payout
    from payouts.services import run_payouts

    if connection.vendor != "postgresql":
        print("benchmarks/payouts.py needs PostgreSQL", file=sys.stderr)
        return 2
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
        check=False,
    ).stdout.strip()  # fmt: skip
    log(f"commit {commit or '?'}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    rows = populate(subscriptions=args.subscriptions, weeks=args.weeks,
                    charities=args.charities, rows_per_sub=args.rows_per_sub)  # fmt: skip
    log(
        f"set-up {time.perf_counter() - started:.1f} s: {rows:,} Distribution rows, "
        f"{args.subscriptions:,} subscriptions x {args.weeks} weeks, {args.charities} charities"
    )

    last_day = period_last_day(PERIOD)
    floors, runs = [], []
    for i in range(args.repeats):
        floor_s, floor_total = floor(last_day)
        floors.append(floor_s)
        started = time.perf_counter()
        result = run_payouts(PERIOD, now=timezone.now())
        run_s = time.perf_counter() - started
        runs.append(run_s)
        paid = sum(Payout.objects.values_list("amount_cents", flat=True))
        assert paid == floor_total == result.created_cents, (paid, floor_total)
        log(
            f"repeat {i + 1}: floor {floor_s:.3f} s; run_payouts {run_s:.3f} s "
            f"({result.created_count} payouts, {result.created_cents:,} cents = floor total)"
        )
        reset_payouts()
    log(f"best floor {min(floors):.3f} s; best run_payouts {min(runs):.3f} s")
    log(f"ratio_to_floor={min(runs) / min(floors):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

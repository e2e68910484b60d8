"""Benchmark of the weekly engine on PostgreSQL (README, BENCHMARKS.md).

    DATABASE_URL=postgres://... python benchmarks/distribution.py \
        [--subscriptions 100000] [--cities 50] [--charities-per-city 10] [--rounds 3] \
        [--skip-reports] [--keep-db]

It creates a throwaway database (<name of DATABASE_URL's database>_bench, migrated), fills
it with N subscriptions with one contribution each, spread over C cities of K charities
with current needs, then times, in one process:

1. distribute_funds(week): N x K Distribution rows (1,000,000 at the default size);
2. generate_reports(week) for every donor (emails are a separate step, not timed);
3. the floor: a plain psycopg COPY of the very same rows into the same (emptied) table,
   read back from the engine's output, so the floor has the same bytes and indexes.

Each timed step starts on a quiet database (settle: no autovacuum worker busy on it, then
a CHECKPOINT), so none pays for the writes of the step before it.

Peak RSS is printed after each step: for steps 1 and 2 the step's own peak (the
high-water mark is reset before each, /proc/self/clear_refs, so set-up's memory is not
counted) and, for reports, its growth over the RSS it started from. One big city:
--subscriptions 300000 --cities 1 (3M rows; issue 17 asks at most 1.5x the floor and
600 MB); --skip-reports leaves generate_reports out. The whole is done
--rounds times (3 unless told), each round on a new database with its own floor: on a
shared 2-CPU machine one run's figures swing by a third, so a round's ratio is taken from
its own run and floor, every round's is printed, and the last lines are the medians:
`reports_ratio=<x.xx>`: generate_reports time / distribution time (issue 17: at most 0.5),
and `ratio_to_copy=<x.xx>`: distribution time / COPY time (issue 17: at most 1.34 for the
1M-row world). Each database is dropped after its round (--keep-db keeps the last one).
Demo billing is off (every subscription already has its contribution).

Smoke size for CI: --subscriptions 2000 --cities 5 --charities-per-city 4 --rounds 1
"""

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A benchmark is not a developer's server: no .env, production-like settings.
os.environ.setdefault("READ_DOT_ENV_FILE", "0")
os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-0123456789-abcdefghijklmn")
os.environ.setdefault("ALLOWED_HOSTS", "localhost")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["STRIPE_SECRET_KEY"] = ""
os.environ["DEMO_BILLING"] = "1"  # DEBUG is off: no Stripe must be asked for by name
os.environ["CELERY_BROKER_URL"] = ""
os.environ["EXPLAINER"] = "template"

STATES = ["VT", "KY", "IL", "MO", "OH", "OR", "MA", "TX", "CA", "NY"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def reset_peak_rss() -> bool:
    """Start a new peak (Linux >= 4.0: "5" to clear_refs resets the high-water mark that
    ru_maxrss reads), so a step's own peak is not hidden behind an earlier step's."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def log(message: str) -> None:
    print(message, flush=True)


def copy_rows(cursor, table: str, columns: list[str], rows) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def populate(*, subscriptions: int, cities: int, per_city: int, week: dt.date) -> None:
    """Streamed straight into the tables with COPY, so set-up memory stays small."""
    from django.db import connection, transaction
    from django.utils import timezone

    from charities.models import Charity
    from core.weeks import week_bounds
    from needs.models import Need

    now = timezone.now()
    places = [(f"Benchville {c:03d}", STATES[c % len(STATES)]) for c in range(cities)]
    with transaction.atomic():
        charities = Charity.objects.bulk_create(
            Charity(
                name=f"Charity {c:03d}-{k:02d}",
                city=city,
                state=state,
                verification_status="approved",
                approved_at=now,
                category="human_services",
            )
            for c, (city, state) in enumerate(places)
            for k in range(per_city)
        )
        Need.objects.bulk_create(
            Need(
                charity=charity,
                category="food",
                urgency_score=10 + (i * 37) % 91,
                # Gaps from $1,000 to about $100,000: some cities fill a gap, most do not.
                funding_gap_cents=100_000 + (i * 7_919_113) % 10_000_000,
                last_updated=now - dt.timedelta(days=1),
                gap_set_at=now - dt.timedelta(days=1),
            )
            for i, charity in enumerate(charities)
        )
        with connection.cursor() as cur:
            copy_rows(
                cur,
                "accounts_user",
                ["password", "is_superuser", "email", "name", "city", "state", "zip_code",
                 "wants_report_emails", "is_staff", "is_active", "created_at", "updated_at"],
                (
                    ("!", False, f"donor{i}@bench.example", f"Donor {i}", *places[i % cities],
                     "", True, False, True, now, now)
                    for i in range(subscriptions)
                ),
            )  # fmt: skip
            cur.execute("SELECT id FROM accounts_user ORDER BY id")
            user_ids = [r[0] for r in cur.fetchall()]
            copy_rows(
                cur,
                "subscriptions_subscription",
                ["user_id", "amount_cents", "status", "stripe_subscription_id",
                 "stripe_customer_id", "stripe_status", "start_date", "covers_fees",
                 "created_at", "updated_at"],
                (
                    (uid, 500 + (i * 37) % 9_500, "active", f"sub_bench_{i}", "", "active",
                     week, False, now, now)
                    for i, uid in enumerate(user_ids)
                ),
            )  # fmt: skip
            del user_ids
            cur.execute("SELECT id, amount_cents FROM subscriptions_subscription ORDER BY id")
            subs = cur.fetchall()
            paid_at = week_bounds(week)[0] + dt.timedelta(days=2, hours=9)
            # Stripe's US card fee (2.9% + 30c) on each payment: the engine pools the net.
            copy_rows(
                cur,
                "subscriptions_contribution",
                ["subscription_id", "amount_cents", "fee_cents", "net_cents", "fee_source",
                 "stripe_balance_transaction_id", "paid_at", "stripe_invoice_id",
                 "created_at"],
                ((sid, amount, fee, amount - fee, "stripe", f"txn_bench_{sid}", paid_at,
                  f"in_bench_{sid}", now)
                 for sid, amount in subs for fee in [(amount * 29 + 500) // 1000 + 30]),
            )  # fmt: skip
            del subs
    with connection.cursor() as cur:
        cur.execute("ANALYZE")


COLUMNS = ("subscription_id, charity_id, run_id, amount_cents, distribution_date, "
           "week_start, reason, created_at")  # fmt: skip


def settle(*, limit_s: float = 180.0) -> float:
    """Start a timed step on a quiet database: wait while an autovacuum worker works on
    it (the writes of set-up or of the step before start them, and they would take the
    CPU and disk from whichever step they fall in), then CHECKPOINT. Answers the wait."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cur:
        while time.perf_counter() - started < limit_s:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                "'autovacuum worker' AND datname = current_database()"
            )
            if not cur.fetchone()[0]:
                break
            time.sleep(0.5)
        cur.execute("CHECKPOINT")
    waited = time.perf_counter() - started
    if waited > 1:
        log(f"(waited {waited:.0f} s for autovacuum to finish before the step)")
    return waited


def copy_floor(table: str) -> tuple[float, int]:
    """Time a plain psycopg COPY of the engine's own rows into the emptied table."""
    from django.db import connection, transaction

    with tempfile.TemporaryFile() as spool:
        with connection.cursor() as cur:
            with cur.copy(f"COPY (SELECT {COLUMNS} FROM {table}) TO STDOUT") as copy:  # noqa: S608
                for block in copy:
                    spool.write(block)
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            expected = cur.fetchone()[0]
            cur.execute(f"TRUNCATE {table}")
        settle()
        spool.seek(0)
        started = time.perf_counter()
        with (
            transaction.atomic(),
            connection.cursor() as cur,
            cur.copy(f"COPY {table} ({COLUMNS}) FROM STDIN") as copy,
        ):
            while block := spool.read(1 << 20):
                copy.write(block)
        elapsed = time.perf_counter() - started
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
        assert cur.fetchone()[0] == expected
    return elapsed, expected


def one_round(args, original: str, *, keep: bool) -> dict:
    """Create and fill a database, time distribute_funds (and generate_reports) and the
    COPY floor on it, drop it (unless keep); answer the figures."""
    from django.db import connection
    from django.utils import timezone

    from core.weeks import last_completed_week
    from distributions.models import Distribution
    from portfolio.services import distribute_funds
    from reports.services import generate_reports

    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    log(f"database {db_name} created and migrated")
    try:
        week = last_completed_week(timezone.now())
        started = time.perf_counter()
        populate(subscriptions=args.subscriptions, cities=args.cities,
                 per_city=args.charities_per_city, week=week)  # fmt: skip
        log(f"set-up {time.perf_counter() - started:.1f} s; peak RSS {peak_rss_mb():.0f} MB")

        overall_peak = peak_rss_mb()
        settle()
        own_peak = reset_peak_rss()
        started = time.perf_counter()
        run = distribute_funds(week)
        distribution_s = time.perf_counter() - started
        distribution_rss = peak_rss_mb()
        overall_peak = max(overall_peak, distribution_rss)
        rows = Distribution.objects.count()
        log(f"distribute_funds: {distribution_s:.2f} s, {rows:,} rows, run {run.status}, "
            f"{run.distributed_cents:,} cents given, {run.held_cents:,} held; "
            f"peak RSS of the step {distribution_rss:.0f} MB"
            f"{'' if own_peak else ' (the process peak)'}")  # fmt: skip

        reports_s = None
        if args.skip_reports:
            log("generate_reports: skipped (--skip-reports)")
        else:
            # The reports step's own peak RSS (issue 17: flat in the number of donors).
            settle()
            reports_from = rss_mb()
            own_peak = reset_peak_rss()
            started = time.perf_counter()
            reports = generate_reports(week)
            reports_s = time.perf_counter() - started
            reports_peak = peak_rss_mb()
            overall_peak = max(overall_peak, reports_peak)
            own = (f"of the step {reports_peak:.0f} MB, {reports_peak - reports_from:+.0f} MB "
                   f"over its start ({reports_from:.0f} MB)")  # fmt: skip
            log(f"generate_reports: {reports_s:.2f} s, {reports:,} reports "
                f"({reports_s / distribution_s:.2f}x distribution; goal <= 0.5); peak RSS "
                f"{own if own_peak else f'{reports_peak:.0f} MB'}")  # fmt: skip

        copy_s, copied = copy_floor(Distribution._meta.db_table)
        log(f"psycopg COPY floor: {copy_s:.2f} s for {copied:,} rows")
        log(
            f"ratio {distribution_s:.2f} s / {copy_s:.2f} s = {distribution_s / copy_s:.2f}"
            + ("" if reports_s is None else f"; reports {reports_s / distribution_s:.2f}")
        )
        return {
            "ratio_to_copy": distribution_s / copy_s,
            "reports_ratio": None if reports_s is None else reports_s / distribution_s,
            "distribution_rss": distribution_rss,
            "peak_rss": max(overall_peak, peak_rss_mb()),
        }
    finally:
        if keep:
            print(f"kept database {db_name}", file=sys.stderr)
        else:
            connection.creation.destroy_test_db(original, verbosity=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--cities", type=int, default=50)
    parser.add_argument("--charities-per-city", type=int, default=10)
    parser.add_argument("--keep-db", action="store_true", help="Keep the last round's database.")
    parser.add_argument(
        "--rounds", type=int, default=3,
        help="Rounds, each on a new database; the ratios printed last are their medians.",
    )  # fmt: skip
    parser.add_argument(
        "--skip-reports", action="store_true", help="The distribution and its floor only."
    )
    args = parser.parse_args()
    if min(args.subscriptions, args.cities, args.charities_per_city, args.rounds) < 1:
        parser.error(
            "--subscriptions, --cities, --charities-per-city and --rounds must be positive"
        )

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql":
        print("benchmarks/distribution.py needs PostgreSQL: set DATABASE_URL=postgres://...",
              file=sys.stderr)  # fmt: skip
        return 2
    settings.DEMO_BILLING = False

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
        check=False,
    ).stdout.strip()  # fmt: skip
    log(f"commit {commit or '?'}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    log(f"size: {args.subscriptions:,} subscriptions, {args.cities} cities x "
        f"{args.charities_per_city} charities")  # fmt: skip

    original = connection.settings_dict["NAME"]
    # Its own database, never the one pytest uses (test_<name>).
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{original}_bench"
    results = []
    for number in range(1, args.rounds + 1):
        if args.rounds > 1:
            log(f"round {number} of {args.rounds}")
        keep = args.keep_db and number == args.rounds
        results.append(one_round(args, original, keep=keep))
    if args.rounds > 1:
        each = ", ".join(f"{r['ratio_to_copy']:.2f}" for r in results)
        log(f"{args.rounds} rounds, each on a new database: distribution / COPY {each}")
        if results[0]["reports_ratio"] is not None:
            each = ", ".join(f"{r['reports_ratio']:.2f}" for r in results)
            log(f"reports / distribution {each}")
        log(f"the medians of the {args.rounds} rounds (each ratio from its own round):")
    distribution_rss = max(r["distribution_rss"] for r in results)
    log(f"distribute_funds peak RSS {distribution_rss:.0f} MB; "
        f"peak RSS {max(r['peak_rss'] for r in results):.0f} MB")  # fmt: skip
    if results[0]["reports_ratio"] is not None:
        log(f"reports_ratio={statistics.median(r['reports_ratio'] for r in results):.2f}")
    log(f"ratio_to_copy={statistics.median(r['ratio_to_copy'] for r in results):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

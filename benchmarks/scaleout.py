"""Scale-out check: the same week run through Celery with 1 and with 2 worker processes
(README "Scaling out", BENCHMARKS.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hometown \\
    SCALE_REDIS_URL=redis://127.0.0.1:6379/11 python benchmarks/scaleout.py \\
        [--subscriptions 100000] [--cities 50] [--charities-per-city 10] [--workers 1,2]

It builds one world (`<DATABASE_URL's database>_scale`, migrated and filled with COPY as
benchmarks/distribution.py does: N subscriptions with last week's payment over C cities
of K charities), then for each worker count W makes a fresh copy of it
(CREATE DATABASE ... TEMPLATE, so every run starts from the very same bytes), flushes the
Redis database of SCALE_REDIS_URL (broker and results: give it one of its own), starts one
Celery worker with W prefork processes on that copy and sends
`portfolio.tasks.weekly_distribution` for the week, exactly as beat does. The run fans out
one task per city (portfolio.tasks), then the reports in chunks of donors (reports.tasks).

It times, from the moment the task is sent:
- distribution: until the run is closed (DistributionRun.finished_at);
- reports: until every donor of the week has their report row.

Then it checks each copy, and exits non-zero unless all hold: the run completed and every
city's line completed; every contribution of the week distributed exactly once; the sum
of the ledger equals the sum of the contributions' net; one report per donor; and the
ledger of every worker count is byte-for-byte the same as the first (an md5 over all rows
in key order): more processes change the speed, never who gets what. The last lines are
`speedup_distribution=<x.xx>` and `speedup_reports=<x.xx>` (time with the first worker
count / time with the last). On a 2-CPU machine the database shares the CPUs with the
workers, so the speed-up is expected below 2x; the point is that it is above 1x.

Emails are not timed (the dummy backend; the worker is stopped once the reports are
written). The databases are dropped at the end unless --keep-db.

Smoke size for CI: --smoke (2,000 subscriptions, 4 cities x 3 charities).
"""

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import drop_database, recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/hometown"
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"


def worker_env(database_url: str, redis_url: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "READ_DOT_ENV_FILE": "0",
        "DEBUG": "0",
        "SECRET_KEY": "scaleout-only-secret-key-0123456789abcdefghijklmnop",
        "ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": database_url,
        "CACHE_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "STRIPE_SECRET_KEY": "",
        "STRIPE_WEBHOOK_SECRET": "",
        "STRIPE_API_BASE": "http://127.0.0.1:9",  # a closed local port: never the network
        # No Stripe key, so demo billing; it records nothing here, since every
        # subscription already has last week's payment.
        "DEMO_BILLING": "1",
        "EMAIL_URL": "dummymail://",
        "EXPLAINER": "template",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def clone_database(template_url: str, url: str) -> None:
    import psycopg

    template, name = template_url.rsplit("/", 1)[1], url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def use_database(url: str) -> None:
    """Point this process's Django connection at another database of the same server."""
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = url.rsplit("/", 1)[1]


def ledger_digest(week: dt.date) -> tuple[str, int, int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT md5(string_agg(concat_ws(':', subscription_id, charity_id, amount_cents,"
            " reason), '|' ORDER BY subscription_id, charity_id)), count(*),"
            " coalesce(sum(amount_cents), 0)"
            " FROM distributions_distribution WHERE week_start = %s",
            [week],
        )
        digest, rows, cents = cur.fetchone()
    return digest or "", rows, cents


def wait_until(predicate, timeout: float, what: str) -> float:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return time.time()
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def run_once(*, workers: int, week: dt.date, database_url: str, redis_url: str, logs: Path):
    """One week through a real Celery worker with `workers` processes; returns the
    timings and the checks of that copy."""
    import redis
    from django.db.models import Sum

    from config.celery import app as celery_app
    from distributions.models import DistributionRun, RunCity
    from reports.models import Report
    from subscriptions.models import Contribution

    redis.Redis.from_url(redis_url).flushdb()
    use_database(database_url)
    # A fresh world: every contribution in it is last week's payment.
    donors = Contribution.objects.values("subscription__user").distinct().count()
    bin_dir = Path(sys.executable).parent
    worker = subprocess.Popen(
        [str(bin_dir / "celery"), "-A", "config", "worker", "-l", "warning",
         "-c", str(workers), "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"scale{workers}-{os.getpid()}@%h"],
        cwd=ROOT, env=worker_env(database_url, redis_url),
        stdout=(logs / f"celery-{workers}.log").open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_until(lambda: celery_app.control.ping(timeout=1), 60, "the worker to answer")
        sent = time.time()
        celery_app.send_task("portfolio.tasks.weekly_distribution", args=[week.isoformat()])
        wait_until(
            lambda: DistributionRun.objects.filter(
                week_start=week, finished_at__isnull=False
            ).exists(),
            3600,
            "the run to close",
        )
        run = DistributionRun.objects.get(week_start=week)
        distribution_s = run.finished_at.timestamp() - sent
        done = wait_until(
            lambda: Report.objects.filter(week_start=week).count() >= donors,
            3600,
            "every donor's report",
        )
        reports_s = done - sent
    finally:
        worker.send_signal(signal.SIGQUIT)  # the emails that follow are not measured
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()

    week_contributions = Contribution.objects.all()
    digest, rows, cents = ledger_digest(week)
    net = week_contributions.aggregate(s=Sum("net_cents"))["s"] or 0
    cities = RunCity.objects.filter(run=run)
    checks = [
        ("run completed", run.status == DistributionRun.Status.COMPLETED, run.status),
        (
            "every city distributed",
            cities.exclude(status=RunCity.Status.DONE).count() == 0 and cities.exists(),
            f"{cities.filter(status=RunCity.Status.DONE).count()}/{cities.count()}",
        ),
        (
            "every contribution distributed once, this week",
            week_contributions.exclude(distributed_week=week).count() == 0,
            f"{week_contributions.filter(distributed_week=week).count()}"
            f"/{week_contributions.count()}",
        ),
        ("sum(ledger) == sum(net)", cents == net, f"{cents} == {net} cents"),
        (
            "one report per donor",
            Report.objects.filter(week_start=week).count() == donors,
            f"{Report.objects.filter(week_start=week).count()}/{donors}",
        ),
    ]
    return {
        "workers": workers,
        "distribution_s": distribution_s,
        "reports_s": reports_s,
        "rows": rows,
        "digest": digest,
        "checks": checks,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=None)
    parser.add_argument("--cities", type=int, default=None)
    parser.add_argument("--charities-per-city", type=int, default=None)
    parser.add_argument("--workers", default="1,2", help="worker process counts, e.g. 1,2")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    subscriptions = args.subscriptions or (2_000 if args.smoke else 100_000)
    cities = args.cities or (4 if args.smoke else 50)
    per_city = args.charities_per_city or (3 if args.smoke else 10)
    try:
        counts = [int(w) for w in args.workers.split(",")]
    except ValueError:
        parser.error("--workers takes counts separated by commas, e.g. 1,2")
    if min([subscriptions, cities, per_city, *counts]) < 1:
        parser.error("sizes and worker counts must be positive")

    base_url = os.environ.get("DATABASE_URL", DEFAULT_DB)
    if not base_url.startswith("postgres"):
        sys.exit("DATABASE_URL must name a PostgreSQL database (its name + _scale is used)")
    world_url = base_url.split("?")[0] + "_scale"
    redis_url = os.environ.get("SCALE_REDIS_URL", DEFAULT_REDIS)
    os.environ.update(worker_env(world_url, redis_url))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    from core.weeks import last_completed_week

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
        check=False,
    ).stdout.strip()  # fmt: skip
    week = last_completed_week(timezone.now())
    print(f"commit {commit or '?'}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}")
    print(f"world: {subscriptions:,} subscriptions, {cities} cities x {per_city}, week {week}")
    recreate_database(world_url)
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    from benchmarks.distribution import populate  # after setup: it only sets defaults

    populate(subscriptions=subscriptions, cities=cities, per_city=per_city, week=week)
    connections.close_all()
    print(f"built in {time.perf_counter() - started:.1f} s")

    logs = Path(tempfile.mkdtemp(prefix="hometown-scaleout-"))
    results, copies = [], []
    try:
        for workers in counts:
            copy_url = f"{world_url}_w{workers}"
            copies.append(copy_url)
            use_database(world_url)
            connections.close_all()
            clone_database(world_url, copy_url)
            result = run_once(
                workers=workers, week=week, database_url=copy_url, redis_url=redis_url,
                logs=logs,
            )  # fmt: skip
            results.append(result)
            print(
                f"{workers} worker process(es): distribution {result['distribution_s']:.2f} s, "
                f"reports written by {result['reports_s']:.2f} s, {result['rows']:,} rows; "
                f"load {os.getloadavg()[0]:.2f}"
            )
    finally:
        connections.close_all()
        if not args.keep_db:
            for url in [*copies, world_url]:
                drop_database(url)

    first = results[0]
    failed = []
    for result in results:
        same = result["digest"] == first["digest"] and result["rows"] == first["rows"]
        checks = [
            *result["checks"],
            ("same ledger as with " + str(first["workers"]), same, result["digest"][:12]),
        ]
        for name, ok, detail in checks:
            print(f"{'ok  ' if ok else 'FAIL'} [{result['workers']}] {name}: {detail}")
            if not ok:
                failed.append(f"[{result['workers']}] {name}")
    last = results[-1]
    print(f"logs: {logs}")
    print(f"speedup_distribution={first['distribution_s'] / last['distribution_s']:.2f}")
    print(f"speedup_reports={first['reports_s'] / last['reports_s']:.2f}")
    print("scaleout: all checks passed" if not failed else f"scaleout: FAILED: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

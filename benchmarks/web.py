"""Benchmark: requests per second of /dashboard/ and /charities/ under gunicorn on
PostgreSQL, beside a minimal Django template view (/bench/floor/) on the same server in the
same run, measured with wrk.

    python benchmarks/web.py                 # full: 30 s per URL in 3 rounds, 8 connections
    python benchmarks/web.py --smoke         # CI: 2 s per URL, a small world

The data: the demo world, plus (full size) every charity of ../shared/data/irs_bmf/eo_vt.csv
approved, and one donor with two years (104 weeks) of history over 10 charities, whose
dashboard is measured. DATABASE_URL must name a PostgreSQL database that may be wiped
(default postgres://postgres@127.0.0.1:5432/hometown_bench_web).
The URLs are measured in rounds (floor, charities, dashboard; 3 rounds of 10 s at full
size), so a page and its floor see the same load; the last line gives the median of the
rounds' ratios: dashboard_pct_of_floor=<x.x> charities_pct_of_floor=<y.y>
"""

import argparse
import datetime as dt
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
from pathlib import Path

from common import free_port, recreate_database, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
VT_FILE = ROOT.parent / "shared" / "data" / "irs_bmf" / "eo_vt.csv"
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/hometown_bench_web"
DONOR = "history@example.org"


def _env(database_url: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.bench_settings",
        "READ_DOT_ENV_FILE": "0",
        "DEBUG": "0",
        "SECRET_KEY": "benchmark-only-secret-key-0123456789abcdefghijklmnop",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "STATIC_MANIFEST": "0",
        "DATABASE_URL": database_url,
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "DEMO_BILLING": "1",  # the pages are measured, not billing; no Stripe key here
    }


def _build_world(smoke: bool) -> str:
    """Runs inside this process with Django set up; returns the donor's session key."""
    import django

    django.setup()
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import User
    from charities.models import Charity
    from core.weeks import last_completed_week
    from distributions.models import Distribution
    from reports.models import Report
    from subscriptions.models import Contribution, Subscription
    from web.demo import seed_demo

    call_command("migrate", verbosity=0)
    seed_demo()
    if not smoke and VT_FILE.is_file():
        with open(os.devnull, "w") as quiet:
            call_command("import_charities", str(VT_FILE), "--approve", stdout=quiet)

    weeks = 8 if smoke else 104
    donor = User.objects.create(
        email=DONOR, name="History Donor", city="Springfield", state="VT", zip_code="05156"
    )
    charities = list(
        Charity.objects.filter(city="Springfield", state="VT", verification_status="approved")[:10]
    )
    sub = Subscription.objects.create(
        user=donor,
        amount_cents=2000,
        stripe_subscription_id="demo_bench_history",
        start_date=dt.date(2024, 1, 1),
    )
    last = last_completed_week(timezone.now())
    mondays = [last - dt.timedelta(weeks=n) for n in range(weeks)]
    Contribution.objects.bulk_create(
        Contribution(
            subscription=sub,
            amount_cents=2000,
            fee_cents=0,
            net_cents=2000,
            fee_source="demo",
            stripe_invoice_id=f"in_bench_{m}",
            paid_at=timezone.now() - dt.timedelta(days=(last - m).days + 5),
            distributed_week=m,
        )
        for m in mondays
    )
    share = 2000 // len(charities)
    Distribution.objects.bulk_create(
        Distribution(
            subscription=sub,
            charity=c,
            amount_cents=share,
            week_start=m,
            distribution_date=m + dt.timedelta(days=7),
            reason=f"{c.name} received a share of your gift, weighted by need.",
        )
        for m in mondays
        for c in charities
    )
    Report.objects.bulk_create(
        Report(
            user=donor,
            week_start=m,
            total_distributed_cents=share * len(charities),
            charities_supported=len(charities),
            distribution_breakdown=[
                {
                    "charity_id": c.pk,
                    "charity_name": c.name,
                    "amount_cents": share,
                    "reason": "By need.",
                }
                for c in charities
            ],
        )
        for m in mondays
    )
    session = SessionStore()
    session["_auth_user_id"] = str(donor.pk)
    session["_auth_user_backend"] = "accounts.backends.ModelBackend"
    session["_auth_user_hash"] = donor.get_session_auth_hash()
    session.create()
    return session.session_key


def _wrk(url: str, seconds: int, connections: int, cookie: str | None) -> tuple[float, str]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if cookie:
        cmd[1:1] = ["-H", f"Cookie: sessionid={cookie}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    if re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        sys.exit(f"{url}: some responses were not 2xx/3xx:\n{out}")
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    return rps, p99.group(1) if p99 else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--seconds", type=int, default=None)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, default=None, help="rounds of the three URLs (default 3; smoke 1)"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    seconds = args.seconds or (2 if args.smoke else 30)
    args.rounds = args.rounds or (1 if args.smoke else 3)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    env = _env(url)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    recreate_database(url)
    session_key = _build_world(args.smoke)

    port = free_port()
    gunicorn = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--env",
            "DJANGO_SETTINGS_MODULE=benchmarks.bench_settings",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for_port(port)
        base = f"http://127.0.0.1:{port}"
        # Warm each worker's connection and template caches before measuring.
        for path in ["/bench/floor/", "/charities/", "/dashboard/"]:
            _wrk(base + path, 1, args.connections, session_key)
        # Rounds: floor, charities, dashboard, again and again, so that each page and its
        # floor are measured under the same load of this shared machine; each ratio is
        # the median of the rounds' own ratios.
        rounds = []
        per_url = max(1, seconds // args.rounds)
        for _ in range(args.rounds):
            floor = _wrk(base + "/bench/floor/", per_url, args.connections, None)
            charities = _wrk(base + "/charities/", per_url, args.connections, None)
            dashboard = _wrk(base + "/dashboard/", per_url, args.connections, session_key)
            rounds.append((floor, charities, dashboard))
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(
        f"commit={commit} workers={args.workers} connections={args.connections} "
        f"seconds={seconds} smoke={args.smoke}"
    )
    for n, (floor, charities, dashboard) in enumerate(rounds, 1):
        line = f"round {n}:"
        for name, (rps, p99) in [
            ("floor", floor),
            ("charities", charities),
            ("dashboard", dashboard),
        ]:
            line += f"  {name} rps={rps:.1f} p99={p99}"
            if name != "floor" and floor[0]:
                line += f" ({100 * rps / floor[0]:.1f}%)"
        print(line)
    measured = [r for r in rounds if r[0][0]]
    if not measured:
        # wrk counted no answer in the window (a very busy machine, a 2 s smoke): there is
        # no ratio to give, which is not a failure of the pages (wrk's non-2xx check is).
        print("dashboard_pct_of_floor=n/a charities_pct_of_floor=n/a (the floor answered none)")
        return
    dashboard_pct = statistics.median(100 * d[0] / f[0] for f, _, d in measured)
    charities_pct = statistics.median(100 * c[0] / f[0] for f, c, _ in measured)
    print(f"dashboard_pct_of_floor={dashboard_pct:.1f} charities_pct_of_floor={charities_pct:.1f}")


if __name__ == "__main__":
    main()

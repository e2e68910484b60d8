"""What /health/ checks: the database, the Celery broker and the age of the last weekly run.

A component is "ok" or "failing" with a one-line detail. The weekly run fails when money is
waiting and the newest finished run is more than one week behind the last completed week:
the Monday job for last week may not have run yet early on Monday, but two missed weeks
means donors' money is sitting still.
"""

import datetime as dt

from celery import current_app
from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.weeks import last_completed_week
from distributions.selectors import get_latest_closed_week
from subscriptions.selectors import has_undistributed_money

BROKER_TIMEOUT_SECONDS = 2


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"
        return False, f"database unreachable: {type(exc).__name__}"
    return True, connection.vendor


def check_broker() -> tuple[bool, str]:
    if not settings.CELERY_BROKER_URL:
        return True, "no broker: tasks run in-process"
    try:
        with current_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:  # kombu raises many kinds; all mean "down"
        return False, f"broker unreachable: {type(exc).__name__}"
    return True, "broker reachable"


def check_weekly_run(now: dt.datetime) -> tuple[bool, str]:
    latest = get_latest_closed_week()
    expected = last_completed_week(now)
    if latest is not None and latest >= expected - dt.timedelta(weeks=1):
        return True, f"last run for the week of {latest:%Y-%m-%d}"
    if not has_undistributed_money():
        return True, "no money waiting" + ("" if latest else "; no run yet")
    behind = "no run yet" if latest is None else f"last run for the week of {latest:%Y-%m-%d}"
    return False, f"{behind}; the week of {expected:%Y-%m-%d} has ended and money is waiting"


def health(now: dt.datetime | None = None) -> tuple[bool, dict]:
    now = now or timezone.now()
    results = {
        "database": check_database(),
        "broker": check_broker(),
    }
    if results["database"][0]:
        results["weekly_run"] = check_weekly_run(now)
    else:
        results["weekly_run"] = (False, "unknown: the database is down")
    healthy = all(ok for ok, _ in results.values())
    return healthy, {
        name: {"status": "ok" if ok else "failing", "detail": detail}
        for name, (ok, detail) in results.items()
    }

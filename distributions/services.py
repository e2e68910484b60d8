"""Writes of the money ledger: Distribution rows, the run record and its per-city summary.

The engine (portfolio.services) decides who gives what; these functions only write, and
expect to be called inside the transaction of one city (so the rows, the contributions'
distributed_week and the city's summary line commit together or not at all).

Speed: a week is up to millions of rows. On PostgreSQL rows go in with COPY (psycopg's
cursor.copy), the fastest way in, still inside the city's transaction; on SQLite with
bulk_create. Contributions and subscriptions are marked with one UPDATE per batch of ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from core.validation import require_date
from subscriptions.models import Contribution, Subscription

from .models import Distribution, DistributionRun, RunStatus

ID_BATCH = 10_000  # ids per UPDATE: well under SQLite's bound-parameter limit
SUMMARY_FIELDS = ("pooled_cents", "distributed_cents", "held_cents",
                  "contributions_count", "distributions_count")  # fmt: skip


def _require_monday(week_start, field="week_start") -> dt.date:
    require_date(week_start, field)
    if week_start.weekday() != 0:
        raise ValidationError({field: f"{week_start} is not a Monday."})
    return week_start


def get_or_start_run(*, week_start: dt.date, now: dt.datetime) -> DistributionRun:
    """The week's run row, created on first use and set running again on a rerun.

    One row per week (unique week_start): two runs starting at once meet on the
    constraint and share the row.
    """
    _require_monday(week_start)
    run = DistributionRun.objects.filter(week_start=week_start).first()
    if run is None:
        try:
            with transaction.atomic():
                return DistributionRun.objects.create(
                    week_start=week_start, started_at=now, status=RunStatus.RUNNING
                )
        except IntegrityError:
            run = DistributionRun.objects.get(week_start=week_start)
    DistributionRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, finished_at=None, error=""
    )
    run.refresh_from_db()
    return run


def write_rows(
    *,
    run_id: int,
    week_start: dt.date,
    distribution_date: dt.date,
    rows: Iterable[tuple[int, int, int, str]],
    created_at: dt.datetime,
) -> int:
    """Insert (subscription_id, charity_id, amount_cents, reason) rows; returns the count.

    Must run inside the caller's transaction.
    """
    if connection.vendor == "postgresql":
        return _copy_rows(run_id, week_start, distribution_date, rows, created_at)
    objs = [
        Distribution(
            subscription_id=sub_id,
            charity_id=charity_id,
            run_id=run_id,
            amount_cents=amount,
            distribution_date=distribution_date,
            week_start=week_start,
            reason=reason,
            created_at=created_at,
        )
        for sub_id, charity_id, amount, reason in rows
    ]
    Distribution.objects.bulk_create(objs, batch_size=2000)
    return len(objs)


def _copy_rows(run_id, week_start, distribution_date, rows, created_at) -> int:
    table = Distribution._meta.db_table
    week = week_start.isoformat()
    day = distribution_date.isoformat()
    stamp = created_at.isoformat()
    count = 0
    with connection.cursor() as cursor:
        sql = (
            f"COPY {table} (subscription_id, charity_id, run_id, amount_cents, "
            "distribution_date, week_start, reason, created_at) FROM STDIN"
        )
        with cursor.copy(sql) as copy:
            for sub_id, charity_id, amount, reason in rows:
                copy.write_row((sub_id, charity_id, run_id, amount, day, week, reason, stamp))
                count += 1
    return count


def _batches(ids: list[int]):
    for start in range(0, len(ids), ID_BATCH):
        yield ids[start : start + ID_BATCH]


def mark_distributed(
    *,
    contribution_ids: list[int],
    subscription_ids: list[int],
    week_start: dt.date,
    distribution_date: dt.date,
    now: dt.datetime,
) -> None:
    """Set distributed_week on the claimed contributions and last_distribution_date on
    their subscriptions. A contribution already marked means another run took it: the
    caller's transaction is rolled back rather than give a cent twice."""
    marked = 0
    for batch in _batches(contribution_ids):
        marked += Contribution.objects.filter(id__in=batch, distributed_week__isnull=True).update(
            distributed_week=week_start
        )
    if marked != len(contribution_ids):
        raise IntegrityError(
            f"{len(contribution_ids) - marked} contribution(s) were distributed by another run"
        )
    for batch in _batches(subscription_ids):
        Subscription.objects.filter(id__in=batch).update(
            last_distribution_date=distribution_date, updated_at=now
        )


def record_city(*, run_id: int, place: str, entry: dict) -> DistributionRun:
    """Put one city's line into the run's summary and recompute the run's totals.

    Keys of a line: status (done|held|failed), pooled_cents, distributed_cents,
    held_cents, contributions_count, distributions_count, held_contributions, charities,
    why.

    The run row is locked for the few statements this takes, so cities finishing at once
    (one Celery task each) never overwrite each other's lines.
    """
    run = DistributionRun.objects.select_for_update().get(pk=run_id)
    summary = dict(run.summary or {})
    previous = summary.get(place)
    if previous:
        # An earlier pass this week already gave some of the city's money (committed,
        # so still true); this pass adds to it. What is held is only what is held now.
        entry = dict(entry)
        for key in ("distributed_cents", "contributions_count", "distributions_count"):
            entry[key] = int(entry.get(key, 0)) + int(previous.get(key, 0))
        entry["pooled_cents"] = entry["distributed_cents"] + int(entry.get("held_cents", 0))
        entry["charities"] = max(int(entry.get("charities", 0)), int(previous.get("charities", 0)))
    summary[place] = entry
    run.summary = summary
    for field in SUMMARY_FIELDS:
        setattr(run, field, sum(int(line.get(field, 0)) for line in summary.values()))
    run.save(update_fields=["summary", *SUMMARY_FIELDS])
    return run


def finish_run(*, run_id: int, status: str, now: dt.datetime, error: str = "") -> DistributionRun:
    DistributionRun.objects.filter(pk=run_id).update(
        status=status, finished_at=now, error=error[:2000]
    )
    return DistributionRun.objects.get(pk=run_id)

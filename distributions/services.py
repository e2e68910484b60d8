"""Writes of the money ledger: Distribution rows, the run record and its RunCity lines.

The engine (portfolio.services) decides who gives what; these functions only write, and
expect to be called inside the transaction of one city (so the rows, the contributions'
distributed_week and the city's summary line commit together or not at all).

Speed: a week is up to millions of rows. On PostgreSQL rows go in with COPY (psycopg's
cursor.copy), the fastest way in, still inside the city's transaction; on SQLite with
bulk_create. A city's contributions are taken and marked in one UPDATE ... RETURNING
(claim_contributions); its subscriptions are marked with one UPDATE on PostgreSQL (the ids
as one array), one per batch of ids elsewhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from itertools import islice

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet, Sum

from core.places import place_key
from subscriptions.models import Contribution, Subscription

from .models import Distribution, DistributionRun, RunCity, RunStatus
from .selectors import week_checksum

ID_BATCH = 10_000  # ids per UPDATE: well under SQLite's bound-parameter limit
# Run totals, each the sum of its RunCity lines' column of the same name.
TOTAL_FIELDS = ("pooled_cents", "distributed_cents", "held_cents",
                "contributions_count", "distributions_count")  # fmt: skip
LINE_FIELDS = ("pooled_cents", "distributed_cents", "held_cents", "contributions_count",
               "held_contributions", "distributions_count", "charities_count")  # fmt: skip


def get_or_start_run(*, week_start: dt.date, now: dt.datetime) -> DistributionRun:
    """The week's run row, created on first use and set running again on a rerun.

    One row per week (unique week_start): two runs starting at once meet on the
    constraint and share the row. `week_start` is a checked Monday (the engine checks).
    """
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
    `rows` may be a generator: it is consumed as it is written (COPY on PostgreSQL, batches
    of 2,000 elsewhere), never held whole.

    Must run inside the caller's transaction.
    """
    if connection.vendor == "postgresql":
        return _copy_rows(run_id, week_start, distribution_date, rows, created_at)
    rows = iter(rows)
    count = 0
    while batch := [
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
        for sub_id, charity_id, amount, reason in islice(rows, 2000)
    ]:
        Distribution.objects.bulk_create(batch)
        count += len(batch)
    return count


def replace_rows(
    *,
    run_id: int,
    week_start: dt.date,
    distribution_date: dt.date,
    subscription_ids: list[int],
    rows: Iterable[tuple[int, int, int, str]],
    created_at: dt.datetime,
) -> int:
    """Replace the rows this run wrote this week for the given subscriptions by `rows`
    (write_rows' tuples), in the caller's transaction, before it commits: how a pass
    amends the few rows its rounding repaired after they were written (portfolio.
    allocation.StreamedSplit). Answers the change in the number of rows (written minus
    removed). Nothing outside the transaction ever sees the rows it replaces."""
    removed, _ = Distribution.objects.filter(
        run_id=run_id, week_start=week_start, subscription_id__in=subscription_ids
    ).delete()
    written = write_rows(
        run_id=run_id,
        week_start=week_start,
        distribution_date=distribution_date,
        rows=rows,
        created_at=created_at,
    )
    return written - removed


def _copy_text(value: str) -> str:
    """A text value as COPY's text format writes it: a backslash, a newline, a carriage
    return and a tab as escapes, every other character as itself."""
    if "\\" in value or "\n" in value or "\r" in value or "\t" in value:
        value = (
            value.replace("\\", "\\\\")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
            .replace("\t", "\\t")
        )
    return value


COPY_LINES = 500  # rows per write to the COPY stream (the first goes out soon)
REASON_CACHE = 50_000  # distinct sentences kept escaped at once (bounded memory)


def _copy_rows(run_id, week_start, distribution_date, rows, created_at) -> int:
    """The rows as COPY text lines, built here: a row's own columns (ids, cents) and, kept
    once per distinct sentence, the rest of the line (the escaped sentence and the columns
    every row of the call shares). Written COPY_LINES rows at a time."""
    table = Distribution._meta.db_table
    run = "\\N" if run_id is None else int(run_id)  # \N: NULL
    shared = (
        f"\t{run}\t{distribution_date.isoformat()}\t{week_start.isoformat()}"
        f"\t{created_at.isoformat()}\n"
    )
    ends: dict[str, str] = {}
    count = 0
    with connection.cursor() as cursor:
        sql = (
            f"COPY {table} (subscription_id, charity_id, amount_cents, reason, run_id, "
            "distribution_date, week_start, created_at) FROM STDIN"
        )
        with cursor.copy(sql) as copy:
            lines: list[str] = []
            for sub_id, charity_id, amount, reason in rows:
                end = ends.get(reason)
                if end is None:
                    if len(ends) >= REASON_CACHE:
                        ends.clear()
                    end = ends[reason] = "\t" + _copy_text(reason) + shared
                lines.append(f"{sub_id}\t{charity_id}\t{amount}{end}")
                if len(lines) == COPY_LINES:
                    copy.write("".join(lines))
                    count += COPY_LINES
                    lines = []
            if lines:
                copy.write("".join(lines))
                count += len(lines)
    return count


def _batches(ids: list[int]):
    for start in range(0, len(ids), ID_BATCH):
        yield ids[start : start + ID_BATCH]


def refresh_claim_statistics() -> None:
    """ANALYZE the contributions table (PostgreSQL), so the run's claims are planned on
    what is waiting now. Between runs nothing else makes PostgreSQL look again: a week's
    payments are about 1% of a big table, under autovacuum's 10% threshold, so its last
    look may date from just after the previous run, when no contribution was waiting. On
    such statistics the planner expects one waiting contribution and nests a scan of all
    of them inside another: measured, one city of 2,000 donors took over 20 s (stopped
    there) instead of 0.15 s. ANALYZE reads a fixed sample (30,000 rows at PostgreSQL's
    default target), so it costs about the same at any size, and it blocks no reader or
    writer. Called once per run or invocation, before the places are listed."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(Contribution._meta.db_table)}")


def claim_contributions(contributions: QuerySet, *, week_start: dt.date) -> list[tuple]:
    """Mark the given contributions (the engine's query of what a pass takes) distributed
    in `week_start` and answer them, (id, subscription_id, net_cents) by id: one UPDATE
    ... RETURNING, which takes and marks at once. The rows stay locked until the caller's
    transaction ends; a second run at the same time waits on them, then finds them marked
    (distributed_week is checked again on the row it waited for) and leaves them: no cent
    is taken twice. Must run inside the caller's transaction (the city's).

    The query is joined (UPDATE ... FROM), not tested with IN: each id it finds is one
    row to mark, so PostgreSQL need not first gather the ids into a set (measured: the 50
    claims of the 1M-row week 2.6-2.9 s -> 2.2-2.4 s)."""
    ids_sql, params = contributions.order_by().values("id").query.sql_with_params()
    table = Contribution._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET distributed_week = %s "  # noqa: S608
            f"FROM (SELECT id AS found_id FROM ({ids_sql}) AS query) AS found "
            f"WHERE {table}.id = found.found_id AND distributed_week IS NULL "
            "RETURNING id, subscription_id, net_cents",
            [week_start, *params],
        )
        return sorted(cursor.fetchall())


def release_contributions(contribution_ids: list[int]) -> None:
    """Undo claim_contributions for money the pass holds (no charity can take it): the
    contributions wait, undistributed, for a later run (still locked until the caller's
    transaction ends)."""
    for batch in _batches(contribution_ids):
        Contribution.objects.filter(id__in=batch).update(distributed_week=None)


def mark_distributed(
    *,
    subscription_ids: list[int],
    distribution_date: dt.date,
    now: dt.datetime,
) -> None:
    """Set last_distribution_date on the subscriptions a pass gave rows for (their
    contributions were marked when claimed: claim_contributions). PostgreSQL: one UPDATE,
    the ids as one array; elsewhere one per batch of ids."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Subscription._meta.db_table} "  # noqa: S608
                "SET last_distribution_date = %s, updated_at = %s WHERE id = ANY(%s)",
                [distribution_date, now, list(subscription_ids)],
            )
        return
    for batch in _batches(subscription_ids):
        Subscription.objects.filter(id__in=batch).update(
            last_distribution_date=distribution_date, updated_at=now
        )


def record_city(
    *,
    run_id: int,
    city: str,
    state: str,
    status: str,
    line: dict,
    why: str,
    hold_reason: str = "",
    inputs: dict | None = None,
    explained_by_model: int = 0,
    explainer_fallbacks: dict[str, int] | None = None,
) -> RunCity:
    """Write one place's line of the run (city and state empty for donors with no city)
    and recompute the run's totals from its lines, in the caller's transaction.

    line: pooled_cents, distributed_cents, held_cents, contributions_count,
    held_contributions, distributions_count, charities_count of this pass.

    When an earlier pass this week already gave some of the place's money (committed, so
    still true), this pass adds to it; what is held is only what is held now. The run
    row is locked for the few statements this takes, so places finishing at once (one
    Celery task each) never lose each other's lines or totals.

    explained_by_model, explainer_fallbacks ({reason: count}): how this pass's sentences
    were written (portfolio.explain), added to what earlier passes recorded.
    """
    fallbacks = dict(explainer_fallbacks or {})
    if not (
        isinstance(explained_by_model, int)
        and explained_by_model >= 0
        and all(isinstance(k, str) and isinstance(v, int) and v > 0 for k, v in fallbacks.items())
    ):
        raise ValueError("explanation counts must be whole numbers, not negative")
    run = DistributionRun.objects.select_for_update().get(pk=run_id)
    key_city, key_state = place_key(city, state) if city else ("", "")
    values = {field: int(line.get(field, 0)) for field in LINE_FIELDS}
    row = (
        RunCity.objects.select_for_update()
        .filter(run=run, city__lower=key_city, state=key_state)
        .first()
    )
    if row is None:
        row = RunCity(run=run, city=city, state=state)
    else:
        explained_by_model += row.explained_by_model
        for reason, count in row.explainer_fallbacks.items():
            fallbacks[reason] = fallbacks.get(reason, 0) + count
        row.city = city  # the place's label now (a charity approved since may spell it)
        for field in ("distributed_cents", "contributions_count", "distributions_count"):
            values[field] += getattr(row, field)
        values["charities_count"] = max(values["charities_count"], row.charities_count)
        values["pooled_cents"] = values["distributed_cents"] + values["held_cents"]
    for field, value in values.items():
        setattr(row, field, value)
    row.status = status
    row.why = why
    row.explained_by_model = explained_by_model
    row.explainer_fallbacks = dict(sorted(fallbacks.items()))
    if inputs is not None:
        row.inputs = [*row.inputs, inputs]
    row.hold_reason = hold_reason if row.held_cents else ""
    row.save()
    totals = run.cities.aggregate(**{field: Sum(field) for field in TOTAL_FIELDS})
    for field in TOTAL_FIELDS:
        setattr(run, field, totals[field] or 0)
    run.save(update_fields=list(TOTAL_FIELDS))
    return row


def finish_run(*, run_id: int, status: str, now: dt.datetime, error: str = "") -> DistributionRun:
    """Close the run and seal its week: the checksum of the rows as published."""
    run = DistributionRun.objects.get(pk=run_id)
    DistributionRun.objects.filter(pk=run_id).update(
        status=status, finished_at=now, error=error[:2000], rows_sha256=week_checksum(run)
    )
    return DistributionRun.objects.get(pk=run_id)

import datetime as dt
import hashlib

from django.db import connection
from django.db.models import Count, Max, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from accounts.models import User
from charities.models import Charity
from core.db import column_list, prepared_raw
from core.validation import id_of
from core.weeks import require_week, week_bounds, week_of
from subscriptions.models import Subscription

from .models import Distribution, DistributionRun, RunCity


def _base() -> QuerySet[Distribution]:
    return Distribution.objects.select_related("charity", "subscription")


def get_distributions_by_subscription(subscription) -> QuerySet[Distribution]:
    return (
        _base()
        .filter(subscription_id=id_of(subscription, "subscription", Subscription))
        .order_by("-week_start", "-amount_cents", "charity_id")
    )


def get_distributions_by_user(user) -> QuerySet[Distribution]:
    """Every row of every subscription of a donor, newest week first."""
    return (
        _base()
        .filter(subscription__user_id=id_of(user, "user", User))
        .order_by("-week_start", "-amount_cents", "charity_id")
    )


def get_distributions_by_charity(charity) -> QuerySet[Distribution]:
    return (
        _base()
        .filter(charity_id=id_of(charity, "charity", Charity))
        .order_by("-week_start", "subscription_id")
    )


def get_distributions_by_week(week_start: dt.date) -> QuerySet[Distribution]:
    week_start = require_week(week_start)
    return _base().filter(week_start=week_start).order_by("charity_id", "subscription_id")


def get_run(week_start: dt.date) -> DistributionRun | None:
    """The run record of a week, or None before its first run."""
    return DistributionRun.objects.filter(week_start=require_week(week_start)).first()


def get_run_cities(run) -> list[RunCity]:
    """A run's lines, one per place, by state then city."""
    return list(
        RunCity.objects.filter(run_id=id_of(run, "run", DistributionRun)).order_by(
            "state", "city", "id"
        )
    )


def subscription_token(salt: str, subscription_id: int) -> str:
    """How a subscription appears in a week's public ledger: 16 hex digits of SHA-256 of
    the run's salt and its id. The same within a week, unlinkable across weeks."""
    return hashlib.sha256(f"{salt}:{subscription_id}".encode()).hexdigest()[:16]


# The same token and line, in SQL (PostgreSQL), for sealing a week of a million rows
# without carrying them through Python. Each line is "token,charity id,cents\n". A
# subscription's lines are built together, its token hashed once for them (a placeholder,
# chr(1), stands for it in each line: ids and cents never hold that character; the lines'
# "charity id,cents" are joined by "\n<placeholder>," so each row costs two joins), then
# the subscriptions' blocks are joined in id order: the same text as line by line.
_SEAL_SQL = """
    SELECT encode(sha256(convert_to(coalesce(string_agg(block, '' ORDER BY sid), ''),
                                    'UTF8')), 'hex')
      FROM (SELECT subscription_id AS sid,
                   replace(chr(1) || ','
                           || string_agg(charity_id::text || ',' || amount_cents::text,
                                         chr(10) || chr(1) || ',' ORDER BY charity_id)
                           || chr(10),
                           chr(1),
                           substr(encode(sha256(convert_to(
                               %(salt)s || ':' || subscription_id::text, 'UTF8')), 'hex'),
                                  1, 16)) AS block
              FROM distributions_distribution WHERE week_start = %(week)s
             GROUP BY subscription_id) AS per_subscription
"""


def week_rows(run, *, charity_ids=None):
    """The week's Distribution rows as published: (token, charity id, cents), ordered by
    subscription then charity (optionally only some charities: one place's)."""
    rows = Distribution.objects.filter(week_start=run.week_start)
    if charity_ids is not None:
        rows = rows.filter(charity_id__in=list(charity_ids))
    for subscription_id, charity_id, cents in (
        rows.order_by("subscription_id", "charity_id")
        .values_list("subscription_id", "charity_id", "amount_cents")
        .iterator(chunk_size=10_000)
    ):
        yield subscription_token(run.salt, subscription_id), charity_id, cents


def week_checksum(run) -> str:
    """SHA-256 (hex) of the week's published rows, one "token,charity id,cents" line each,
    in week_rows' order: anyone holding the published file can recompute it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_SEAL_SQL, {"salt": run.salt, "week": run.week_start})
            return cursor.fetchone()[0]
    digest = hashlib.sha256()
    for token, charity_id, cents in week_rows(run):
        digest.update(f"{token},{charity_id},{cents}\n".encode())
    return digest.hexdigest()


def get_runs_by_week(weeks) -> dict[dt.date, DistributionRun]:
    """week_start -> the run record of each of the given weeks that has one. One query."""
    weeks = [require_week(week) for week in weeks]
    return {run.week_start: run for run in DistributionRun.objects.filter(week_start__in=weeks)}


def get_published_runs() -> QuerySet[DistributionRun]:
    """Runs that have closed, newest week first: what /transparency/ lists."""
    return DistributionRun.objects.exclude(status=DistributionRun.Status.RUNNING).order_by(
        "-week_start"
    )


def get_held_lines(*, since: dt.date, before: dt.date) -> list[RunCity]:
    """The lines of the runs of weeks since..before (excluded) that held money, oldest
    week first: why a place's money waited."""
    return list(
        RunCity.objects.filter(
            run__week_start__gte=since, run__week_start__lt=before, held_cents__gt=0
        )
        .select_related("run")
        .order_by("run__week_start", "id")
    )


def is_week_closed(week_start: dt.date) -> bool:
    """True once the week's run has finished (completed or partial): what the week's
    reports wait for."""
    run = get_run(week_start)
    return run is not None and run.status != run.Status.RUNNING


def get_latest_closed_week() -> dt.date | None:
    """The newest week whose run has finished (completed or partial), or None."""
    return (
        DistributionRun.objects.exclude(status=DistributionRun.Status.RUNNING)
        .order_by("-week_start")
        .values_list("week_start", flat=True)
        .first()
    )


# --- Reads for the donor's and the public pages ---------------------------------------
# Each is one query that aggregates in the database, so a page's query count does not grow
# with the years of history behind it.


def get_latest_distributed_week() -> dt.date | None:
    """The newest week that has any distribution (what "this week" means on public pages)."""
    return Distribution.objects.aggregate(latest=Max("week_start"))["latest"]


def get_giving_by_city(*, week_start: dt.date | None) -> list[dict]:
    """Per charity city: all-time cents and the cents of `week_start` (0 when None)."""
    week_filter = Q(week_start=week_start) if week_start else Q(pk__in=[])
    return list(
        Distribution.objects.values("charity__city", "charity__state")
        .annotate(
            total_cents=Sum("amount_cents"),
            week_cents=Coalesce(Sum("amount_cents", filter=week_filter), 0),
        )
        .order_by("charity__state", "charity__city")
    )


def get_user_weekly_totals(user, *, limit: int = 104) -> list[tuple[dt.date, int]]:
    """(week_start, cents) of a donor's newest `limit` weeks, oldest first (a chart)."""
    rows = (
        get_distributions_by_user(user)
        .values("week_start")
        .annotate(total=Sum("amount_cents"))
        .order_by("-week_start")[:limit]
    )
    return [(row["week_start"], row["total"]) for row in reversed(rows)]


def get_user_lifetime_totals(user) -> dict:
    """{"total_cents", "weeks", "charities"} over a donor's whole history."""
    return get_distributions_by_user(user).aggregate(
        total_cents=Coalesce(Sum("amount_cents"), 0),
        weeks=Count("week_start", distinct=True),
        charities=Count("charity_id", distinct=True),
    )


def get_user_charity_totals(user) -> list[dict]:
    """Per charity a donor's money ever reached: id, name, total_cents; largest first."""
    return list(
        get_distributions_by_user(user)
        .values("charity_id", "charity__name")
        .annotate(total_cents=Sum("amount_cents"))
        .order_by("-total_cents", "charity_id")
    )


def get_user_latest_split(user) -> tuple[dt.date | None, list[dict]]:
    """A donor's newest distributed week and, per charity, cents and the reason.

    One query: the week is a subquery. A donor with two subscriptions has two rows per
    charity; they are added together and the reason of the larger row is kept.
    """
    mine = get_distributions_by_user(user).select_related(None)
    newest = mine.order_by("-week_start").values("week_start")[:1]
    rows = (
        mine.filter(week_start=Subquery(newest))
        .select_related("charity")
        .only(
            "week_start",
            "amount_cents",
            "reason",
            "charity__name",
            "charity__city",
            "charity__state",
            "charity__ein",
        )
        .order_by("-amount_cents", "charity_id")
    )
    week = None
    by_charity: dict[int, dict] = {}
    for row in rows:
        week = row.week_start
        entry = by_charity.setdefault(
            row.charity_id,
            {"charity": row.charity, "amount_cents": 0, "reason": row.reason},
        )
        entry["amount_cents"] += row.amount_cents
    split = sorted(by_charity.values(), key=lambda e: (-e["amount_cents"], e["charity"].pk))
    return week, split


def get_user_giving_years(user) -> list[int]:
    """Calendar years (of distribution_date) in which a donor's money was given, newest
    first: the years that have a giving statement."""
    dates = get_distributions_by_user(user).dates("distribution_date", "year", order="DESC")
    return [d.year for d in dates]


def get_user_statement(user, year: int) -> list[dict]:
    """A donor's giving statement for one calendar year: per charity the total cents,
    the number of weeks, name, EIN and city (by the date the money was given)."""
    return list(
        get_distributions_by_user(user)
        .filter(distribution_date__year=year)
        .values("charity_id", "charity__name", "charity__ein", "charity__city", "charity__state")
        .annotate(total_cents=Sum("amount_cents"), weeks=Count("week_start", distinct=True))
        .order_by("charity__name", "charity_id")
    )


def get_user_history(user) -> QuerySet[Distribution]:
    """Every row of a donor's giving, oldest first, a subscription's rows of a week
    together, for the CSV (iterate, do not list)."""
    return (
        get_distributions_by_user(user)
        .select_related(None)
        .select_related("charity")
        .order_by("week_start", "subscription_id", "charity_id")
    )


def get_charity_weekly_totals(charity, *, limit: int = 52) -> list[tuple[dt.date, int]]:
    """(week_start, cents) a charity received, newest `limit` weeks, oldest first."""
    rows = (
        get_distributions_by_charity(charity)
        .values("week_start")
        .annotate(total=Sum("amount_cents"))
        .order_by("-week_start")[:limit]
    )
    return [(row["week_start"], row["total"]) for row in reversed(rows)]


def get_charity_total_received(charity) -> int:
    return get_distributions_by_charity(charity).aggregate(total=Coalesce(Sum("amount_cents"), 0))[
        "total"
    ]


# One row per subscription of the donor (newest first; one row of NULLs when there is
# none), each with paid_this_week (as subscriptions.selectors.with_paid_this_week says it)
# and its parts of the ledger version (get_user_dashboard_state). Subqueries per
# subscription rather than per donor: PostgreSQL plans this in a fraction of the time.
DASHBOARD_STATE_SQL = f"""
    SELECT {column_list(Subscription, "s")},
           EXISTS(SELECT 1 FROM subscriptions_contribution c
                   WHERE c.subscription_id = s.id
                     AND c.paid_at >= %(week_from)s AND c.paid_at < %(week_to)s)
             AS paid_this_week,
           (SELECT MAX(d.id) FROM distributions_distribution d
             WHERE d.subscription_id = s.id) AS ledger_newest_row,
           (SELECT MAX(c.id) FROM subscriptions_contribution c
             WHERE c.subscription_id = s.id) AS ledger_newest_payment,
           (SELECT COUNT(*) FROM subscriptions_contribution c
             WHERE c.subscription_id = s.id AND c.net_cents IS NULL) AS ledger_fees_pending,
           v.ledger_newest_report
      FROM (SELECT (SELECT MAX(r.id) FROM reports_report r WHERE r.user_id = %(user_id)s)
                     AS ledger_newest_report) v
      LEFT JOIN subscriptions_subscription s ON s.user_id = %(user_id)s
     ORDER BY s.created_at DESC, s.id DESC
"""  # noqa: S608 (the model's own column names; every value is a parameter)


def get_user_dashboard_state(user, *, now: dt.datetime) -> tuple[str, list[Subscription]]:
    """What every dashboard view reads fresh, in one query: the donor's ledger version and
    their subscriptions, newest first, each with paid_this_week for the local week of `now`
    (subscriptions.selectors.with_paid_this_week).

    The ledger version is a short key that changes whenever the donor's giving history can
    have changed: the newest Distribution, Report and Contribution ids of theirs (a new
    payment, a week given, a report written), and how many of their payments still wait
    for the processor's fee. Rows are only ever added, never edited (the ledger is
    append-only; a pending fee is set once, which the count of pending fees catches), so
    equal keys mean equal history; pages cache what they derive from the history under
    this key (one query instead of six).

    Plain SQL: it runs on every dashboard view, and building it with the ORM (an Exists
    subquery, the version's subqueries) cost more than PostgreSQL took to run it
    (BENCHMARKS.md, web pages and issue 17 part 4); prepared (core.db.prepared_raw), since
    planning it cost PostgreSQL twice what running it did."""
    user_id = id_of(user, "user", User)
    week_from, week_to = week_bounds(week_of(now))
    adapt = connection.ops.adapt_datetimefield_value
    rows = list(
        prepared_raw(
            Subscription,
            DASHBOARD_STATE_SQL,
            {"user_id": user_id, "week_from": adapt(week_from), "week_to": adapt(week_to)},
        )
    )
    subscriptions = [row for row in rows if row.pk is not None]
    newest_row = max((s.ledger_newest_row or 0 for s in subscriptions), default=0)
    newest_payment = max((s.ledger_newest_payment or 0 for s in subscriptions), default=0)
    fees_pending = sum(s.ledger_fees_pending for s in subscriptions)
    version = f"{newest_row}-{rows[0].ledger_newest_report}-{newest_payment}-{fees_pending}"
    for subscription in subscriptions:
        subscription.paid_this_week = bool(subscription.paid_this_week)
    return version, subscriptions

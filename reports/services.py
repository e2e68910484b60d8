"""Weekly reports: where each donor's money went, and the email that tells them.

- generate_report(user, week_start): one donor's report, built from their Distribution
  rows of that week across all their subscriptions. Idempotent: a second call updates the
  same row (unique per user and week) to the same values.
- generate_reports(week_start, user_ids=None): the same for every donor with rows that
  week, set-based (one aggregate query and one bulk upsert per chunk of donors), so
  100,000 donors cost a few dozen queries.
- send_report_emails(week_start): an HTML and a plain-text email of the report to each
  donor who wants them (User.wants_report_emails), once per report: a report is claimed by
  setting emailed_at in a transaction and the mail goes out when that commits; a mail that
  fails to send releases its claim so a later call retries it.

A donor with no rows that week (nothing paid, or their city's money is held) gets no
report: there is nothing to report yet.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from django.conf import settings
from django.contrib.postgres.aggregates import StringAgg
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Count, F, Min, Q, Sum
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import User
from accounts.selectors import get_user_by_id
from charities.selectors import get_place_label
from core.places import format_place, place_key
from core.validation import id_of
from core.weeks import require_week, week_bounds, week_of
from distributions.models import NO_CITY_LABEL
from distributions.selectors import (
    get_distributions_by_week,
    get_held_lines,
    get_run,
    get_run_cities,
    is_week_closed,
)
from subscriptions.links import manage_url
from subscriptions.selectors import (
    get_live_subscriptions_by_user,
    get_released_by_user,
    get_user_week_fees,
    get_waiting_by_user,
)

from .models import Report

logger = logging.getLogger(__name__)

USER_CHUNK = 5000
EMAIL_BATCH = 200


def reports_are_due(week_start) -> bool:
    """The week's reports can be written once its distribution run has closed: before
    that, the week's rows are not all there."""
    return is_week_closed(require_week(week_start))


def _waiting(week_start: dt.date, user_ids) -> dict[int, dict]:
    """user id -> the Report fields of the money that waited: held by the week's run,
    and given this week though paid before it (released). Empty before the week's run."""
    run = get_run(week_start)
    if run is None:
        return {}
    start, end = week_bounds(week_start)
    held = get_waiting_by_user(paid_before=end, week_start=week_start, user_ids=user_ids)
    released = get_released_by_user(week_start, paid_before=start, user_ids=user_ids)
    if not held and not released:
        return {}
    places = {
        pk: place_key(city, state) if city else ("", "")
        for pk, city, state in User.objects.filter(
            pk__in=held.keys() | released.keys()
        ).values_list("pk", "city", "state")
    }
    lines = {place_key(line.city, line.state) if line.city else ("", ""): line
             for line in get_run_cities(run)}  # fmt: skip
    out: dict[int, dict] = {}
    for user_id, (cents, since) in held.items():
        # Held, when the week's run held the donor's city; otherwise the money came in
        # after the run and simply goes out the week after (labelled then as released).
        line = lines.get(places[user_id])
        if line is None or not line.held_cents:
            continue
        out[user_id] = {
            "held_cents": cents,
            "held_since": timezone.localdate(since),
            "hold_reason": line.hold_reason,
            "held_place": line.place,
        }
    if released:
        oldest = min(week_of(first) for _, first, _ in released.values())
        why_held: dict[tuple[str, str], str] = {}
        for line in get_held_lines(since=oldest, before=week_start):  # newest wins
            why_held[place_key(line.city, line.state) if line.city else ("", "")] = (
                line.hold_reason
            )
        for user_id, (cents, first, last) in released.items():
            out.setdefault(user_id, {}).update(
                released_cents=cents,
                released_from=timezone.localdate(first),
                released_to=timezone.localdate(last),
                released_reason=why_held.get(places[user_id], ""),
            )
    return out


def _breakdowns(week_start: dt.date, user_ids: list[int]) -> dict[int, list[dict]]:
    """user id -> [{charity_id, charity_name, amount_cents, reason}], biggest first."""
    rows = (
        get_distributions_by_week(week_start)
        .filter(subscription__user_id__in=user_ids)
        .values("subscription__user_id", "charity_id", "charity__name")
        .annotate(total=Sum("amount_cents"), n=Count("id"), reason=Min("reason"))
        .order_by()
    )
    out: dict[int, list[dict]] = defaultdict(list)
    several = []
    for r in rows:
        item = {
            "charity_id": r["charity_id"],
            "charity_name": r["charity__name"],
            "amount_cents": r["total"],
            "reason": r["reason"],
        }
        out[r["subscription__user_id"]].append(item)
        if r["n"] > 1:
            several.append((r["subscription__user_id"], item))
    if several:
        # A donor with several subscriptions has one sentence per subscription and
        # charity; the report keeps them all, in subscription order.
        reasons = defaultdict(list)
        for user_id, charity_id, reason in (
            get_distributions_by_week(week_start)
            .filter(
                subscription__user_id__in={u for u, _ in several},
                charity_id__in={i["charity_id"] for _, i in several},
            )
            .order_by("subscription_id")
            .values_list("subscription__user_id", "charity_id", "reason")
        ):
            reasons[(user_id, charity_id)].append(reason)
        for user_id, item in several:
            item["reason"] = " ".join(reasons[(user_id, item["charity_id"])])
    for items in out.values():
        items.sort(key=lambda i: (-i["amount_cents"], i["charity_id"]))
    return out


WAITING_FIELDS = ["held_cents", "held_since", "hold_reason", "held_place", "released_cents",
                  "released_from", "released_to", "released_reason"]  # fmt: skip
NOT_WAITING = {"held_cents": 0, "held_since": None, "hold_reason": "", "held_place": "",
               "released_cents": 0, "released_from": None, "released_to": None,
               "released_reason": ""}  # fmt: skip
REVISED_FIELDS = ["total_distributed_cents", "charities_supported", "distribution_breakdown",
                  "generated_at", "revision", "revised_at", "previous_breakdown",
                  "previous_total_cents", *WAITING_FIELDS]  # fmt: skip


def _amounts(items) -> dict:
    return {i["charity_id"]: i["amount_cents"] for i in items or []}


def _upsert(week_start: dt.date, breakdowns: dict[int, list[dict]], waiting=None) -> int:
    """Write the reports of these donors for the week: new ones as revision 1; an
    existing one whose money changed (given, held or released) is revised (what the
    donor was emailed is kept for the correction); one whose amounts are the same only
    takes the new wording. A donor whose money was only held gets a report too, saying
    so. Returns how many donors were covered."""
    waiting = waiting or {}
    now = timezone.now()
    users = breakdowns.keys() | {u for u, w in waiting.items() if w.get("held_cents")}
    existing = {
        r.user_id: r for r in Report.objects.filter(week_start=week_start, user_id__in=users)
    }
    new, revised, reworded = [], [], []
    for user_id in sorted(users):
        items = breakdowns.get(user_id, [])
        money = {**NOT_WAITING, **waiting.get(user_id, {})}
        total = sum(i["amount_cents"] for i in items)
        report = existing.get(user_id)
        if report is None:
            new.append(
                Report(
                    user_id=user_id,
                    week_start=week_start,
                    total_distributed_cents=total,
                    charities_supported=len(items),
                    distribution_breakdown=items,
                    generated_at=now,
                    **money,
                )
            )
            continue
        same_money = _amounts(items) == _amounts(report.distribution_breakdown) and all(
            getattr(report, f) == money[f] for f in ("held_cents", "released_cents")
        )
        if same_money:
            changed = items != report.distribution_breakdown or any(
                getattr(report, f) != money[f] for f in WAITING_FIELDS
            )
            if changed:
                report.distribution_breakdown = items
                for field, value in money.items():
                    setattr(report, field, value)
                reworded.append(report)
            continue
        if report.emailed_revision == report.revision:  # the donor was told these figures
            report.previous_breakdown = report.distribution_breakdown
            report.previous_total_cents = report.total_distributed_cents
        report.revision += 1
        report.revised_at = report.generated_at = now
        report.total_distributed_cents = total
        report.charities_supported = len(items)
        report.distribution_breakdown = items
        for field, value in money.items():
            setattr(report, field, value)
        revised.append(report)
    # Two writers of the same week meet on the unique (user, week): the later one writes
    # the same figures.
    Report.objects.bulk_create(
        new,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["user", "week_start"],
        update_fields=[
            "total_distributed_cents",
            "charities_supported",
            "distribution_breakdown",
            *WAITING_FIELDS,
        ],
    )
    Report.objects.bulk_update(revised, REVISED_FIELDS, batch_size=1000)
    Report.objects.bulk_update(
        reworded, ["distribution_breakdown", *WAITING_FIELDS], batch_size=1000
    )
    return len(users)


def generate_report(user, week_start) -> Report | None:
    """The donor's report for the week (created or brought up to date), or None when no
    money of theirs was given that week."""
    user_id = id_of(user, "user", User)
    week_start = require_week(week_start)
    if get_user_by_id(user_id) is None:
        raise ValidationError({"user": f"No user has id {user_id}."})
    with transaction.atomic():
        if not _upsert(
            week_start, _breakdowns(week_start, [user_id]), _waiting(week_start, [user_id])
        ):
            return None
    return Report.objects.get(user_id=user_id, week_start=week_start)


def _donors_with_rows(week_start: dt.date) -> set[int]:
    return set(
        get_distributions_by_week(week_start)
        .values_list("subscription__user_id", flat=True)
        .distinct()
        .order_by()
    )


def _held_donors(waiting: dict[int, dict]) -> set[int]:
    return {user_id for user_id, money in waiting.items() if money.get("held_cents")}


def report_user_ids(week_start) -> list[int]:
    """Donors with rows in the week, and donors whose money the week's run held, in id
    order (what generate_reports covers)."""
    week_start = require_week(week_start)
    return sorted(_donors_with_rows(week_start) | _held_donors(_waiting(week_start, None)))


def report_batches(week_start) -> list[list[int] | None]:
    """How the weekly task (reports.tasks.weekly_reports) splits the week's reports into
    tasks: each item is generate_reports' user_ids (None: the whole week). On PostgreSQL
    one task builds the whole week: the database does it in one statement (_write_in_db),
    faster than any split, since a chunk of donors must find its rows among the week's
    (measured: 100,000 reports in 9 s as one, several times that as 50 chunks). Elsewhere
    the Python build runs in chunks of USER_CHUNK donors, a task each, which workers share."""
    if connection.vendor == "postgresql":
        return [None]
    user_ids = report_user_ids(week_start)
    return [user_ids[i : i + USER_CHUNK] for i in range(0, len(user_ids), USER_CHUNK)]


def generate_reports(week_start, *, user_ids=None) -> int:
    """Reports of the week for the given donors (default: all with rows or held money).
    Returns how many reports were written. Idempotent.

    On PostgreSQL the new reports of donors whose money did not wait are built and
    inserted by the database (_write_in_db: the whole week in one statement, or one per
    chunk of the listed donors), and reports already written with the same contents are
    left alone; only the rest (revisions, held or released money: few donors) go through
    the Python build, in chunks. Neither time nor memory in Python grows with the number
    of donors. Elsewhere (SQLite: `make run`, `make test`) every chunk goes through the
    Python build (_breakdowns, then _upsert). Both write the same rows
    (tests/reports/test_set_based.py)."""
    week_start = require_week(week_start)
    if user_ids is None:
        # The money that waited is worked out once for the week (few donors have any),
        # not once per chunk of donors.
        waiting = _waiting(week_start, None)
        if connection.vendor == "postgresql":
            written, rest = _write_in_db(week_start, None, waiting)
            return written + _write_in_python(week_start, rest, waiting)
        user_ids = sorted(_donors_with_rows(week_start) | _held_donors(waiting))
    else:
        user_ids = [id_of(u, "user_ids", User) for u in user_ids]
        waiting = _waiting(week_start, user_ids)
        if connection.vendor == "postgresql":
            written, rest = 0, []
            for start in range(0, len(user_ids), USER_CHUNK):
                chunk = user_ids[start : start + USER_CHUNK]
                in_db, left = _write_in_db(week_start, chunk, waiting)
                written += in_db
                rest += left
            return written + _write_in_python(week_start, rest, waiting)
    return _write_in_python(week_start, user_ids, waiting)


def _write_in_python(week_start: dt.date, user_ids: list[int], waiting: dict[int, dict]) -> int:
    """The reports of these donors built in Python, a chunk of donors per transaction."""
    written = 0
    for start in range(0, len(user_ids), USER_CHUNK):
        chunk = user_ids[start : start + USER_CHUNK]
        mine = {u: waiting[u] for u in chunk if u in waiting}
        with transaction.atomic():
            written += _upsert(week_start, _breakdowns(week_start, chunk), mine)
    return written


# PostgreSQL: per (donor, charity) the cents and the reasons in subscription order (what
# the Python build's Min(reason) gives for one row and its join for several); per donor
# the breakdown in the Python build's order (biggest first, then by charity). A donor
# with no report yet and no money that waited has theirs inserted as revision 1; one
# whose report has the same contents (and no waiting money) is left alone; the others
# are returned, for the Python build to revise.
_IN_DB_SQL = """
WITH built AS (
    SELECT user_id, sum(cents) AS total, count(*) AS n,
           jsonb_agg(jsonb_build_object('charity_id', charity_id, 'charity_name',
                                        charity_name, 'amount_cents', cents, 'reason', reason)
                     ORDER BY cents DESC, charity_id) AS breakdown
      FROM ({per_charity}) AS per_charity (user_id, charity_id, charity_name, cents, reason)
     GROUP BY user_id
), mine AS (
    SELECT * FROM built WHERE user_id <> ALL(%s)
), old AS (
    SELECT r.user_id,
           (r.distribution_breakdown = m.breakdown
            AND r.held_cents = 0 AND r.held_since IS NULL AND r.hold_reason = ''
            AND r.held_place = '' AND r.released_cents = 0 AND r.released_from IS NULL
            AND r.released_to IS NULL AND r.released_reason = '') AS same
      FROM {report} r JOIN mine m ON m.user_id = r.user_id
     WHERE r.week_start = %s
), inserted AS (
    INSERT INTO {report} (user_id, week_start, total_distributed_cents, charities_supported,
                          distribution_breakdown, generated_at, emailed_at, revision,
                          revised_at, emailed_revision, previous_breakdown,
                          previous_total_cents, held_cents, held_since, hold_reason,
                          held_place, released_cents, released_from, released_to,
                          released_reason)
    SELECT m.user_id, %s, m.total, m.n, m.breakdown, %s, NULL, 1, NULL, 0, NULL, NULL,
           0, NULL, '', '', 0, NULL, NULL, ''
      FROM mine m
     WHERE NOT EXISTS (SELECT 1 FROM old o WHERE o.user_id = m.user_id)
    -- Two writers of the same week meet on the unique (user, week): the later one writes
    -- the same figures (as the Python build's bulk_create does).
    ON CONFLICT (user_id, week_start) DO UPDATE SET
        total_distributed_cents = EXCLUDED.total_distributed_cents,
        charities_supported = EXCLUDED.charities_supported,
        distribution_breakdown = EXCLUDED.distribution_breakdown,
        held_cents = 0, held_since = NULL, hold_reason = '', held_place = '',
        released_cents = 0, released_from = NULL, released_to = NULL, released_reason = ''
)
SELECT (SELECT count(*) FROM mine) - (SELECT count(*) FROM old WHERE NOT same),
       (SELECT coalesce(array_agg(user_id ORDER BY user_id), '{{}}') FROM old WHERE NOT same)
"""


_SET_LOCAL = "SELECT set_config(%s, %s, true), set_config(%s, %s, true)"


def _write_in_db(
    week_start: dt.date, user_ids: list[int] | None, waiting: dict[int, dict]
) -> tuple[int, list[int]]:
    """The week's reports of these donors (None: all) built and inserted by PostgreSQL,
    in one statement (_IN_DB_SQL). Returns how many donors it covered and, in id order,
    the donors the Python build must write: those with money that waited and those whose
    report changed."""
    rows = get_distributions_by_week(week_start)
    if user_ids is not None:
        rows = rows.filter(subscription__user_id__in=user_ids)
        waited = sorted(set(user_ids) & waiting.keys())
    else:
        waited = sorted(waiting)
    per_charity, params = (
        rows.values("subscription__user_id", "charity_id", "charity__name")
        .annotate(
            cents=Sum("amount_cents"),
            reason=StringAgg("reason", delimiter=" ", order_by="subscription_id"),
        )
        .order_by()
        .query.sql_with_params()
    )
    sql = _IN_DB_SQL.format(per_charity=per_charity, report=Report._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        # For this statement only (put back after it, as the caller's transaction may go
        # on): more memory for its sorts (a week of rows: fewer passes on disk), and the
        # breakdowns (about 3 kB of text each, compressed when stored) compressed by lz4
        # where the server has it, several times cheaper than the default pglz.
        cursor.execute(
            "SELECT current_setting('work_mem'), current_setting('default_toast_compression'),"
            " 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        work_mem, compression, has_lz4 = cursor.fetchone()
        cursor.execute(_SET_LOCAL, ["work_mem", "64MB", "default_toast_compression",
                                    "lz4" if has_lz4 else compression])  # fmt: skip
        cursor.execute(sql, [*params, waited, week_start, week_start, timezone.now()])
        written, changed = cursor.fetchone()
        cursor.execute(_SET_LOCAL, ["work_mem", work_mem, "default_toast_compression",
                                    compression])  # fmt: skip
    return written, sorted({*changed, *waited})


# --- email --------------------------------------------------------------------------


def _manage_links(subscriptions) -> list[dict]:
    """One signed manage link per gift of the donor's that is not cancelled, with its
    weekly amount, so the report's reader can pause, skip or change it without signing
    in (subscriptions.links)."""
    return [
        {
            "weekly_cents": sub.gift_cents if sub.covers_fees else sub.amount_cents,
            "status": sub.get_status_display(),
            "url": manage_url(sub),
        }
        for sub in subscriptions
    ]


def _message(
    report: Report, connection, *, corrected: bool = False, subscriptions=None
) -> EmailMultiAlternatives:
    week_end = report.week_start + dt.timedelta(days=6)
    if subscriptions is None:
        subscriptions = get_live_subscriptions_by_user([report.user_id]).get(report.user_id, [])
    context = {
        "user": report.user,
        "report": report,
        "corrected": corrected,
        "changes": report.changes() if corrected else [],
        "items": report.distribution_breakdown,
        # What the donor paid for the money given this week and the processor's fee on it.
        "fees": get_user_week_fees([report.user_id], report.week_start).get(report.user_id),
        "week_start": report.week_start,
        "week_end": week_end,
        "report_url": f"{settings.SITE_URL}/reports/{report.pk}/",
        "settings_url": f"{settings.SITE_URL}/dashboard/",
        "manage_links": _manage_links(subscriptions),
        "manage_link_days": settings.MANAGE_LINK_MAX_AGE_DAYS,
    }
    subject = " ".join(render_to_string("reports/email/subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("reports/email/report.txt", context),
        to=[report.user.email],
        connection=connection,
    )
    message.attach_alternative(render_to_string("reports/email/report.html", context), "text/html")
    return message


def _due(week_start: dt.date):
    return Report.objects.filter(
        week_start=week_start,
        emailed_revision__lt=F("revision"),
        user__wants_report_emails=True,
        user__is_active=True,
    )


def send_report_emails(week_start, *, user_ids=None) -> int:
    """Email the week's reports whose latest revision the donor has not been sent, to
    donors who want them: the report itself the first time, one "corrected" email naming
    what changed when the money changed after that. A report whose figures did not change
    is never sent again. Returns how many were claimed for sending. Safe to call again and
    from several workers at once."""
    week_start = require_week(week_start)
    due = _due(week_start)
    if user_ids is not None:
        due = due.filter(user_id__in=[id_of(u, "user_ids", User) for u in user_ids])
    claimed = 0
    last_id = 0
    while True:
        with transaction.atomic():
            # Keyset order: a report whose mail fails is released, and not retried in a
            # loop by this same call.
            rows = list(
                due.filter(id__gt=last_id)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("id")
                .values_list("id", "emailed_revision", "emailed_at")[:EMAIL_BATCH]
            )
            if not rows:
                return claimed
            last_id = rows[-1][0]
            before = {pk: (revision, at) for pk, revision, at in rows}
            stamp = timezone.now()
            Report.objects.filter(id__in=list(before)).update(
                emailed_at=stamp, emailed_revision=F("revision")
            )
            transaction.on_commit(lambda b=before, stamp=stamp: _send(b, stamp))
            claimed += len(rows)


def _send(before: dict[int, tuple[int, dt.datetime | None]], stamp: dt.datetime) -> None:
    """before: report id -> (revision emailed, emailed_at) before this claim."""
    reports = list(
        Report.objects.select_related("user").filter(id__in=list(before), emailed_at=stamp)
    )
    live = get_live_subscriptions_by_user({report.user_id for report in reports})
    connection = get_connection()
    for report in reports:
        emailed_revision, emailed_at = before[report.pk]
        try:
            _message(
                report,
                connection,
                corrected=emailed_revision > 0,
                subscriptions=live.get(report.user_id, []),
            ).send()
        except Exception:
            logger.exception("Report email to user %s failed; it will be retried", report.user_id)
            Report.objects.filter(pk=report.pk, emailed_at=stamp).update(
                emailed_at=emailed_at, emailed_revision=emailed_revision
            )


def reports_by_city(week_start) -> list[tuple[str, int, int, int]]:
    """(place, reports, cents reported, emailed) per donor city for the week."""
    week_start = require_week(week_start)
    rows = (
        Report.objects.filter(week_start=week_start)
        .values(key=Lower("user__city"), st=F("user__state"))
        .annotate(
            city=Min("user__city"),
            n=Count("id"),
            total=Sum("total_distributed_cents"),
            emailed=Count("id", filter=Q(emailed_at__isnull=False)),
        )
        .order_by("st", "key")
    )
    return [
        (
            format_place(get_place_label(r["city"], r["st"]), r["st"])
            if r["city"]
            else NO_CITY_LABEL,
            r["n"],
            r["total"],
            r["emailed"],
        )
        for r in rows
    ]

"""The donor's end of the flow: the dashboard (subscriptions, giving so far, charts),
the weekly reports, the giving history as CSV and the yearly statement.

Every read goes through a selector filtered by request.user, so a donor can only ever see
their own rows: the dashboard pages have no id in their URLs, and a report id that is not
the donor's finds nothing (404). Every page here shows the donor's own money, so each
answers `Cache-Control: private, no-store` (never_cache): no proxy, CDN or shared disk
cache keeps a copy.
"""

import csv
import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from charities.selectors import get_gift_lines, get_place_label
from core.charts import split_bar_chart, weekly_bar_chart
from core.places import format_place
from core.templatetags.money import format_cents, percentages
from distributions.selectors import (
    get_user_charity_totals,
    get_user_dashboard_state,
    get_user_giving_years,
    get_user_history,
    get_user_latest_split,
    get_user_lifetime_totals,
    get_user_statement,
    get_user_weekly_totals,
)
from subscriptions.forms import PauseUntilForm
from subscriptions.models import MAX_AMOUNT_CENTS, MIN_AMOUNT_CENTS, SubscriptionStatus
from subscriptions.selectors import (
    get_subscriptions_state_key,
    get_user_given_payments,
    get_user_payments,
    get_user_week_fees,
    with_schedules,
)

from .selectors import get_donor_money, get_latest_report, get_report, get_user_reports, held_note

CHART_WEEKS = 104
PAGE_SIZE = 26


@login_required
@never_cache
@require_safe
def dashboard(request):
    # Queries: session (cached_db: none on a cache hit), user, and one for the ledger
    # version with the subscriptions. The history part (lifetime totals, weekly totals,
    # per-charity totals, newest week's split, giving years, newest report: six more
    # queries) is only computed when its cached fragments miss, which happens once per
    # donor per new ledger row.
    user = request.user
    now = timezone.now()
    # One query: the ledger version and the subscriptions, each with its schedule (next
    # payment, pause end, what "skip" would do).
    version, subscriptions = get_user_dashboard_state(user, now=now)
    subscriptions = with_schedules(subscriptions, now=now)
    today = timezone.localdate(now)
    money = get_donor_money(user, version=version)
    subscriptions_key = get_subscriptions_state_key(subscriptions, today=today)
    place = format_place(get_place_label(user.city, user.state), user.state) if user.city else ""
    note = held_note(user, money["held_cents"])  # no query unless money is held
    return render(
        request,
        "reports/dashboard.html",
        {
            "subscriptions": subscriptions,
            "has_live_subscription": any(
                s.status != SubscriptionStatus.CANCELLED for s in subscriptions
            ),
            "ledger_version": version,
            # The subscriptions' part of the page is cached under this (cache_forms).
            "subscriptions_key": subscriptions_key,
            # And the whole page's content under everything it shows: the history (the
            # ledger version), the subscriptions, the money figures, the place, the note.
            "page_key": (
                version,
                subscriptions_key,
                sorted(money.items()),
                place,
                bool(user.city),
                note,
            ),
            "money": money,
            "held_note": note,
            "place": place,
            "history": SimpleLazyObject(lambda: _history(user)),
            "min_dollars": MIN_AMOUNT_CENTS // 100,
            "max_dollars": MAX_AMOUNT_CENTS // 100,
            "pause_form": SimpleLazyObject(lambda: PauseUntilForm(today=today)),
        },
    )


def _history(user) -> dict:
    weekly = get_user_weekly_totals(user, limit=CHART_WEEKS)
    charity_totals = get_user_charity_totals(user)
    split_week, split = get_user_latest_split(user)
    return {
        "lifetime": get_user_lifetime_totals(user),
        "weekly": weekly,
        "weekly_chart": weekly_bar_chart(weekly, title="Your giving per week"),
        "charity_totals": charity_totals,
        "split_chart": split_bar_chart(
            [(row["charity__name"], row["total_cents"]) for row in charity_totals],
            title="Your giving by charity, all time",
        ),
        "split_week": split_week,
        "split": split,
        "split_total": sum(row["amount_cents"] for row in split),
        "years": get_user_giving_years(user),
        "latest_report": get_latest_report(user),
    }


class _Echo:
    def write(self, value):
        return value


# amount / amount_cents: what the charity received on this row (given: a share of the
# payment's net). payment_paid_cents / payment_fee_cents: what the subscription's payments
# shared out that week cost the donor (gross) and the card processor's fee on them, the
# same on each row of the (week, subscription): the rows' amounts add up to paid - fee.
CSV_HEADER = [
    "week_start", "distribution_date", "charity_id", "charity", "ein", "city", "state",
    "amount", "amount_cents", "percent_of_payment", "subscription_id", "reason", "note",
    "payment_paid_cents", "payment_fee_cents",
]  # fmt: skip


def _history_rows(user):
    """One line per row, oldest week first; a subscription's rows of a week come together,
    with their percentages of that week's payment (adding up to 100, the rule the
    sentences use: core.templatetags.money.percentages)."""
    yield CSV_HEADER
    # The week's gift that includes money paid before the week (held, or recorded late)
    # says so on each of its rows, as the week's report does.
    notes = {
        r.week_start: f"This week's gift {r.released_text}."
        for r in get_user_reports(user).filter(released_cents__gt=0)
    }
    payments = get_user_given_payments(user)
    group: list = []
    for row in get_user_history(user).iterator(chunk_size=2000):
        if group and (row.week_start, row.subscription_id) != (
            group[0].week_start,
            group[0].subscription_id,
        ):
            yield from _history_group(group, notes, payments)
            group = []
        group.append(row)
    yield from _history_group(group, notes, payments)


def _history_group(rows, notes, payments):
    shares = percentages([row.amount_cents for row in rows])
    for row, share in zip(rows, shares, strict=True):
        charity = row.charity
        paid, fee = payments.get((row.subscription_id, row.week_start), ("", ""))
        yield [
            row.week_start.isoformat(), row.distribution_date.isoformat(), charity.pk,
            charity.name, charity.ein_display, charity.city, charity.state,
            format_cents(row.amount_cents), row.amount_cents, share, row.subscription_id,
            row.reason, notes.get(row.week_start, ""), paid, fee,
        ]  # fmt: skip


def _csv_safe(value):
    """Spreadsheets run a cell that starts with = + - @ as a formula; names come from
    outside, so such text cells get a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@login_required
@never_cache
@require_safe
def history_csv(request):
    writer = csv.writer(_Echo())
    stream = (writer.writerow([_csv_safe(v) for v in row]) for row in _history_rows(request.user))
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    today = timezone.localdate()
    response["Content-Disposition"] = f'attachment; filename="giving-history-{today}.csv"'
    return response


@login_required
@never_cache
@require_safe
def statement(request, year: int):
    if not 2000 <= year <= timezone.localdate().year + 1:
        raise Http404("No statement for that year.")
    rows = get_user_statement(request.user, year)
    zone = timezone.get_current_timezone()
    payments = get_user_payments(
        request.user,
        paid_from=dt.datetime(year, 1, 1, tzinfo=zone),
        paid_before=dt.datetime(year + 1, 1, 1, tzinfo=zone),
    )
    return render(
        request,
        "reports/statement.html",
        {
            "year": year,
            "rows": rows,
            "payments": payments,
            "total_cents": sum(row["total_cents"] for row in rows),
            "generated_on": timezone.localdate(),
            "period_start": dt.date(year, 1, 1),
            "period_end": dt.date(year, 12, 31),
        },
    )


@login_required
@never_cache
@require_safe
def report_list(request):
    # Queries: session, user, count, one page of reports (a donor's own only).
    reports = get_user_reports(request.user).only(
        "id", "week_start", "total_distributed_cents", "charities_supported"
    )
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "reports/list.html", {"page": page})


@login_required
@never_cache
@require_safe
def report_detail(request, pk):
    report = get_report(request.user, pk)
    if report is None:
        raise Http404("No such report.")
    breakdown = sorted(
        report.distribution_breakdown or [],
        key=lambda row: (-int(row.get("amount_cents") or 0), str(row.get("charity_name"))),
    )
    chart = split_bar_chart(
        [
            (str(row.get("charity_name", "")), int(row.get("amount_cents") or 0))
            for row in breakdown
        ],
        title=f"Where your money went in the week of {report.week_start:%b %-d, %Y}",
    )
    # The charity's own "what a gift does" line beside the ledger's sentence (live: what
    # it says now, from its portal profile).
    lines = get_gift_lines(
        row.get("charity_id") for row in breakdown if isinstance(row.get("charity_id"), int)
    )
    breakdown = [{**row, "gift_line": lines.get(row.get("charity_id"), "")} for row in breakdown]
    return render(
        request,
        "reports/detail.html",
        {
            "report": report,
            "breakdown": breakdown,
            "chart": chart,
            "fees": get_user_week_fees([request.user.pk], report.week_start).get(request.user.pk),
        },
    )

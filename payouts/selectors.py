"""Reads of the money that reaches charities: per charity (distributed, paid out, in
payment, owed; the words of payouts.models), the platform summary staff and
`money_report` show, and a charity's printable statement for a month.

Periods are calendar months in settings.TIME_ZONE, named by their first day. The summary
gives, for a period, what happened in it (money collected, distributed and paid in that
month) and the balances at its end, with the identities that must hold to the cent:

- gross = fees + net + gross whose fee is not read yet (contributions paid),
- net = distributed + held (every net cent collected is given or still waiting),
- distributed = paid out + owed (every cent given has reached the charity or is owed),
- payouts = their slices (a live payout's amount is the sum of the rows it covers).

Each side of an identity is summed on its own from the ledger (held from the
contributions not distributed by then, owed from the rows no paid payout covers), so a
mismatch shows a real fault in the ledger; it is shown, never hidden.

As of the end of a period: a contribution counts once paid (paid_at), a Distribution row
once written (created_at), and a contribution is held until its rows were written. A
payout's money counts by its rows (PayoutSlice.rows_created_at), with the payout's status
as it is today: a March payout confirmed in April shows as paid out when the report is
run in April. A period's own payouts are those made for it (Payout.period).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import Coalesce
from django_celery_beat.models import PeriodicTask

from charities.models import Charity
from charities.selectors import Eligibility, get_payout_eligibility
from core.months import next_month, period_bounds
from core.weeks import local_zone
from distributions.models import Distribution
from subscriptions.models import Contribution

from .models import Payout, PayoutAccount, PayoutSlice, PayoutStatus

PAID_OUT_STATUSES = (PayoutStatus.SENT, PayoutStatus.PAID)
MONTHLY_PAYOUTS_TASK = "Monthly payouts"
DEFAULT_PAYOUT_DAY = 3


# --- periods ----------------------------------------------------------------------------


# --- per charity ------------------------------------------------------------------------


@dataclass(frozen=True)
class CharityMoney:
    distributed_cents: int = 0
    paid_out_cents: int = 0
    in_payment_cents: int = 0

    @property
    def owed_cents(self) -> int:
        """Not reached the charity yet (what is in payment included)."""
        return self.distributed_cents - self.paid_out_cents

    @property
    def payable_cents(self) -> int:
        """Owed and not already in a pending payout: what the next run could pay."""
        return self.owed_cents - self.in_payment_cents


def get_charities_money(charity_ids) -> dict[int, CharityMoney]:
    """Money of many charities in two queries (the ledger's rows, the payouts)."""
    ids = list(charity_ids)
    distributed = dict(
        Distribution.objects.filter(charity_id__in=ids)
        .values("charity_id")
        .annotate(total=Sum("amount_cents"))
        .values_list("charity_id", "total")
    )
    payouts = {
        row["charity_id"]: row
        for row in Payout.objects.filter(charity_id__in=ids)
        .values("charity_id")
        .annotate(
            paid=Sum("amount_cents", filter=Q(status__in=PAID_OUT_STATUSES)),
            pending=Sum("amount_cents", filter=Q(status=PayoutStatus.PENDING)),
        )
    }
    out = {}
    for charity_id in ids:
        row = payouts.get(charity_id, {})
        out[charity_id] = CharityMoney(
            distributed_cents=distributed.get(charity_id) or 0,
            paid_out_cents=row.get("paid") or 0,
            in_payment_cents=row.get("pending") or 0,
        )
    return out


def get_charity_money(charity: Charity) -> CharityMoney:
    return get_charities_money([charity.pk])[charity.pk]


# --- next payout ------------------------------------------------------------------------


@dataclass(frozen=True)
class NextPayout:
    scheduled: bool
    run_at: dt.datetime | None  # the next monthly run, local time
    payable_cents: int
    minimum_cents: int
    eligibility: Eligibility
    method: str  # "stripe" when a ready Stripe account exists, else "manual"
    account: PayoutAccount | None

    @property
    def above_minimum(self) -> bool:
        return self.payable_cents >= self.minimum_cents

    @property
    def would_pay(self) -> bool:
        return self.scheduled and self.eligibility.eligible and self.above_minimum

    @property
    def why_not(self) -> str:
        if not self.scheduled:
            return "no monthly payout run is scheduled"
        if not self.eligibility.eligible:
            return self.eligibility.reason
        if not self.payable_cents:
            return "nothing new to pay: all it is owed is in a payout already"
        if not self.above_minimum:
            return "below the payout minimum; it keeps accruing"
        return ""


def _next_run(task: PeriodicTask, now: dt.datetime) -> dt.datetime:
    """The next time of a monthly crontab entry (day of month, hour, minute as plain
    numbers; anything else counts as the 3rd at 00:00)."""
    crontab = task.crontab
    zone = local_zone()

    def number(value, default):
        return int(value) if str(value).isdigit() else default

    day = number(crontab.day_of_month, DEFAULT_PAYOUT_DAY) if crontab else DEFAULT_PAYOUT_DAY
    hour = number(crontab.hour, 0) if crontab else 0
    minute = number(crontab.minute, 0) if crontab else 0
    local = now.astimezone(zone)
    month = local.date().replace(day=1)
    for _ in range(13):
        if day <= 28 or (next_month(month) - dt.timedelta(days=1)).day >= day:
            candidate = dt.datetime.combine(month.replace(day=day), dt.time(hour, minute), zone)
            if candidate > local:
                return candidate
        month = next_month(month)
    raise ValueError(f"crontab day {day} never comes")  # pragma: no cover


def get_next_payout(charity: Charity, *, money: CharityMoney, now: dt.datetime) -> NextPayout:
    """When the next monthly payout runs and whether it would pay this charity: the beat
    entry "Monthly payouts" (if it exists and is enabled), eligibility, the minimum
    (settings.PAYOUT_MINIMUM_CENTS) and the method (a ready Stripe account, or by hand)."""
    task = (
        PeriodicTask.objects.select_related("crontab")
        .filter(name=MONTHLY_PAYOUTS_TASK, enabled=True)
        .first()
    )
    account = PayoutAccount.objects.filter(charity=charity).first()
    return NextPayout(
        scheduled=task is not None,
        run_at=_next_run(task, now) if task is not None else None,
        payable_cents=money.payable_cents,
        minimum_cents=getattr(settings, "PAYOUT_MINIMUM_CENTS", 1000),
        eligibility=get_payout_eligibility([charity], at=now)[charity.pk],
        method="stripe" if account is not None and account.ready else "manual",
        account=account,
    )


# --- platform summary -------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    name: str
    left_label: str
    left_cents: int
    right: list[tuple[str, int]]

    @property
    def right_cents(self) -> int:
        return sum(cents for _, cents in self.right)

    @property
    def difference_cents(self) -> int:
        return self.left_cents - self.right_cents

    @property
    def holds(self) -> bool:
        return self.difference_cents == 0

    def text(self) -> str:
        return f"{self.left_label} = " + " + ".join(label for label, _ in self.right)


@dataclass(frozen=True)
class Figures:
    gross_cents: int
    fees_cents: int
    net_cents: int
    pending_count: int
    pending_gross_cents: int
    distributed_cents: int
    paid_out_cents: int
    in_payment_cents: int
    held_cents: int | None = None  # balances only
    owed_cents: int | None = None  # balances only


@dataclass(frozen=True)
class MoneySummary:
    period: dt.date
    start: dt.datetime
    end: dt.datetime
    in_period: Figures
    to_end: Figures
    identities: list[Identity] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return all(identity.holds for identity in self.identities)

    @property
    def label(self) -> str:
        return f"{self.period:%B %Y}"


def _contributions(start, end) -> dict:
    window = Q(paid_at__lt=end) if start is None else Q(paid_at__gte=start, paid_at__lt=end)
    pending = Q(fee_cents__isnull=True)
    return Contribution.objects.filter(window).aggregate(
        gross=Coalesce(Sum("amount_cents"), 0),
        fees=Coalesce(Sum("fee_cents"), 0),
        net=Coalesce(Sum("net_cents"), 0),
        pending_count=Count("id", filter=pending),
        pending_gross=Coalesce(Sum("amount_cents", filter=pending), 0),
    )


def get_money_summary(period: dt.date) -> MoneySummary:
    """The platform's money for a month and to its end, with the identities (see the
    module docstring). Eight queries, whatever the size of the ledger."""
    start, end = period_bounds(period)
    flow, balance = _contributions(start, end), _contributions(None, end)

    paid_slice = PayoutSlice.objects.filter(
        live=True,
        payout__status__in=PAID_OUT_STATUSES,
        charity_id=OuterRef("charity_id"),
        week_start=OuterRef("week_start"),
        rows_created_at=OuterRef("created_at"),
    )
    rows = (
        Distribution.objects.filter(created_at__lt=end)
        .annotate(paid=Exists(paid_slice))
        .aggregate(
            to_end=Coalesce(Sum("amount_cents"), 0),
            in_period=Coalesce(Sum("amount_cents", filter=Q(created_at__gte=start)), 0),
            owed=Coalesce(Sum("amount_cents", filter=Q(paid=False)), 0),
        )
    )
    # Held at the end: net collected by then whose rows were not written by then (the
    # rows of a subscription's week carry the contributions distributed in that week).
    written = Distribution.objects.filter(
        subscription_id=OuterRef("subscription_id"),
        week_start=OuterRef("distributed_week"),
        created_at__lt=end,
    )
    held = (
        Contribution.objects.filter(paid_at__lt=end, net_cents__isnull=False)
        .annotate(written=Exists(written))
        .filter(Q(distributed_week__isnull=True) | Q(written=False))
        .aggregate(total=Coalesce(Sum("net_cents"), 0))["total"]
    )
    slices = PayoutSlice.objects.filter(live=True, rows_created_at__lt=end).aggregate(
        paid=Coalesce(Sum("amount_cents", filter=Q(payout__status__in=PAID_OUT_STATUSES)), 0),
        pending=Coalesce(Sum("amount_cents", filter=Q(payout__status=PayoutStatus.PENDING)), 0),
    )
    period_payouts = Payout.objects.filter(period=period.replace(day=1)).aggregate(
        paid=Coalesce(Sum("amount_cents", filter=Q(status__in=PAID_OUT_STATUSES)), 0),
        pending=Coalesce(Sum("amount_cents", filter=Q(status=PayoutStatus.PENDING)), 0),
    )
    # Every live payout against the live slices it covers (all of them, whatever period).
    live = Q(status__in=[PayoutStatus.PENDING, *PAID_OUT_STATUSES])
    payouts_total = Payout.objects.filter(live).aggregate(total=Coalesce(Sum("amount_cents"), 0))
    slices_total = PayoutSlice.objects.filter(
        live=True, payout__status__in=[PayoutStatus.PENDING, *PAID_OUT_STATUSES]
    ).aggregate(total=Coalesce(Sum("amount_cents"), 0))

    in_period = Figures(
        gross_cents=flow["gross"],
        fees_cents=flow["fees"],
        net_cents=flow["net"],
        pending_count=flow["pending_count"],
        pending_gross_cents=flow["pending_gross"],
        distributed_cents=rows["in_period"],
        paid_out_cents=period_payouts["paid"],
        in_payment_cents=period_payouts["pending"],
    )
    to_end = Figures(
        gross_cents=balance["gross"],
        fees_cents=balance["fees"],
        net_cents=balance["net"],
        pending_count=balance["pending_count"],
        pending_gross_cents=balance["pending_gross"],
        distributed_cents=rows["to_end"],
        paid_out_cents=slices["paid"],
        in_payment_cents=slices["pending"],
        held_cents=held,
        owed_cents=rows["owed"],
    )

    def collected(label: str, figures) -> Identity:
        return Identity(
            label,
            "gross",
            figures.gross_cents,
            [
                ("fees", figures.fees_cents),
                ("net", figures.net_cents),
                ("gross with fee not read yet", figures.pending_gross_cents),
            ],
        )

    identities = [
        collected("Collected in the month", in_period),
        collected("Collected to the end", to_end),
        Identity(
            "Net given or held",
            "net",
            to_end.net_cents,
            [("distributed", to_end.distributed_cents), ("held", held)],
        ),
        Identity(
            "Distributed paid or owed",
            "distributed",
            to_end.distributed_cents,
            [("paid out", to_end.paid_out_cents), ("owed", to_end.owed_cents)],
        ),
        Identity(
            "Payouts match their rows",
            "live payouts",
            payouts_total["total"],
            [("their live slices", slices_total["total"])],
        ),
    ]
    return MoneySummary(period.replace(day=1), start, end, in_period, to_end, identities)


# --- a charity's statement --------------------------------------------------------------


@dataclass(frozen=True)
class StatementWeek:
    week_start: dt.date
    amount_cents: int
    donors: int  # distinct subscriptions; donors are counted, never named


@dataclass(frozen=True)
class Statement:
    charity: Charity
    period: dt.date
    weeks: list[StatementWeek]
    payouts: list[Payout]

    @property
    def total_cents(self) -> int:
        return sum(week.amount_cents for week in self.weeks)

    @property
    def paid_out_cents(self) -> int:
        return sum(p.amount_cents for p in self.payouts if p.status in PAID_OUT_STATUSES)

    @property
    def in_payment_cents(self) -> int:
        return sum(p.amount_cents for p in self.payouts if p.status == PayoutStatus.PENDING)


def get_statement(charity: Charity, period: dt.date) -> Statement:
    """The charity's weeks whose Monday is in the month (amount, donors counted), and the
    payouts made for that month. Two queries."""
    first = period.replace(day=1)
    weeks = [
        StatementWeek(row["week_start"], row["amount"], row["donors"])
        for row in Distribution.objects.filter(
            charity=charity, week_start__gte=first, week_start__lt=next_month(first)
        )
        .values("week_start")
        .annotate(amount=Sum("amount_cents"), donors=Count("subscription_id", distinct=True))
        .order_by("week_start")
    ]
    payouts = list(
        Payout.objects.filter(charity=charity, period=first).order_by("created_at", "id")
    )
    return Statement(charity=charity, period=first, weeks=weeks, payouts=payouts)


# --- a charity's weeks and payouts (the portal's money page) ----------------------------

PORTAL_WEEKS = 26
PORTAL_PAYOUTS = 36  # three years of monthly payouts; older ones are in the statements


@dataclass(frozen=True)
class WeeklyMoney:
    """The charity's last weeks, oldest first, a week without rows at zero."""

    weeks: list[StatementWeek]

    @property
    def total_cents(self) -> int:
        return sum(week.amount_cents for week in self.weeks)

    @property
    def most_donors(self) -> int:
        return max((week.donors for week in self.weeks), default=0)

    @property
    def points(self) -> list[tuple[dt.date, int]]:
        return [(week.week_start, week.amount_cents) for week in self.weeks]

    @property
    def periods(self) -> list[dt.date]:
        """The months the weeks fall in (by their Monday), newest first."""
        return sorted({week.week_start.replace(day=1) for week in self.weeks}, reverse=True)


def get_charity_weekly_money(
    charity: Charity, *, last_week: dt.date, weeks: int = PORTAL_WEEKS
) -> WeeklyMoney:
    """Per week of the `weeks` weeks ending with `last_week` (a Monday): what the charity
    received and from how many donors (distinct subscriptions; counted, never named).
    One query, over at most `weeks` weeks of the charity's rows."""
    first_week = last_week - dt.timedelta(weeks=weeks - 1)
    rows = {
        row["week_start"]: row
        for row in Distribution.objects.filter(
            charity=charity, week_start__gte=first_week, week_start__lte=last_week
        )
        .values("week_start")
        .annotate(amount=Sum("amount_cents"), donors=Count("subscription_id", distinct=True))
        .order_by()
    }
    series = []
    for index in range(weeks):
        week = first_week + dt.timedelta(weeks=index)
        row = rows.get(week, {})
        series.append(StatementWeek(week, row.get("amount") or 0, row.get("donors") or 0))
    return WeeklyMoney(series)


def get_charity_payouts(charity: Charity, *, limit: int = PORTAL_PAYOUTS) -> list[Payout]:
    """The charity's newest payouts, newest period first. One query."""
    return list(
        Payout.objects.filter(charity=charity).order_by("-period", "-created_at", "-id")[:limit]
    )

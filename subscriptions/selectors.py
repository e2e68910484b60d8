import datetime as dt
import hashlib
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Lower

from accounts.models import User
from core.places import city_q
from core.validation import id_of
from core.weeks import local_zone, week_bounds, week_of, week_start_for

from .models import DEMO_ID_PREFIX, Contribution, FeeSource, Subscription, SubscriptionStatus


def get_subscription_by_stripe_id(stripe_subscription_id) -> Subscription | None:
    if not isinstance(stripe_subscription_id, str) or not stripe_subscription_id.strip():
        raise ValidationError({"stripe_subscription_id": "Must be non-empty text."})
    return (
        Subscription.objects.select_related("user")
        .filter(stripe_subscription_id=stripe_subscription_id.strip())
        .first()
    )


def get_user_subscriptions(user) -> QuerySet[Subscription]:
    """A donor's subscriptions, newest first, whatever their status."""
    return Subscription.objects.filter(user_id=id_of(user, "user", User)).order_by(
        "-created_at", "-id"
    )


def get_active_subscriptions_by_city(city: str, state: str) -> QuerySet[Subscription]:
    return (
        Subscription.objects.select_related("user")
        .filter(city_q(city, state, prefix="user__"), status=SubscriptionStatus.ACTIVE)
        .order_by("id")
    )


def demo_billable_q(week_start: dt.date) -> Q:
    """Demo billing charges a week at its Monday (the contribution's paid_at): a gift is
    charged for the week when it is active, or paused until a date on or before that
    Monday (its pause was over when the week began; bill_demo_week resumes it after
    billing). A gift paused past the week's Monday is not charged for it: that is how
    "skip next week" and "pause until" skip weeks without Stripe."""
    return Q(status=SubscriptionStatus.ACTIVE) | Q(
        status=SubscriptionStatus.PAUSED, paused_until__lte=week_start
    )


def get_demo_charges_due(
    week_start: dt.date, *, city: str | None = None, state: str | None = None
) -> QuerySet[Subscription]:
    """Demo billing: the demo subscriptions (of one city, when given) charged for the week
    (demo_billable_q: active, or paused until a date no later than its Monday) that have
    started by the end of the week and have no contribution paid in it, i.e. what
    subscriptions.services.bill_demo_week would charge for the week. `week_start` is a
    checked Monday."""
    start, end = week_bounds(week_start)
    paid = Contribution.objects.filter(
        subscription_id=OuterRef("pk"), paid_at__gte=start, paid_at__lt=end
    )
    if city is None:
        subscriptions = Subscription.objects.filter(demo_billable_q(week_start))
    else:
        # The city's active gifts come from the seed's lookup; gifts whose pause ended by
        # the week's Monday are added.
        subscriptions = Subscription.objects.filter(
            Q(pk__in=get_active_subscriptions_by_city(city, state).values("pk"))
            | (
                Q(status=SubscriptionStatus.PAUSED, paused_until__lte=week_start)
                & city_q(city, state, prefix="user__")
            )
        )
    return subscriptions.filter(
        stripe_subscription_id__startswith=DEMO_ID_PREFIX,
        start_date__lte=week_start + dt.timedelta(days=6),
    ).filter(~Exists(paid))


# --- when the next payment is ---------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """When a gift is charged next, for the donor's pages and emails.

    next_charge: the date of the next payment, or None (cancelled, paused with no end,
    or a Stripe gift whose period Stripe has not told us). With Stripe it is the day
    Stripe bills; in demo billing, which charges by calendar week, it is the Monday of
    the week the payment is for (the weekly run records it after the week).
    skip_until: what "skip next week" would set paused_until to, for an active gift whose
    next payment is known (None otherwise): the day after the next Stripe payment, or the
    Monday after the next demo week. (billing.skip_next_week reads Stripe afresh.)
    pause_over: paused until a date that has come (Stripe resumes by itself and tells us;
    demo billing resumes it at the next weekly run), so it is active again in effect.
    """

    status: str
    next_charge: dt.date | None
    by_week: bool
    paused_until: dt.date | None
    skip_until: dt.date | None
    pause_over: bool

    @property
    def next_charge_text(self) -> str:
        if self.next_charge is None:
            return ""
        if self.by_week:
            return f"Next payment: for the week of {long_date(self.next_charge)}."
        return f"Next payment: {long_date(self.next_charge)}."

    @property
    def text(self) -> str:
        """The state in one or two sentences, as the donor's pages and emails say it."""
        if self.status == SubscriptionStatus.CANCELLED:
            return "Cancelled: nothing more is charged."
        if self.status == SubscriptionStatus.PAUSED and self.paused_until is None:
            return "Paused: nothing is charged until you resume it."
        if self.paused_until is not None and not self.pause_over:
            first = f"Paused until {long_date(self.paused_until)}: nothing is charged before then."
        elif self.paused_until is not None:
            first = f"The pause ended on {long_date(self.paused_until)}."
        else:
            first = ""
        return " ".join(t for t in (first, self.next_charge_text) if t)


def long_date(day: dt.date) -> str:
    """'Monday, December 15' (no leading zero, no locale surprises)."""
    return f"{day:%A}, {day:%B} {day.day}"


def with_paid_this_week(queryset: QuerySet[Subscription], *, now: dt.datetime):
    """Annotate paid_this_week: a contribution paid in the local week of `now` (demo
    billing then charges next from the following week). No extra query."""
    start, end = week_bounds(week_of(now))
    paid = Contribution.objects.filter(
        subscription_id=OuterRef("pk"), paid_at__gte=start, paid_at__lt=end
    )
    return queryset.annotate(paid_this_week=Exists(paid))


def _first_monday_on_or_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(7 - day.weekday()) % 7)


def get_schedule(subscription: Subscription, *, now: dt.datetime) -> Schedule:
    """The Schedule of one gift at `now` (an aware moment; the caller reads the clock). A
    demo gift needs paid_this_week (with_paid_this_week) or costs one query."""
    today = now.astimezone(local_zone()).date()
    status = subscription.status
    paused_until = subscription.paused_until if status == SubscriptionStatus.PAUSED else None
    pause_over = paused_until is not None and paused_until <= today
    open_ended = status == SubscriptionStatus.PAUSED and paused_until is None
    if status == SubscriptionStatus.CANCELLED or open_ended:
        return Schedule(status, None, subscription.is_demo, paused_until, None, pause_over)
    if subscription.is_demo:
        next_charge = _next_demo_week(subscription, today=today, paused_until=paused_until)
        skip = next_charge + dt.timedelta(days=7)
        by_week = True
    else:
        next_charge = _next_stripe_charge(subscription, now=now, paused_until=paused_until)
        skip = next_charge + dt.timedelta(days=1) if next_charge else None
        by_week = False
    offered = status == SubscriptionStatus.ACTIVE and skip is not None
    return Schedule(
        status, next_charge, by_week, paused_until, skip if offered else None, pause_over
    )


def _next_demo_week(subscription, *, today: dt.date, paused_until) -> dt.date:
    paid = getattr(subscription, "paid_this_week", None)
    this_week = week_start_for(today)
    if paid is None:
        start, end = week_bounds(this_week)
        paid = subscription.contributions.filter(paid_at__gte=start, paid_at__lt=end).exists()
    week = this_week + dt.timedelta(days=7) if paid else this_week
    if paused_until is not None:
        week = max(week, _first_monday_on_or_after(paused_until))
    return max(week, week_start_for(subscription.start_date))


def next_stripe_charge_at(
    period_end: dt.datetime, *, now: dt.datetime, paused_until: dt.date | None
) -> dt.datetime:
    """The first weekly billing moment from period_end on that is not before now and not
    before the local midnight that starts paused_until (Stripe voids the invoices of a
    paused collection, and resumes at that midnight)."""
    not_before = now
    if paused_until is not None:
        not_before = max(now, dt.datetime.combine(paused_until, dt.time.min, tzinfo=local_zone()))
    if period_end >= not_before:
        return period_end
    weeks = -(-(not_before - period_end) // dt.timedelta(days=7))
    return period_end + weeks * dt.timedelta(days=7)


def _next_stripe_charge(subscription, *, now, paused_until) -> dt.date | None:
    if subscription.current_period_end is None:
        return None
    at = next_stripe_charge_at(subscription.current_period_end, now=now, paused_until=paused_until)
    return at.astimezone(local_zone()).date()


def get_user_subscriptions_with_schedule(user, *, now: dt.datetime) -> list[Subscription]:
    """A donor's subscriptions, newest first, each with its `schedule` (one query)."""
    return with_schedules(
        list(with_paid_this_week(get_user_subscriptions(user), now=now)), now=now
    )


def get_subscriptions_state_key(subscriptions: list[Subscription], *, today: dt.date) -> str:
    """A short key that changes whenever anything a page can show of these subscriptions
    (with their `schedule`, with_schedules) on `today` can differ: every column of each,
    its schedule and the date. Pages cache what they render of them under it."""
    fields = Subscription._meta.concrete_fields
    state = [(tuple(getattr(s, f.attname) for f in fields), s.schedule) for s in subscriptions]
    return hashlib.sha256(repr((today, state)).encode()).hexdigest()[:32]


def with_schedules(subscriptions: list[Subscription], *, now: dt.datetime) -> list[Subscription]:
    """Set each subscription's `schedule` at `now` (no query when each has paid_this_week
    or is not demo billing)."""
    for subscription in subscriptions:
        subscription.schedule = get_schedule(subscription, now=now)
    return subscriptions


def get_live_subscriptions_by_user(user_ids) -> dict[int, list[Subscription]]:
    """user id -> their subscriptions that are not cancelled, oldest first (what an email
    to the donor offers to manage). One query for any number of donors."""
    by_user: dict[int, list[Subscription]] = {}
    rows = (
        Subscription.objects.filter(user_id__in=list(user_ids))
        .exclude(status=SubscriptionStatus.CANCELLED)
        .order_by("created_at", "id")
    )
    for subscription in rows:
        by_user.setdefault(subscription.user_id, []).append(subscription)
    return by_user


def _by_user(contributions, user_ids):
    if user_ids is not None:
        contributions = contributions.filter(subscription__user_id__in=list(user_ids))
    return contributions.values(user_id=F("subscription__user_id")).order_by()


def get_waiting_by_user(
    *, paid_before: dt.datetime, week_start: dt.date, user_ids=None
) -> dict[int, tuple[int, dt.datetime]]:
    """user id -> (cents, oldest paid_at) of the money paid before a week's end that was
    not given in that week or before (it went out in a later week, or has not yet): held
    by the week's run where the donor's city was held (reports.services decides), or
    recorded after the run. Net money (what the processor left): a payment whose fee is
    still pending is not held by a run, it waits for its fee (get_user_money)."""
    rows = _by_user(
        Contribution.objects.filter(paid_at__lt=paid_before, net_cents__isnull=False).filter(
            Q(distributed_week__isnull=True) | Q(distributed_week__gt=week_start)
        ),
        user_ids,
    ).annotate(cents=Sum("net_cents"), since=Min("paid_at"))
    return {r["user_id"]: (r["cents"], r["since"]) for r in rows}


def get_released_by_user(
    week_start: dt.date, *, paid_before: dt.datetime, user_ids=None
) -> dict[int, tuple[int, dt.datetime, dt.datetime]]:
    """user id -> (cents, first and last paid_at) of the money given in a week that was
    paid before the week began: it waited (held, or recorded after its own week's run).
    Net money, as it was given."""
    rows = _by_user(
        Contribution.objects.filter(distributed_week=week_start, paid_at__lt=paid_before),
        user_ids,
    ).annotate(cents=Sum("net_cents"), first=Min("paid_at"), last=Max("paid_at"))
    return {r["user_id"]: (r["cents"], r["first"], r["last"]) for r in rows}


def get_user_money(user, *, held_before: dt.datetime | None) -> dict:
    """A donor's money in one query: paid (every contribution, gross: what the donor paid),
    the processor's fees (read from Stripe), fee_pending (paid, its fee not reported by
    Stripe yet: it waits for it and is not given or held), waiting (net not given yet), of
    which held (paid before `held_before`, the end of the newest week whose run has closed:
    a run saw it and could not place it) and since when; all_demo when every payment was
    demo billing (no card processor, so no fee)."""
    known = Q(net_cents__isnull=False)
    held = Q(distributed_week__isnull=True) & known
    if held_before is not None:
        held &= Q(paid_at__lt=held_before)
    else:
        held &= Q(pk__in=[])
    money = Contribution.objects.filter(subscription__user_id=id_of(user, "user", User)).aggregate(
        paid_cents=Coalesce(Sum("amount_cents"), 0),
        fees_cents=Coalesce(Sum("fee_cents"), 0),
        fee_pending_cents=Coalesce(Sum("amount_cents", filter=~known), 0),
        waiting_cents=Coalesce(
            Sum("net_cents", filter=Q(distributed_week__isnull=True) & known), 0
        ),
        held_cents=Coalesce(Sum("net_cents", filter=held), 0),
        held_since=Min("paid_at", filter=held),
        payments=Count("id"),
        demo_payments=Count("id", filter=Q(fee_source=FeeSource.DEMO)),
    )
    money["all_demo"] = bool(money["payments"]) and money["payments"] == money["demo_payments"]
    return money


def get_user_payments(user, *, paid_from: dt.datetime, paid_before: dt.datetime) -> dict:
    """What a donor paid in a period (by paid_at), for a statement: paid (gross, what the
    donor gave), the processor's fees, given (net: what could be given), fee_pending (paid, fee not
    reported by Stripe yet), the count of payments and whether all were demo billing."""
    money = Contribution.objects.filter(
        subscription__user_id=id_of(user, "user", User),
        paid_at__gte=paid_from,
        paid_at__lt=paid_before,
    ).aggregate(
        paid_cents=Coalesce(Sum("amount_cents"), 0),
        fees_cents=Coalesce(Sum("fee_cents"), 0),
        given_cents=Coalesce(Sum("net_cents"), 0),
        fee_pending_cents=Coalesce(Sum("amount_cents", filter=Q(net_cents__isnull=True)), 0),
        payments=Count("id"),
        demo_payments=Count("id", filter=Q(fee_source=FeeSource.DEMO)),
    )
    money["all_demo"] = bool(money["payments"]) and money["payments"] == money["demo_payments"]
    return money


def get_user_week_fees(user_ids, week_start: dt.date) -> dict[int, dict]:
    """user id -> {paid_cents, fees_cents, given_cents, all_demo} of the contributions given
    in a week (distributed_week): what the donors paid for the money the week's report
    shows, and the processor's fees on it. One query for any number of donors."""
    rows = _by_user(Contribution.objects.filter(distributed_week=week_start), user_ids).annotate(
        paid=Sum("amount_cents"),
        fees=Sum("fee_cents"),
        given=Sum("net_cents"),
        payments=Count("id"),
        demo_payments=Count("id", filter=Q(fee_source=FeeSource.DEMO)),
    )
    return {
        r["user_id"]: {
            "paid_cents": r["paid"],
            "fees_cents": r["fees"],
            "given_cents": r["given"],
            "all_demo": r["payments"] == r["demo_payments"],
        }
        for r in rows
    }


def has_undistributed_money() -> bool:
    """True while any collected money a run could give has not been distributed yet (a
    payment whose fee Stripe has not reported is not a run's to give)."""
    return Contribution.objects.filter(
        distributed_week__isnull=True, net_cents__isnull=False
    ).exists()


def get_contributions_with_pending_fee() -> QuerySet[Contribution]:
    """Stripe payments whose processor fee has not been read yet (subscriptions.fee_reads
    and sync_stripe read them); they wait, undistributed, until it is. Oldest first."""
    return Contribution.objects.filter(
        fee_source=FeeSource.PENDING, fee_cents__isnull=True
    ).order_by("paid_at", "id")


def get_user_given_payments(user) -> dict[tuple[int, dt.date], tuple[int, int]]:
    """(subscription id, week given) -> (paid cents, fee cents) of a donor's payments given
    that week: the gross the donor paid and the processor's fee on the money the week's
    rows (the net) share out. One query, for the history CSV."""
    rows = (
        Contribution.objects.filter(
            subscription__user_id=id_of(user, "user", User), distributed_week__isnull=False
        )
        .values("subscription_id", "distributed_week")
        .order_by()
        .annotate(paid=Sum("amount_cents"), fee=Sum("fee_cents"))
    )
    return {(r["subscription_id"], r["distributed_week"]): (r["paid"], r["fee"]) for r in rows}


def get_undistributed_by_place(*, held_before: dt.datetime | None) -> list[dict]:
    """The net money collected and not distributed yet, per donor's place: the money a
    run pools (what the processor left; a payment whose fee Stripe has not reported is
    not here, see get_pending_fee_totals). One query, whatever the size of the ledger.

    One dict per place, by state then city: key (the city lower-cased, "" for donors
    with no city), state, city (one donor spelling), cents, held_cents (paid before
    `held_before`, the end of the newest week whose run has closed: a run saw it and
    could not place it; 0 when None), since (the oldest paid_at), held_since,
    contributions, donors (distinct users) and subscriptions. Places compare as the
    engine pools them: the city case-insensitively, with the state.
    """
    held = Q(paid_at__lt=held_before) if held_before is not None else Q(pk__in=[])
    rows = (
        Contribution.objects.filter(distributed_week__isnull=True, net_cents__isnull=False)
        .values(key=Lower("subscription__user__city"), st=F("subscription__user__state"))
        .annotate(
            city=Min("subscription__user__city"),
            cents=Sum("net_cents"),
            held_cents=Coalesce(Sum("net_cents", filter=held), 0),
            since=Min("paid_at"),
            held_since=Min("paid_at", filter=held),
            contributions=Count("id"),
            donors=Count("subscription__user_id", distinct=True),
            subscriptions=Count("subscription_id", distinct=True),
        )
        .order_by("st", "key")
    )
    return [{**row, "state": row.pop("st")} for row in rows]


def get_pending_fee_totals() -> dict:
    """Payments whose processor fee Stripe has not reported yet (count, gross cents,
    oldest paid_at): collected, but not a run's to give until sync_stripe reads the
    fee. One query."""
    return Contribution.objects.filter(net_cents__isnull=True).aggregate(
        count=Count("id"),
        gross_cents=Coalesce(Sum("amount_cents"), 0),
        since=Min("paid_at"),
    )

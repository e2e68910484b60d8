"""Writes for subscriptions and the contribution ledger.

These functions change local state only. In demo billing (no Stripe keys) the donor's
buttons call them directly; with Stripe, subscriptions.billing calls Stripe first and
these only once Stripe has confirmed.
"""

import datetime as dt
import time
import uuid

from celery import signature
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from core.db import insert_if_absent, insert_if_absent_from
from core.money_log import log_money_on_commit
from core.places import city_q
from core.validation import (
    UNSET,
    require_aware_datetime,
    require_choice,
    require_date,
    require_instance,
    require_int,
    require_text,
)
from core.weeks import local_zone, require_week, week_bounds

from .emails import send_gift_started
from .models import (
    DEMO_ID_PREFIX,
    MAX_AMOUNT_CENTS,
    MIN_AMOUNT_CENTS,
    Contribution,
    FeeSource,
    StripeStatus,
    Subscription,
    SubscriptionStatus,
)
from .selectors import get_demo_charges_due, get_subscription_by_stripe_id


def require_amount_cents(value, field="amount_cents") -> int:
    return require_int(value, field, min_value=MIN_AMOUNT_CENTS, max_value=MAX_AMOUNT_CENTS)


def require_fee_terms(amount_cents: int, covers_fees, gift_cents) -> tuple[bool, int | None]:
    """(covers_fees, gift_cents) checked against the charge: a donor who covers the fees
    chose a gift of at least the minimum and is charged more than it; one who does not
    has no separate gift. ValidationError names the field."""
    if not isinstance(covers_fees, bool):
        raise ValidationError({"covers_fees": "covers_fees must be true or false."})
    if not covers_fees:
        if gift_cents is not None:
            raise ValidationError(
                {"gift_cents": "A separate gift is kept only when the donor covers the fees."}
            )
        return False, None
    gift_cents = require_int(gift_cents, "gift_cents", min_value=MIN_AMOUNT_CENTS)
    if gift_cents >= amount_cents:
        raise ValidationError(
            {"gift_cents": "Covering the fees, the charge must be more than the gift."}
        )
    return True, gift_cents


def new_demo_subscription_id() -> str:
    return f"{DEMO_ID_PREFIX}{uuid.uuid4().hex}"


@transaction.atomic
def create_subscription(
    *,
    user: User,
    amount_cents: int,
    status: str = SubscriptionStatus.ACTIVE,
    stripe_subscription_id: str | None = None,
    stripe_customer_id: str = "",
    stripe_status: str = "",
    start_date=None,
    covers_fees: bool = False,
    gift_cents: int | None = None,
) -> Subscription:
    """A new weekly subscription. Without a Stripe id it is a demo one ("demo_<uuid>").
    amount_cents is the weekly charge; covering the fees, gift_cents is what the donor
    chose to give (subscriptions.fees.gross_up sizes the charge)."""
    require_instance(user, "user", User)
    amount_cents = require_amount_cents(amount_cents)
    covers_fees, gift_cents = require_fee_terms(amount_cents, covers_fees, gift_cents)
    status = require_choice(status, "status", SubscriptionStatus.choices)
    stripe_status = require_choice(stripe_status, "stripe_status", StripeStatus.choices)
    if stripe_subscription_id is None:
        stripe_subscription_id = new_demo_subscription_id()
    stripe_subscription_id = require_text(
        stripe_subscription_id, "stripe_subscription_id", max_length=255
    )
    stripe_customer_id = require_text(
        stripe_customer_id, "stripe_customer_id", max_length=255, required=False
    )
    if get_subscription_by_stripe_id(stripe_subscription_id) is not None:
        raise ValidationError(
            {"stripe_subscription_id": f"{stripe_subscription_id} is already recorded."}
        )
    subscription = Subscription(
        user=user,
        amount_cents=amount_cents,
        covers_fees=covers_fees,
        gift_cents=gift_cents,
        status=status,
        stripe_subscription_id=stripe_subscription_id,
        stripe_customer_id=stripe_customer_id,
        stripe_status=stripe_status,
        start_date=require_date(start_date, "start_date") if start_date else timezone.localdate(),
        cancelled_at=timezone.now() if status == SubscriptionStatus.CANCELLED else None,
    )
    subscription.full_clean()
    subscription.save()
    return subscription


@transaction.atomic
def update_subscription(
    subscription: Subscription,
    *,
    amount_cents=UNSET,
    status=UNSET,
    stripe_status=UNSET,
    stripe_customer_id=UNSET,
    last_distribution_date=UNSET,
    covers_fees=UNSET,
    gift_cents=UNSET,
    paused_until=UNSET,
    current_period_end=UNSET,
) -> Subscription:
    """Change the given fields together. The fee terms (covers_fees, gift_cents) are
    checked against the new charge; give both when either changes. A gift that is no
    longer paused loses its paused_until (a date is only ever kept beside "paused")."""
    require_instance(subscription, "subscription", Subscription)
    fields = []
    if amount_cents is not UNSET:
        subscription.amount_cents = require_amount_cents(amount_cents)
        fields.append("amount_cents")
    if covers_fees is not UNSET or gift_cents is not UNSET:
        subscription.covers_fees, subscription.gift_cents = require_fee_terms(
            subscription.amount_cents,
            subscription.covers_fees if covers_fees is UNSET else covers_fees,
            subscription.gift_cents if gift_cents is UNSET else gift_cents,
        )
        fields += ["covers_fees", "gift_cents"]
    elif "amount_cents" in fields and subscription.covers_fees:
        require_fee_terms(subscription.amount_cents, True, subscription.gift_cents)
    if status is not UNSET:
        status = require_choice(status, "status", SubscriptionStatus.choices)
        if status == SubscriptionStatus.CANCELLED and subscription.cancelled_at is None:
            subscription.cancelled_at = timezone.now()
            fields.append("cancelled_at")
        elif status != SubscriptionStatus.CANCELLED and subscription.cancelled_at is not None:
            subscription.cancelled_at = None
            fields.append("cancelled_at")
        subscription.status = status
        fields.append("status")
    if stripe_status is not UNSET:
        subscription.stripe_status = require_choice(
            stripe_status, "stripe_status", StripeStatus.choices
        )
        fields.append("stripe_status")
    if stripe_customer_id is not UNSET:
        subscription.stripe_customer_id = require_text(
            stripe_customer_id, "stripe_customer_id", max_length=255, required=False
        )
        fields.append("stripe_customer_id")
    if last_distribution_date is not UNSET:
        subscription.last_distribution_date = (
            None
            if last_distribution_date is None
            else require_date(last_distribution_date, "last_distribution_date")
        )
        fields.append("last_distribution_date")
    if paused_until is not UNSET:
        subscription.paused_until = (
            None if paused_until is None else require_date(paused_until, "paused_until")
        )
        fields.append("paused_until")
    if subscription.status != SubscriptionStatus.PAUSED and subscription.paused_until:
        if paused_until is not UNSET and paused_until is not None:
            raise ValidationError({"paused_until": "Only a paused gift has a date to resume on."})
        subscription.paused_until = None
        fields.append("paused_until")
    if current_period_end is not UNSET:
        subscription.current_period_end = (
            None
            if current_period_end is None
            else require_aware_datetime(current_period_end, "current_period_end")
        )
        fields.append("current_period_end")
    if fields:
        fields = list(dict.fromkeys(fields))
        subscription.full_clean(validate_unique=False)
        subscription.save(update_fields=[*fields, "updated_at"])
    return subscription


def cancel_subscription(subscription: Subscription) -> Subscription:
    """Stop future payments. Money already collected is still distributed."""
    require_instance(subscription, "subscription", Subscription)
    if subscription.status == SubscriptionStatus.CANCELLED:
        return subscription
    return update_subscription(subscription, status=SubscriptionStatus.CANCELLED)


def pause_subscription(subscription: Subscription) -> Subscription:
    """Pause with no end date: nothing is charged until the donor resumes. A gift paused
    until a date may be made open-ended this way too."""
    require_instance(subscription, "subscription", Subscription)
    if not can_pause(subscription):
        raise ValidationError({"status": "Only an active subscription can be paused."})
    return update_subscription(subscription, status=SubscriptionStatus.PAUSED, paused_until=None)


def can_pause(subscription: Subscription) -> bool:
    """Active, or paused until a date (which pausing makes open-ended)."""
    return subscription.status == SubscriptionStatus.ACTIVE or (
        subscription.status == SubscriptionStatus.PAUSED and subscription.paused_until is not None
    )


# How far ahead a pause may end: a year of weeks. Longer is better done by cancelling
# (and the donor would long have forgotten the gift by the time it charged again).
PAUSE_MAX_DAYS = 365


def require_pause_until(value, *, today: dt.date, field: str = "paused_until") -> dt.date:
    """A date to resume on: after today and at most PAUSE_MAX_DAYS ahead (ValidationError
    naming the field otherwise). `today` is the local date the caller read from its clock."""
    day = require_date(value, field)
    if day <= today:
        raise ValidationError({field: "Choose a date after today."})
    latest = today + dt.timedelta(days=PAUSE_MAX_DAYS)
    if day > latest:
        raise ValidationError(
            {field: f"Choose a date within a year, by {latest:%B} {latest.day}, {latest.year}."}
        )
    return day


def pause_subscription_until(
    subscription: Subscription, *, until: dt.date, today: dt.date
) -> Subscription:
    """Pause until a date (demo billing's local change; with Stripe, billing.pause_until
    asks Stripe and records its answer): no payment is taken before `until`, and the gift
    is active again from it. Allowed while active or paused (a new date replaces the old,
    an open-ended pause gets an end)."""
    require_instance(subscription, "subscription", Subscription)
    until = require_pause_until(until, today=today)
    if subscription.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED):
        raise ValidationError({"status": "A cancelled subscription cannot be paused."})
    return update_subscription(subscription, status=SubscriptionStatus.PAUSED, paused_until=until)


def resume_subscription(subscription: Subscription) -> Subscription:
    require_instance(subscription, "subscription", Subscription)
    if subscription.status != SubscriptionStatus.PAUSED:
        raise ValidationError({"status": "Only a paused subscription can be resumed."})
    return update_subscription(subscription, status=SubscriptionStatus.ACTIVE)


def change_subscription_amount(
    subscription: Subscription,
    *,
    amount_cents: int,
    covers_fees: bool = False,
    gift_cents: int | None = None,
) -> Subscription:
    """A new weekly charge from the next payment on (no proration). The fee terms are
    set with it: a plain amount change stops covering the fees."""
    require_instance(subscription, "subscription", Subscription)
    if subscription.status == SubscriptionStatus.CANCELLED:
        raise ValidationError({"status": "A cancelled subscription cannot be changed."})
    return update_subscription(
        subscription, amount_cents=amount_cents, covers_fees=covers_fees, gift_cents=gift_cents
    )


def fee_fields(
    amount_cents: int, fee_cents: int | None, fee_source: str, balance_transaction_id: str = ""
) -> dict:
    """The fee columns of a contribution: fee, net = amount - fee, where the fee came from.
    fee_cents None means not read yet (fee_source must then be PENDING). A negative fee,
    or one that leaves nothing to give, is refused (ValidationError)."""
    if fee_cents is None:
        if fee_source != FeeSource.PENDING:
            raise ValidationError({"fee_cents": "A fee that was read needs its amount."})
        return {"fee_cents": None, "net_cents": None, "fee_source": FeeSource.PENDING,
                "stripe_balance_transaction_id": ""}  # fmt: skip
    if fee_source not in (FeeSource.STRIPE, FeeSource.DEMO, FeeSource.LEGACY):
        raise ValidationError({"fee_source": f"Unknown fee source {fee_source!r}."})
    fee_cents = require_int(fee_cents, "fee_cents", min_value=0, max_value=amount_cents - 1)
    return {
        "fee_cents": fee_cents,
        "net_cents": amount_cents - fee_cents,
        "fee_source": fee_source,
        "stripe_balance_transaction_id": balance_transaction_id
        if fee_source == FeeSource.STRIPE
        else "",
    }


def record_contribution(
    *,
    subscription: Subscription,
    amount_cents: int,
    paid_at,
    stripe_invoice_id: str,
    fee_cents: int | None = None,
    fee_source: str = FeeSource.PENDING,
    balance_transaction_id: str = "",
) -> tuple[Contribution, bool]:
    """Record money actually collected, once per invoice id: (row, created).

    fee_cents is the processor's fee as Stripe reported it (fee_source STRIPE, with the
    balance transaction's id), 0 in demo billing (DEMO), or None while it is not known
    yet (the contribution then waits for it; see Contribution).

    A second call with the same invoice id returns the first row and changes nothing,
    also when two callers race: one INSERT ... ON CONFLICT DO NOTHING (core.db), so the
    unique index decides and the loser reads the winner's row.
    """
    require_instance(subscription, "subscription", Subscription)
    contribution = _new_contribution(
        subscription=subscription,
        amount_cents=amount_cents,
        paid_at=paid_at,
        stripe_invoice_id=stripe_invoice_id,
        fee_cents=fee_cents,
        fee_source=fee_source,
        balance_transaction_id=balance_transaction_id,
    )
    if not insert_if_absent(contribution):
        stripe_invoice_id = contribution.stripe_invoice_id
        existing = Contribution.objects.filter(stripe_invoice_id=stripe_invoice_id).first()
        if existing is None:
            # SQLite's INSERT OR IGNORE also skips a row a CHECK refuses; PostgreSQL raises.
            raise IntegrityError(f"The contribution of {stripe_invoice_id} cannot be stored.")
        return existing, False
    _log_recorded(contribution)
    return contribution, True


def record_pending_contribution_of(
    subscription: dict, *, amount_cents: int, paid_at, stripe_invoice_id: str
) -> Contribution | None:
    """record_contribution, fee pending, for the subscription the lookups `subscription`
    select, in one statement (core.db.insert_if_absent_from: INSERT ... SELECT ... ON
    CONFLICT DO NOTHING): the new row, or None when no subscription matches or the invoice
    is already recorded; then nothing is written and the caller takes its full path
    (reading the subscription, then record_contribution).

    `subscription` holds lookups on Subscription (name=value, name__in=values) that select
    at most one row (its Stripe id among them) and say what the caller requires of it
    (its weekly amount, its customer): the database checks those in the same statement as
    the insert, so the subscription is not read first. The same checks of the values, the
    same constraints and the same money log line as record_contribution."""
    if "stripe_subscription_id" not in subscription:
        raise ValidationError({"subscription": "Name one subscription by its Stripe id."})
    contribution = _new_contribution(
        subscription=None,
        amount_cents=amount_cents,
        paid_at=paid_at,
        stripe_invoice_id=stripe_invoice_id,
        fee_cents=None,
        fee_source=FeeSource.PENDING,
    )
    if not insert_if_absent_from(contribution, "subscription", **subscription):
        return None
    _log_recorded(contribution)
    return contribution


def _new_contribution(
    *,
    subscription: Subscription | None,
    amount_cents: int,
    paid_at,
    stripe_invoice_id: str,
    fee_cents: int | None,
    fee_source: str,
    balance_transaction_id: str = "",
) -> Contribution:
    """An unsaved Contribution of checked values (ValidationError otherwise)."""
    amount_cents = require_int(amount_cents, "amount_cents", min_value=1)
    fees = fee_fields(amount_cents, fee_cents, fee_source, balance_transaction_id)
    require_aware_datetime(paid_at, "paid_at")
    stripe_invoice_id = require_text(stripe_invoice_id, "stripe_invoice_id", max_length=255)
    return Contribution(
        subscription=subscription,
        amount_cents=amount_cents,
        paid_at=paid_at,
        stripe_invoice_id=stripe_invoice_id,
        **fees,
    )


def _log_recorded(contribution: Contribution) -> None:
    # Logged when the caller's transaction commits: a webhook whose handler fails after
    # this point rolls the row back, and then nothing was recorded.
    log_money_on_commit(
        "contribution_recorded",
        contribution_id=contribution.pk,
        subscription_id=contribution.subscription_id,
        cents=contribution.amount_cents,
        fee_cents=contribution.fee_cents,
        paid_at=contribution.paid_at.isoformat(),
        invoice=contribution.stripe_invoice_id,
    )


def record_fee(
    contribution: Contribution, *, fee_cents: int, balance_transaction_id: str
) -> Contribution:
    """Set the fee Stripe reported on a contribution whose fee was still pending: fee,
    net = amount - fee, the balance transaction it was read from.

    Allowed only while the fee is pending (a recorded fee is never rewritten: the ledger
    is append-only and the net may already be given). One conditional UPDATE, so two
    syncs racing cannot both write: the loser gets a ValidationError and nothing changes.
    A negative fee or one not less than the payment is refused before anything is written.
    """
    require_instance(contribution, "contribution", Contribution)
    balance_transaction_id = require_text(
        balance_transaction_id, "balance_transaction_id", max_length=255
    )
    fees = fee_fields(
        contribution.amount_cents, fee_cents, FeeSource.STRIPE, balance_transaction_id
    )
    updated = Contribution.objects.filter(
        pk=contribution.pk, fee_source=FeeSource.PENDING, fee_cents__isnull=True
    ).update(**fees)
    if updated != 1:
        raise ValidationError(
            {"fee_cents": f"The fee of {contribution.stripe_invoice_id} is already recorded."}
        )
    for name, value in fees.items():
        setattr(contribution, name, value)
    log_money_on_commit(
        "contribution_fee_recorded",
        contribution_id=contribution.pk,
        fee_cents=fees["fee_cents"],
        net_cents=fees["net_cents"],
        balance_transaction=balance_transaction_id,
    )
    return contribution


@transaction.atomic
def start_demo_subscription(
    *, user: User, amount_cents: int, covers_fees: bool = False, gift_cents: int | None = None
) -> Subscription:
    """Demo billing's stand-in for Checkout: an active subscription and its first weekly
    payment, recorded at once as Stripe's first invoice would be. The weekly run records
    the later payments (one per active subscription per week, skipping a week that
    already has one, so this first payment is never doubled).

    Covering the fees, the charge is the grossed-up amount, as with Stripe; demo billing
    has no processor, so its fee is 0 and the whole charge is given."""
    subscription = create_subscription(
        user=user, amount_cents=amount_cents, covers_fees=covers_fees, gift_cents=gift_cents
    )
    record_contribution(
        subscription=subscription,
        amount_cents=subscription.amount_cents,
        paid_at=timezone.now(),
        stripe_invoice_id=f"{subscription.stripe_subscription_id}_first",
        fee_cents=0,
        fee_source=FeeSource.DEMO,
    )
    # Checkout's webhook sends the receipt of a Stripe gift; this is its demo twin.
    send_gift_started(subscription)
    return subscription


def bill_demo_week(week_start, *, city: str | None = None, state: str | None = None) -> int:
    """Demo billing (settings.DEMO_BILLING: no Stripe, see config.settings): record, for
    every active demo subscription (of one city, when given) that started by the end of
    the week and has no contribution paid in it, one contribution of its weekly amount,
    as Stripe's invoice would have. The weekly run calls this before the engine, which
    only ever distributes Contribution rows. Returns how many were recorded (0 on a
    rerun: the invoice id demo_<subscription id>_<week> is unique).

    Without demo billing it records nothing: real money only comes from Stripe.

    Pauses with an end date (paused_until) are kept here, lazily: a gift paused past the
    week's Monday is not charged for the week (selectors.demo_billable_q), and once the
    week is billed every demo gift whose pause ends by the next Monday is resumed, since
    every week from then on is to be charged. Resuming here rather than on the date
    itself is what keeps the skipped week skipped: a gift resumed at Monday 00:00 would
    otherwise be charged by the run at 06:00 for the week it skipped. Until that run the
    donor's pages show the pause as over (selectors.Schedule.pause_over).
    """
    week_start = require_week(week_start)
    if not settings.DEMO_BILLING:
        _resume_demo_pauses_ended(week_start, city=city, state=state)
        return 0
    start = week_bounds(week_start)[0]
    zone = local_zone()
    due = get_demo_charges_due(week_start, city=city, state=state)
    objs = [
        Contribution(
            subscription_id=sid,
            amount_cents=amount,
            # No card processor in demo billing: no fee, all of it can be given.
            fee_cents=0,
            net_cents=amount,
            fee_source=FeeSource.DEMO,
            paid_at=max(start, dt.datetime.combine(start_date, dt.time.min, tzinfo=zone)),
            stripe_invoice_id=f"{DEMO_ID_PREFIX}{sid}_{week_start.isoformat()}",
        )
        for sid, amount, start_date in due.values_list("id", "amount_cents", "start_date")
    ]
    # The unique invoice id makes a second run (or a concurrent one) record nothing.
    created = Contribution.objects.bulk_create(objs, batch_size=5000, ignore_conflicts=True)
    if objs:
        # One line per run, not per row. Under two runs at once both may offer the same
        # rows (the unique invoice id keeps one), so this counts what was offered.
        log_money_on_commit(
            "demo_contributions_recorded",
            week=week_start.isoformat(),
            count=len(objs),
            cents=sum(o.amount_cents for o in objs),
        )
    _resume_demo_pauses_ended(week_start, city=city, state=state)
    return len(created)


def _resume_demo_pauses_ended(week_start: dt.date, *, city, state) -> int:
    """Resume the demo gifts (of the city, when given) whose pause ends by the Monday after
    the week: one conditional UPDATE, so a second run finds nothing to do. The run for a
    week happens after it has ended, so no pause is ever cut short."""
    ended = Subscription.objects.filter(
        stripe_subscription_id__startswith=DEMO_ID_PREFIX,
        status=SubscriptionStatus.PAUSED,
        paused_until__lte=week_start + dt.timedelta(days=7),
    )
    if city is not None:
        ended = ended.filter(city_q(city, state, prefix="user__"))
    return ended.update(
        status=SubscriptionStatus.ACTIVE, paused_until=None, updated_at=timezone.now()
    )


# --- the fee, read off the request path -----------------------------------------------

FEE_READ_TASK = "subscriptions.tasks.read_pending_fees"
# A read is queued to start this many seconds later, and a process queues none while the
# one it queued has not started yet: that read begins after any payment committed
# meanwhile, so it reads it. A burst of payments thus costs one publish per process per
# FEE_READ_DELAY_SECONDS, and each fee is read within about that long (a fee only has
# to be known before the weekly run). The margin absorbs clock differences between web
# and worker machines.
FEE_READ_DELAY_SECONDS = 10
FEE_READ_MARGIN_SECONDS = 3
_queued_at: float | None = None  # time.monotonic() when this process last queued a read


def request_fee_read() -> None:
    """Have the processor fees still pending read from Stripe (subscriptions.tasks.
    read_pending_fees) once the caller's transaction commits. Without a broker the read
    runs in-process at that moment.

    A failure to queue is logged and never undoes the committed payment (robust
    on_commit): the payment is in the ledger with its fee pending, the next payment
    queues a read again, and beat's hourly read (config/schedules.py) reads it anyway."""
    transaction.on_commit(_queue_fee_read, robust=True)


def _queue_fee_read() -> None:
    global _queued_at
    task = signature(FEE_READ_TASK)
    if task.app.conf.task_always_eager:  # no broker: read now, in this process
        task.delay()
        return
    now = time.monotonic()
    if (
        _queued_at is not None
        and now < _queued_at + FEE_READ_DELAY_SECONDS - FEE_READ_MARGIN_SECONDS
    ):
        return  # the read this process queued starts after this commit: it sees this payment
    task.apply_async(countdown=FEE_READ_DELAY_SECONDS)
    _queued_at = now  # only once it is queued: a failed publish lets the next one try

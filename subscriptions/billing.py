"""The donor's billing actions: subscribe, pause, resume, cancel, change the amount,
manage billing.

A demo subscription ("demo_<uuid>") changes locally through subscriptions.services. A
Stripe one changes at Stripe first, with an idempotency key, and the local row is
updated from the object Stripe answers with, only once Stripe has confirmed; if Stripe
refuses or cannot be reached, nothing local changes and the donor sees why.
"""

import datetime as dt
import logging
import uuid

import stripe
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from core.templatetags.money import format_cents
from core.weeks import local_zone

from . import services
from .emails import VIA_DASHBOARD, send_gift_changed, weekly_text
from .models import StripeStatus, Subscription, SubscriptionStatus
from .selectors import get_schedule, long_date, next_stripe_charge_at
from .stripe_client import (
    CURRENCY,
    INTERVAL,
    PRODUCT_NAME,
    get_client,
    idempotency_key,
    options,
)
from .stripe_objects import (
    InvalidStripeData,
    apply_subscription,
    fee_metadata,
    parse_subscription,
)

logger = logging.getLogger(__name__)


class BillingError(Exception):
    """A message for the donor: the action did not happen and nothing changed."""


UNREACHABLE = "Stripe could not be reached. Please try again in a minute."
REFUSED = "Stripe did not accept the request. Please try again later or contact us."
UNUSABLE = "Stripe's answer could not be used here. Please try again later or contact us."


def _stripe_message(exc: stripe.StripeError) -> str:
    """What the donor may read. Only a card error's message is written by Stripe for the
    payer ("Your card was declined."); every other message is for developers (ids, API
    details, and for a connection error the network failure and our API address), so the
    donor gets a plain sentence and the log keeps the rest."""
    if isinstance(exc, stripe.CardError) and exc.user_message:
        return exc.user_message
    if isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)):
        return UNREACHABLE
    return REFUSED


def _call_stripe(what: str, fn):
    try:
        return fn()
    except stripe.StripeError as exc:
        logger.warning("Stripe refused %s: %s", what, exc)
        raise BillingError(f"Stripe could not {what}: {_stripe_message(exc)}") from exc


def _require_stripe_billing(subscription: Subscription) -> None:
    if settings.DEMO_BILLING:
        raise BillingError(
            "Billing is not configured on this site (demo mode), so a Stripe subscription "
            "cannot be changed here."
        )


def _apply_confirmed(obj) -> Subscription:
    try:
        sub, _ = apply_subscription(obj, at=timezone.now(), current=True)
    except InvalidStripeData as exc:
        logger.error("Stripe answered with data this site cannot use: %s", exc)
        raise BillingError(UNUSABLE) from exc
    return sub


def _validation_message(exc: ValidationError) -> str:
    return " ".join(exc.messages)


# --- subscribe ------------------------------------------------------------------------


def payment_method_types() -> list[str]:
    """Cards always; US bank debit (ACH Direct Debit, cheaper) when STRIPE_OFFER_BANK_DEBIT
    is on. Named explicitly, so the setting and not the Stripe dashboard decides."""
    if settings.STRIPE_OFFER_BANK_DEBIT:
        return ["card", "us_bank_account"]
    return ["card"]


def start_checkout(
    *, user: User, amount_cents: int, covers_fees: bool = False, gift_cents: int | None = None
) -> str:
    """A Stripe Checkout session for a weekly gift; returns the URL to send the donor to.
    Nothing local is written: the subscription appears when Stripe's webhook says so.

    amount_cents is the weekly charge (the gross-up when covering the fees); the fee terms
    ride in the subscription's metadata, and parse_subscription reads them back."""
    services.require_amount_cents(amount_cents)
    services.require_fee_terms(amount_cents, covers_fees, gift_cents)
    existing_customer = (
        Subscription.objects.filter(user=user)
        .exclude(stripe_customer_id="")
        .values_list("stripe_customer_id", flat=True)
        .first()
    )
    params = {
        "mode": "subscription",
        "line_items": [
            {
                "price_data": {
                    "currency": CURRENCY,
                    "unit_amount": amount_cents,
                    "recurring": {"interval": INTERVAL},
                    "product_data": {"name": PRODUCT_NAME},
                },
                "quantity": 1,
            }
        ],
        "client_reference_id": str(user.pk),
        "metadata": {"user_id": str(user.pk)},
        # The subscription carries the user too, so its own events can be matched even
        # when they arrive before checkout.session.completed.
        "subscription_data": {
            "metadata": {"user_id": str(user.pk), **fee_metadata(covers_fees, gift_cents)}
        },
        "payment_method_types": payment_method_types(),
        "success_url": settings.SITE_URL
        + reverse("subscriptions:success")
        + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": settings.SITE_URL + reverse("subscriptions:cancelled"),
    }
    if existing_customer:
        params["customer"] = existing_customer
    else:
        params["customer_email"] = user.email
    # A fresh key per form post: the SDK's own retries reuse it; a second post is a second
    # session, which is harmless (only a completed one creates a subscription).
    key = idempotency_key("checkout", user.pk, uuid.uuid4().hex)
    session = _call_stripe(
        "start the checkout",
        lambda: get_client().v1.checkout.sessions.create(params=params, options=options(key)),
    )
    return session.url


def open_billing_portal(*, user: User) -> str:
    customer = (
        Subscription.objects.filter(user=user)
        .exclude(stripe_customer_id="")
        .order_by("-created_at", "-id")
        .values_list("stripe_customer_id", flat=True)
        .first()
    )
    if not customer:
        raise BillingError("You have no Stripe billing account yet: subscribe first.")
    params = {"customer": customer, "return_url": settings.SITE_URL + "/dashboard/"}
    session = _call_stripe(
        "open the billing portal",
        lambda: get_client().v1.billing_portal.sessions.create(params=params),
    )
    return session.url


# --- self-service ---------------------------------------------------------------------


def _update(subscription: Subscription, action: str, what: str, params: dict) -> Subscription:
    key = idempotency_key(
        action, subscription.stripe_subscription_id, subscription.updated_at.isoformat(),
        params=params,
    )  # fmt: skip
    obj = _call_stripe(
        what,
        lambda: get_client().v1.subscriptions.update(
            subscription.stripe_subscription_id, params=params, options=options(key)
        ),
    )
    return _apply_confirmed(obj)


def pause(*, subscription: Subscription, via: str = VIA_DASHBOARD) -> Subscription:
    """Pause with no end date. A gift paused until a date becomes open-ended."""
    if not services.can_pause(subscription):
        raise BillingError("Only an active subscription can be paused.")
    if subscription.is_demo:
        sub = services.pause_subscription(subscription)
    else:
        _require_stripe_billing(subscription)
        # "void": weeks while paused are not billed at all (not billed later either). The
        # whole pause_collection is replaced, so an earlier resumes_at goes with it.
        sub = _update(
            subscription, "pause", "pause the subscription",
            {"pause_collection": {"behavior": "void"}},
        )  # fmt: skip
    send_gift_changed(
        sub, change="Your weekly gift is paused. Nothing is charged until you resume it.", via=via
    )
    return sub


def pause_until(
    *, subscription: Subscription, until, via: str = VIA_DASHBOARD, now=None
) -> Subscription:
    """Pause until a date: no payment is taken before it, and the gift is active again
    from it (Stripe: pause_collection with resumes_at at the local midnight that starts
    the date; Stripe resumes by itself and says so with customer.subscription.updated).
    Allowed while active or paused; the date must be after today and within a year."""
    now = now or timezone.now()
    try:
        until = services.require_pause_until(until, today=_local_today(now))
    except ValidationError as exc:
        raise BillingError(_validation_message(exc)) from exc
    sub = _pause_until(subscription, until, action="pause_until", now=now)
    send_gift_changed(
        sub,
        change=f"Your weekly gift is paused until {long_date(until)}: nothing is charged "
        "before then, and it starts again by itself on that day.",
        via=via,
    )
    return sub


def skip_next_week(*, subscription: Subscription, via: str = VIA_DASHBOARD, now=None):
    """Skip the next weekly payment: pause until just after it (selectors.Schedule). With
    Stripe, the next billing moment is read from Stripe first, so the pause ends after the
    payment Stripe would really take next, not one we last heard of."""
    now = now or timezone.now()
    if subscription.status != SubscriptionStatus.ACTIVE:
        raise BillingError("Only an active subscription can skip a week.")
    if subscription.is_demo:
        schedule = get_schedule(subscription, now=now)
        skipped, until = schedule.next_charge, schedule.skip_until
    else:
        _require_stripe_billing(subscription)
        state = _read_state(subscription)
        if state.current_period_end is None:
            raise BillingError(UNUSABLE)
        at = next_stripe_charge_at(state.current_period_end, now=now, paused_until=None)
        skipped = at.astimezone(local_zone()).date()
        until = skipped + dt.timedelta(days=1)
    sub = _pause_until(subscription, until, action="skip", now=now)
    what = f"the week of {long_date(skipped)}" if subscription.is_demo else long_date(skipped)
    send_gift_changed(
        sub,
        change=f"Your weekly gift skips its payment for {what}. It starts again by itself "
        f"on {long_date(until)}.",
        via=via,
    )
    return sub


def _local_today(now) -> dt.date:
    return now.astimezone(local_zone()).date()


def _pause_until(subscription: Subscription, until: dt.date, *, action: str, now):
    if subscription.status == SubscriptionStatus.CANCELLED:
        raise BillingError("A cancelled subscription cannot be paused.")
    if subscription.is_demo:
        try:
            return services.pause_subscription_until(
                subscription, until=until, today=_local_today(now)
            )
        except ValidationError as exc:
            raise BillingError(_validation_message(exc)) from exc
    _require_stripe_billing(subscription)
    if subscription.stripe_status in (StripeStatus.PAUSED, StripeStatus.INCOMPLETE):
        raise BillingError(
            "Stripe has stopped this gift itself (a first or renewed payment is missing): "
            "use Manage billing."
        )
    resumes_at = int(dt.datetime.combine(until, dt.time.min, tzinfo=local_zone()).timestamp())
    return _update(
        subscription, action, "pause the subscription",
        {"pause_collection": {"behavior": "void", "resumes_at": resumes_at}},
    )  # fmt: skip


def resume(*, subscription: Subscription, via: str = VIA_DASHBOARD) -> Subscription:
    sub = _resume(subscription)
    send_gift_changed(
        sub,
        change=f"Your weekly gift of {_weekly_words(sub)} is active again.",
        via=via,
    )
    return sub


def _resume(subscription: Subscription) -> Subscription:
    if subscription.status != SubscriptionStatus.PAUSED:
        raise BillingError("Only a paused subscription can be resumed.")
    if subscription.is_demo:
        return services.resume_subscription(subscription)
    _require_stripe_billing(subscription)
    if subscription.stripe_status == StripeStatus.PAUSED:
        key = idempotency_key(
            "resume", subscription.stripe_subscription_id, subscription.updated_at.isoformat()
        )
        obj = _call_stripe(
            "resume the subscription",
            lambda: get_client().v1.subscriptions.resume(
                subscription.stripe_subscription_id, options=options(key)
            ),
        )
        return _apply_confirmed(obj)
    if subscription.stripe_status == StripeStatus.INCOMPLETE:
        raise BillingError("The first payment has not gone through yet: use Manage billing.")
    # An empty value unsets pause_collection in Stripe's form encoding.
    return _update(subscription, "resume", "resume the subscription", {"pause_collection": ""})


def cancel(*, subscription: Subscription, via: str = VIA_DASHBOARD) -> Subscription:
    if subscription.status == SubscriptionStatus.CANCELLED:
        return subscription
    if subscription.is_demo:
        sub = services.cancel_subscription(subscription)
    else:
        _require_stripe_billing(subscription)
        key = idempotency_key(
            "cancel", subscription.stripe_subscription_id, subscription.updated_at.isoformat()
        )
        obj = _call_stripe(
            "cancel the subscription",
            lambda: get_client().v1.subscriptions.cancel(
                subscription.stripe_subscription_id, options=options(key)
            ),
        )
        sub = _apply_confirmed(obj)
    send_gift_changed(
        sub,
        change=f"Your weekly gift of {_weekly_words(sub)} is cancelled: nothing more is charged.",
        via=via,
    )
    return sub


def _weekly_words(subscription: Subscription) -> str:
    cents = subscription.gift_cents if subscription.covers_fees else subscription.amount_cents
    return format_cents(cents)


def _read_state(subscription: Subscription):
    current = _call_stripe(
        "read the subscription",
        lambda: get_client().v1.subscriptions.retrieve(subscription.stripe_subscription_id),
    )
    try:
        return parse_subscription(current)
    except InvalidStripeData as exc:
        logger.error("Stripe answered with data this site cannot use: %s", exc)
        raise BillingError(UNUSABLE) from exc


def change_amount(
    *,
    subscription: Subscription,
    amount_cents: int,
    covers_fees: bool = False,
    gift_cents: int | None = None,
    via: str = VIA_DASHBOARD,
) -> Subscription:
    """A new weekly amount from the next payment on: no proration, so a week already paid
    is neither topped up nor refunded. amount_cents is the charge; covering the fees,
    gift_cents is the gift it was grossed up from (both go to Stripe: the price and the
    metadata). Turning covering off is a change too, even at the same charge."""
    if subscription.status == SubscriptionStatus.CANCELLED:
        raise BillingError("A cancelled subscription cannot be changed.")
    try:
        services.require_amount_cents(amount_cents)
        services.require_fee_terms(amount_cents, covers_fees, gift_cents)
    except ValidationError as exc:
        raise BillingError(_validation_message(exc)) from exc
    if (amount_cents, covers_fees, gift_cents) == (
        subscription.amount_cents,
        subscription.covers_fees,
        subscription.gift_cents,
    ):
        return subscription
    sub = _change_amount(subscription, amount_cents, covers_fees, gift_cents)
    weekly = weekly_text(sub)
    send_gift_changed(
        sub, change=f"Your weekly gift is now {weekly}, from the next payment on.", via=via
    )
    return sub


def _change_amount(subscription, amount_cents, covers_fees, gift_cents) -> Subscription:
    if subscription.is_demo:
        return services.change_subscription_amount(
            subscription, amount_cents=amount_cents, covers_fees=covers_fees, gift_cents=gift_cents
        )
    _require_stripe_billing(subscription)
    state = _read_state(subscription)
    params = {
        "items": [
            {
                "id": state.item_id,
                "price_data": {
                    "currency": CURRENCY,
                    "product": state.product_id,
                    "unit_amount": amount_cents,
                    "recurring": {"interval": INTERVAL},
                },
            }
        ],
        "proration_behavior": "none",
        # Stripe merges metadata: user_id stays; an empty value unsets gift_cents.
        "metadata": fee_metadata(covers_fees, gift_cents, unset_empty=True),
    }
    return _update(subscription, "amount", "change the amount", params)

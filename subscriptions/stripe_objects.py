"""Stripe objects (subscriptions, invoices) -> local rows.

One code path for every source of Stripe state: the webhook, the donor's self-service
buttons (after Stripe confirms) and `sync_stripe`. Everything read from Stripe is checked
before anything is written; impossible data raises InvalidStripeData, which the caller
records (a failed event, a line in the sync summary) instead of half-writing.
"""

import datetime as dt
import logging
from dataclasses import dataclass

import stripe
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import get_user_by_id
from core.weeks import local_zone

from .models import (
    MAX_AMOUNT_CENTS,
    MIN_AMOUNT_CENTS,
    Contribution,
    FeeSource,
    StripeStatus,
    Subscription,
    SubscriptionStatus,
)
from .services import (
    create_subscription,
    record_contribution,
    record_pending_contribution_of,
    request_fee_read,
    update_subscription,
)
from .stripe_client import CURRENCY, get_client
from .stripe_status import to_local_status

# The ledger's amount column is a 32-bit integer. A larger "paid" amount ($21 million in
# one weekly invoice) is impossible data: refused like a $0 one, not a database error that
# would answer 500 and have Stripe redeliver it for three days.
MAX_INVOICE_CENTS = 2**31 - 1

logger = logging.getLogger(__name__)


class InvalidStripeData(Exception):
    """Signed by Stripe, yet impossible for this platform: retrying will not help."""


# --- reading fields -------------------------------------------------------------------


def is_stripe_id(value, max_length: int = 255) -> bool:
    """Stripe's ids and event types are ASCII words (evt_1Q..., invoice.paid): printable,
    no spaces, no control characters. Anything else cannot have come from Stripe, and is
    never put into a query, a URL or a log line (a NUL breaks PostgreSQL's text, a lone
    surrogate every UTF-8 encoder)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= max_length
        and value.isascii()
        and value.isprintable()
        and " " not in value
    )


def require_object(value, field) -> dict:
    if not isinstance(value, dict):
        raise InvalidStripeData(f"{field} must be an object, got {type(value).__name__}.")
    return value


def _text(obj: dict, key: str, field: str, *, required=True) -> str:
    """A Stripe id read from an object (every caller reads an id)."""
    value = obj.get(key)
    if value is None and not required:
        return ""
    if not is_stripe_id(value.strip() if isinstance(value, str) else value):
        raise InvalidStripeData(f"{field} must be a Stripe id, got {_shown(value)}.")
    return value.strip()


def _shown(value) -> str:
    """A value from outside, safe for an error message (stored, logged, mailed): repr
    escapes control characters and surrogates; the length is capped."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _int(obj: dict, key: str, field: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidStripeData(f"{field} must be a whole number, got {value!r}.")
    return value


def require_stripe_id(value, field) -> str:
    """Stripe gives a related object as its id, or as the object itself when expanded."""
    if isinstance(value, dict):
        value = value.get("id")
    if not is_stripe_id(value.strip() if isinstance(value, str) else value):
        raise InvalidStripeData(f"{field} must be a Stripe id, got {_shown(value)}.")
    return value.strip()


def timestamp(value, field) -> dt.datetime:
    # Stripe timestamps are Unix seconds; the bounds keep fromtimestamp from overflowing.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**33:
        raise InvalidStripeData(f"{field} must be a Unix timestamp, got {value!r}.")
    return dt.datetime.fromtimestamp(value, tz=dt.UTC)


def as_dict(obj) -> dict:
    return obj.to_dict() if isinstance(obj, stripe.StripeObject) else obj


# --- subscriptions --------------------------------------------------------------------

# The fee terms of a subscription ride in its metadata (Stripe metadata is text).
COVERS_FEES_KEY = "covers_fees"
GIFT_CENTS_KEY = "gift_cents"


def fee_metadata(covers_fees: bool, gift_cents: int | None, *, unset_empty=False) -> dict:
    """The metadata that says whether the donor covers the fees and the gift the charge
    was grossed up from. On an update (unset_empty) an empty gift unsets Stripe's key."""
    if covers_fees:
        return {COVERS_FEES_KEY: "true", GIFT_CENTS_KEY: str(gift_cents)}
    return {COVERS_FEES_KEY: "false", **({GIFT_CENTS_KEY: ""} if unset_empty else {})}


def parse_fee_terms(metadata: dict, amount_cents: int, sub_id: str) -> tuple[bool, int | None]:
    """(covers_fees, gift_cents) from a subscription's metadata.

    The rule for metadata that cannot be used: it is ignored, and the subscription is
    recorded as not covering the fees (its weekly amount is the price Stripe charges,
    which is never wrong). Metadata is a description anyone with dashboard access can
    edit, and the price may have been changed at Stripe since it was written; refusing
    the whole object (InvalidStripeData) would also refuse the status it carries, so a
    cancellation could never be recorded. Usable means covers_fees "true" and gift_cents
    the digits of a whole number of cents with MIN_AMOUNT_CENTS <= gift < the charge.
    """
    covers = metadata.get(COVERS_FEES_KEY)
    if covers in (None, "", "false"):
        return False, None
    gift = metadata.get(GIFT_CENTS_KEY)
    if (
        covers == "true"
        and isinstance(gift, str)
        and gift.isascii()
        and gift.isdigit()
        and len(gift) <= 9
        and MIN_AMOUNT_CENTS <= int(gift) < amount_cents
    ):
        return True, int(gift)
    logger.warning(
        "Subscription %s: fee metadata covers_fees=%r gift_cents=%r does not fit a weekly "
        "charge of %s cents; recorded as not covering the fees.",
        sub_id, covers, gift, amount_cents,
    )  # fmt: skip
    return False, None


@dataclass(frozen=True)
class SubscriptionState:
    stripe_subscription_id: str
    stripe_customer_id: str
    stripe_status: str
    status: str
    amount_cents: int
    user_id: int | None
    item_id: str
    product_id: str
    covers_fees: bool = False
    gift_cents: int | None = None
    paused_until: dt.date | None = None
    current_period_end: dt.datetime | None = None


def _optional_timestamp(obj: dict, key: str, field: str) -> dt.datetime | None:
    value = obj.get(key)
    return None if value is None else timestamp(value, field)


def resumes_on(resumes_at: dt.datetime) -> dt.date:
    """The local date a pause with Stripe's resumes_at ends on (the site sets resumes_at
    to the local midnight that starts the date the donor chose)."""
    return resumes_at.astimezone(local_zone()).date()


def parse_subscription(obj) -> SubscriptionState:
    obj = require_object(as_dict(obj), "subscription")
    sub_id = _text(obj, "id", "subscription.id")
    customer = require_stripe_id(obj.get("customer"), "subscription.customer")
    stripe_status = obj.get("status")
    if stripe_status not in StripeStatus.values or not stripe_status:
        raise InvalidStripeData(f"subscription.status {stripe_status!r} is not a Stripe status.")
    pause_collection = obj.get("pause_collection")
    resumes_at = None
    if pause_collection is not None:
        require_object(pause_collection, "subscription.pause_collection")
        resumes_at = _optional_timestamp(
            pause_collection, "resumes_at", "subscription.pause_collection.resumes_at"
        )
    items = require_object(obj.get("items"), "subscription.items").get("data")
    if not isinstance(items, list) or len(items) != 1:
        raise InvalidStripeData("subscription.items must hold exactly one weekly price.")
    item = require_object(items[0], "subscription item")
    price = require_object(item.get("price"), "subscription item price")
    if price.get("currency") != CURRENCY:
        raise InvalidStripeData(f"price currency {price.get('currency')!r} is not {CURRENCY}.")
    quantity = item.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidStripeData(f"subscription item quantity {quantity!r} is not positive.")
    amount = _int(price, "unit_amount", "price.unit_amount") * quantity
    if not MIN_AMOUNT_CENTS <= amount <= MAX_AMOUNT_CENTS:
        raise InvalidStripeData(
            f"weekly amount {amount} cents is outside {MIN_AMOUNT_CENTS}..{MAX_AMOUNT_CENTS}."
        )
    metadata = require_object(obj.get("metadata") or {}, "subscription.metadata")
    user_id = metadata.get("user_id")
    covers_fees, gift_cents = parse_fee_terms(metadata, amount, sub_id)
    status = to_local_status(stripe_status, pause_collection=pause_collection)
    # Since API version 2025-03-31 the billing period is the item's; older versions kept
    # it on the subscription.
    period_end = _optional_timestamp(
        item, "current_period_end", "subscription item current_period_end"
    ) or _optional_timestamp(obj, "current_period_end", "subscription.current_period_end")
    return SubscriptionState(
        stripe_subscription_id=sub_id,
        stripe_customer_id=customer,
        stripe_status=stripe_status,
        status=status,
        # Only a paused gift keeps a date (a canceled one with a stale pause does not).
        paused_until=resumes_on(resumes_at)
        if resumes_at is not None and status == SubscriptionStatus.PAUSED
        else None,
        current_period_end=period_end,
        amount_cents=amount,
        # isascii: "²".isdigit() is True, yet int("²") raises.
        user_id=int(user_id)
        if isinstance(user_id, str) and user_id.isascii() and user_id.isdigit()
        else None,
        item_id=_text(item, "id", "subscription item id"),
        product_id=require_stripe_id(price.get("product"), "price.product"),
        covers_fees=covers_fees,
        gift_cents=gift_cents,
    )


def user_by_id(user_id: int) -> User | None:
    """The donor a Stripe object's metadata names, or None for an id no user can have
    (0, or past the database's integers): metadata comes from outside."""
    if not 0 < user_id < 2**63:
        return None
    return get_user_by_id(user_id)


def user_for(*, user_id: int | None, stripe_customer_id: str) -> User:
    """The donor a Stripe object belongs to: the user id the site put in its metadata, or
    the donor who already pays through that Stripe customer."""
    if user_id is not None:
        user = user_by_id(user_id)
        if user is not None:
            return user
    known = (
        Subscription.objects.select_related("user")
        .filter(stripe_customer_id=stripe_customer_id)
        .exclude(stripe_customer_id="")
        .first()
    )
    if known is not None:
        return known.user
    raise InvalidStripeData(
        f"unknown customer: no donor matches user id {user_id!r} or customer "
        f"{stripe_customer_id!r}."
    )


def apply_subscription(
    obj,
    *,
    at: dt.datetime,
    user: User | None = None,
    creation_event: bool = False,
    current: bool = False,
) -> tuple[Subscription, list[str]]:
    """Make the local row say what Stripe's object says, unless it already holds newer
    state: (row, list of changes, empty when nothing changed).

    `at` is when Stripe's object was true (the event's `created`, or now for a fetched
    object). An older state never overwrites a newer one; at the same second a
    `*.created` event loses, since creation comes before any update; and a subscription
    Stripe has canceled stays canceled (Stripe never revives one). `current=True` says
    the object was just read from Stripe's API (an answer to our own call, a sync): it
    is the newest state there is, even if Stripe's clock runs ahead of ours.
    """
    state = parse_subscription(obj)
    with transaction.atomic():
        sub = (
            Subscription.objects.select_for_update()
            .filter(stripe_subscription_id=state.stripe_subscription_id)
            .first()
        )
        if sub is None:
            owner = user or user_for(
                user_id=state.user_id, stripe_customer_id=state.stripe_customer_id
            )
            try:
                with transaction.atomic():
                    sub = create_subscription(
                        user=owner,
                        amount_cents=state.amount_cents,
                        status=state.status,
                        stripe_subscription_id=state.stripe_subscription_id,
                        stripe_customer_id=state.stripe_customer_id,
                        stripe_status=state.stripe_status,
                        covers_fees=state.covers_fees,
                        gift_cents=state.gift_cents,
                    )
                    sub.stripe_state_at = at
                    sub.paused_until = state.paused_until
                    sub.current_period_end = state.current_period_end
                    sub.save(
                        update_fields=["stripe_state_at", "paused_until", "current_period_end"]
                    )
                    return sub, [f"created {state.stripe_subscription_id} ({state.status})"]
            except (IntegrityError, ValidationError):
                # Another delivery created it a moment ago: fall through to an update.
                sub = (
                    Subscription.objects.select_for_update()
                    .filter(stripe_subscription_id=state.stripe_subscription_id)
                    .first()
                )
                if sub is None:
                    raise
        if current and sub.stripe_state_at is not None:
            at = max(at, sub.stripe_state_at)
        if sub.stripe_state_at is not None and (
            at < sub.stripe_state_at or (at == sub.stripe_state_at and creation_event)
        ):
            return sub, []
        if (
            sub.stripe_status == StripeStatus.CANCELED
            and state.stripe_status != StripeStatus.CANCELED
        ):
            return sub, []
        changes = {}
        for field in (
            "amount_cents", "status", "stripe_status", "stripe_customer_id",
            "covers_fees", "gift_cents", "paused_until",
        ):  # fmt: skip
            if getattr(sub, field) != getattr(state, field):
                changes[field] = getattr(state, field)
        described = [f"{f}: {getattr(sub, f)!r} -> {v!r}" for f, v in changes.items()]
        if "covers_fees" in changes or "gift_cents" in changes:
            # The fee terms are checked together against the charge.
            changes["covers_fees"], changes["gift_cents"] = state.covers_fees, state.gift_cents
        if "status" in changes or "paused_until" in changes:
            changes["status"], changes["paused_until"] = state.status, state.paused_until
        # Not drift: Stripe moves the period every week.
        if sub.current_period_end != state.current_period_end:
            changes["current_period_end"] = state.current_period_end
        if changes:
            update_subscription(sub, **changes)
        sub.stripe_state_at = at
        sub.save(update_fields=["stripe_state_at"])
        return sub, described


def fetch_subscription(stripe_subscription_id: str) -> dict:
    """The subscription as Stripe has it now; InvalidStripeData when Stripe has none."""
    try:
        obj = get_client().v1.subscriptions.retrieve(stripe_subscription_id)
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            raise InvalidStripeData(
                f"Stripe has no subscription {stripe_subscription_id!r}."
            ) from exc
        raise
    return as_dict(obj)


def get_or_fetch_subscription(stripe_subscription_id: str, *, user: User | None = None):
    """The local row for a Stripe subscription; one the site does not know yet is fetched
    from Stripe and recorded, never dropped."""
    sub = (
        Subscription.objects.select_related("user")
        .filter(stripe_subscription_id=stripe_subscription_id)
        .first()
    )
    if sub is not None:
        return sub
    sub, _ = apply_subscription(
        fetch_subscription(stripe_subscription_id), at=timezone.now(), user=user, current=True
    )
    return sub


# --- invoices -------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceFacts:
    stripe_invoice_id: str
    stripe_subscription_id: str
    stripe_customer_id: str


def invoice_subscription_id(obj: dict) -> str:
    """Since API version 2025-03-31 the subscription sits under parent.subscription_details;
    older versions (and some fixtures) put it at the top level."""
    parent = obj.get("parent")
    if isinstance(parent, dict) and isinstance(parent.get("subscription_details"), dict):
        value = parent["subscription_details"].get("subscription")
    else:
        value = obj.get("subscription")
    if value is None:
        raise InvalidStripeData("invoice is not for a subscription.")
    return require_stripe_id(value, "invoice subscription")


def parse_invoice(obj) -> InvoiceFacts:
    obj = require_object(as_dict(obj), "invoice")
    return InvoiceFacts(
        stripe_invoice_id=_text(obj, "id", "invoice.id"),
        stripe_subscription_id=invoice_subscription_id(obj),
        stripe_customer_id=require_stripe_id(obj.get("customer"), "invoice.customer"),
    )


# --- fees -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FeeFacts:
    """The processor's fee on one invoice's payment: fee_cents None while Stripe has no
    balance transaction for it yet (the contribution then waits; sync_stripe reads it)."""

    fee_cents: int | None
    balance_transaction_id: str = ""


FEE_PENDING = FeeFacts(fee_cents=None)


def _missing_is_invalid(call, what: str):
    """A Stripe object the invoice points at that Stripe does not have is impossible data;
    any other Stripe error (unreachable, rate limited) propagates: Stripe retries."""
    try:
        return as_dict(call())
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            raise InvalidStripeData(f"Stripe has no {what}.") from exc
        raise


def parse_balance_transaction(obj, *, amount_paid: int, where: str) -> FeeFacts:
    """Check a balance transaction against the payment it settles: in USD, for exactly
    the amount paid, with a fee that is neither negative nor the whole payment."""
    bt = require_object(as_dict(obj), f"{where} balance transaction")
    bt_id = _text(bt, "id", "balance_transaction.id")
    if bt.get("currency") != CURRENCY:
        raise InvalidStripeData(
            f"balance transaction {bt_id} currency {bt.get('currency')!r} is not {CURRENCY}."
        )
    amount = _int(bt, "amount", "balance_transaction.amount")
    if amount != amount_paid:
        raise InvalidStripeData(
            f"balance transaction {bt_id} is for {amount} cents, the invoice paid "
            f"{amount_paid}: the amounts do not match."
        )
    fee = _int(bt, "fee", "balance_transaction.fee")
    if fee < 0:
        raise InvalidStripeData(f"balance transaction {bt_id} has a negative fee ({fee}).")
    if fee >= amount:
        raise InvalidStripeData(
            f"balance transaction {bt_id} has a fee of {fee} cents, not less than the "
            f"payment of {amount}: nothing would be left to give."
        )
    return FeeFacts(fee_cents=fee, balance_transaction_id=bt_id)


def _fee_of_charge(charge, *, amount_paid: int, client) -> FeeFacts:
    """The fee of a charge (an id or an expanded object)."""
    if charge is None:
        return FEE_PENDING  # the payment has no charge yet
    if not isinstance(charge, dict):
        charge_id = require_stripe_id(charge, "charge")
        charge = _missing_is_invalid(
            lambda: client.v1.charges.retrieve(
                charge_id, params={"expand": ["balance_transaction"]}
            ),
            f"charge {charge_id!r}",
        )
    charge = require_object(charge, "charge")
    charge_id = _text(charge, "id", "charge.id")
    bt = charge.get("balance_transaction")
    if bt is None:
        return FEE_PENDING  # Stripe has not settled it into the balance yet
    if not isinstance(bt, dict):
        bt_id = require_stripe_id(bt, "charge.balance_transaction")
        bt = _missing_is_invalid(
            lambda: client.v1.balance_transactions.retrieve(bt_id),
            f"balance transaction {bt_id!r}",
        )
    return parse_balance_transaction(bt, amount_paid=amount_paid, where=f"charge {charge_id}")


def read_invoice_fee(obj: dict, *, amount_paid: int) -> FeeFacts:
    """The processor's fee on a paid invoice, read from Stripe, never estimated.

    Since API version 2025-03-31 an invoice names no charge: its payments are listed by
    /v1/invoice_payments?invoice=..., each pointing at a PaymentIntent (read with its
    latest charge's balance transaction expanded) or a bare charge. An older invoice
    shape with a top-level `charge` is read through that charge. No paid payment, no
    charge or no balance transaction yet: the fee is pending (FEE_PENDING). Data that
    cannot be right (another currency, an amount that is not the invoice's, a negative
    fee, a fee not less than the payment, more than one payment) raises InvalidStripeData.
    """
    client = get_client()
    if obj.get("charge") is not None:
        return _fee_of_charge(obj["charge"], amount_paid=amount_paid, client=client)
    invoice_id = _text(obj, "id", "invoice.id")
    listing = client.v1.invoice_payments.list(params={"invoice": invoice_id, "limit": 10})
    paid = [
        require_object(as_dict(p), "invoice payment")
        for p in listing.auto_paging_iter()
        if as_dict(p).get("status") == "paid"
    ]
    if not paid:
        return FEE_PENDING
    if len(paid) > 1:
        raise InvalidStripeData(
            f"invoice {invoice_id} was paid by {len(paid)} payments; a weekly gift is one."
        )
    payment = require_object(paid[0].get("payment"), "invoice_payment.payment")
    kind = payment.get("type")
    if kind == "payment_intent":
        pi_id = require_stripe_id(payment.get("payment_intent"), "payment.payment_intent")
        intent = _missing_is_invalid(
            lambda: client.v1.payment_intents.retrieve(
                pi_id, params={"expand": ["latest_charge.balance_transaction"]}
            ),
            f"payment intent {pi_id!r}",
        )
        charge = require_object(intent, "payment intent").get("latest_charge")
        return _fee_of_charge(charge, amount_paid=amount_paid, client=client)
    if kind == "charge":
        return _fee_of_charge(payment.get("charge"), amount_paid=amount_paid, client=client)
    raise InvalidStripeData(
        f"invoice {invoice_id} was paid by a {kind!r} payment, which has no Stripe fee to read."
    )


@dataclass(frozen=True)
class PaidInvoice:
    facts: InvoiceFacts
    amount_cents: int
    paid_at: dt.datetime


def parse_paid_invoice(obj) -> PaidInvoice:
    """Check a paid invoice's own fields (nothing is fetched)."""
    obj = require_object(as_dict(obj), "invoice")
    facts = parse_invoice(obj)
    if obj.get("currency") != CURRENCY:
        raise InvalidStripeData(f"invoice currency {obj.get('currency')!r} is not {CURRENCY}.")
    amount = _int(obj, "amount_paid", "invoice.amount_paid")
    if not 0 < amount <= MAX_INVOICE_CENTS:
        raise InvalidStripeData(
            f"invoice.amount_paid must be a positive number of cents up to "
            f"{MAX_INVOICE_CENTS}, got {amount}."
        )
    transitions = require_object(obj.get("status_transitions"), "invoice.status_transitions")
    paid_at = timestamp(transitions.get("paid_at"), "invoice.status_transitions.paid_at")
    return PaidInvoice(facts=facts, amount_cents=amount, paid_at=paid_at)


# Clocks differ a little (Stripe's, ours); a payment further ahead than this is not one
# that has happened, and no distribution run would claim it until then.
PAID_AT_MAX_AHEAD = dt.timedelta(days=1)


def _earlier_prices(obj: dict, sub: Subscription) -> set[int]:
    """The weekly prices an invoice may have billed other than the subscription's current
    one: the amounts of its own lines, but only when Stripe drew the invoice up before the
    latest subscription state the site applied (its `created` is before stripe_state_at),
    i.e. when the price may have changed since. Only lines present in the event are read:
    Stripe sends the first page of lines with every invoice, and a weekly invoice has one."""
    created = obj.get("created")
    if (
        sub.stripe_state_at is None
        or type(created) is not int
        or not 0 < created < 2**33
        or dt.datetime.fromtimestamp(created, tz=dt.UTC) >= sub.stripe_state_at
    ):
        return set()
    lines = obj.get("lines")
    data = lines.get("data") if isinstance(lines, dict) else None
    if not isinstance(data, list):
        return set()
    amounts = set()
    for line in data:
        amount = line.get("amount") if isinstance(line, dict) else None
        if type(amount) is int and MIN_AMOUNT_CENTS <= amount <= MAX_AMOUNT_CENTS:
            amounts.add(amount)
    return amounts


def _check_weekly_payment(invoice: PaidInvoice, *, now) -> None:
    """check_plausible's checks that need no subscription."""
    if invoice.paid_at > now + PAID_AT_MAX_AHEAD:
        raise InvalidStripeData(
            f"invoice {invoice.facts.stripe_invoice_id} was paid at "
            f"{invoice.paid_at:%Y-%m-%d %H:%M} UTC, more than a day in the future."
        )
    amount = invoice.amount_cents
    if not MIN_AMOUNT_CENTS <= amount <= MAX_AMOUNT_CENTS:
        raise InvalidStripeData(
            f"invoice {invoice.facts.stripe_invoice_id} paid {amount} cents, outside a weekly "
            f"gift's {MIN_AMOUNT_CENTS}..{MAX_AMOUNT_CENTS}."
        )


def _plainly_plausible_for(invoice: PaidInvoice, *, now) -> dict | None:
    """The subscription (at most one) of which the invoice is plainly a weekly payment,
    as lookups the insert can select it with (record_paid_invoice's one-statement path):
    the invoice's subscription, charging exactly the amount paid, billed to the invoice's
    customer (or with no customer known locally). check_plausible, written as a filter,
    without its one exception (an invoice billed at an earlier price, which takes the
    full path). None when the invoice fails check_plausible's checks that need no
    subscription (the full path then says why)."""
    try:
        _check_weekly_payment(invoice, now=now)
    except InvalidStripeData:
        return None
    facts = invoice.facts
    return {
        "stripe_subscription_id": facts.stripe_subscription_id,
        "amount_cents": invoice.amount_cents,
        "stripe_customer_id__in": ("", facts.stripe_customer_id),  # "": no customer known
    }


def check_plausible(invoice: PaidInvoice, obj: dict, sub: Subscription, *, now) -> None:
    """Refuse a paid invoice that cannot be a weekly payment of this subscription
    (InvalidStripeData: a failed event, mailed to ADMINS in the daily digest).

    - paid_at more than PAID_AT_MAX_AHEAD in the future. An old paid_at is accepted:
      sync_stripe records invoices Stripe collected while the webhook was down, and
      collected money goes out in the next run whenever it was paid.
    - an amount outside the weekly bounds (MIN_AMOUNT_CENTS..MAX_AMOUNT_CENTS).
    - an amount that is not the subscription's weekly charge (amount_cents: the
      grossed-up charge when the donor covers the fees). One exception: the invoice Stripe
      drew up before the latest change the site applied (a new amount) and collected
      after it was billed at the old price; its own line says so, and that line's amount
      is accepted (_earlier_prices). Amount changes are made without proration, so a line
      is one whole week at one price. A partial payment is refused: the platform offers
      no coupons or credit balances, so there is no such thing.
    - a customer that is not the subscription's (when the local row knows its customer).
    """
    _check_weekly_payment(invoice, now=now)
    amount = invoice.amount_cents
    if amount != sub.amount_cents and amount not in _earlier_prices(obj, sub):
        raise InvalidStripeData(
            f"invoice {invoice.facts.stripe_invoice_id} paid {amount} cents, which does not "
            f"match subscription {sub.stripe_subscription_id}'s weekly charge of "
            f"{sub.amount_cents} cents nor any line of the invoice."
        )
    if sub.stripe_customer_id and invoice.facts.stripe_customer_id != sub.stripe_customer_id:
        raise InvalidStripeData(
            f"invoice {invoice.facts.stripe_invoice_id} is billed to customer "
            f"{invoice.facts.stripe_customer_id}, but subscription "
            f"{sub.stripe_subscription_id} belongs to customer {sub.stripe_customer_id}."
        )


def record_paid_invoice(obj) -> tuple[Contribution, bool]:
    """A Contribution for the money a paid invoice actually collected, once per invoice.

    The amount is amount_paid (what was collected). It must be a plausible weekly payment
    of the subscription (check_plausible): a $0 or negative "paid" invoice, one paid in
    2242, one of $21 million or of another customer is impossible data and is refused
    rather than turned into a ledger row.

    The payment is recorded with its fee pending, and the fee is read from Stripe after
    the caller's transaction commits, off the request path (services.request_fee_read;
    subscriptions.fee_reads says what a pending fee means for the money). A new invoice of
    a known subscription that plainly matches it (_plainly_plausible_for) costs one
    statement: INSERT ... SELECT ... ON CONFLICT DO NOTHING, the subscription read and
    checked inside it.

    An invoice already in the ledger is returned as it is when this event says the same (a
    redelivery, or invoice.paid after sync_stripe), and queues a read again if its fee is
    still pending; an event that reuses the invoice id with another amount or subscription
    is refused: the ledger is append-only and its row may already have been given.
    """
    obj = require_object(as_dict(obj), "invoice")
    invoice = parse_paid_invoice(obj)
    facts = invoice.facts
    now = timezone.now()
    matching = _plainly_plausible_for(invoice, now=now)
    if matching is not None:
        # The common case, one statement: the subscription is read, checked and the
        # payment recorded by one INSERT ... SELECT; anything else (an unknown or
        # mismatched subscription, an invoice already recorded) takes the path below,
        # which reads the subscription and says why.
        contribution = record_pending_contribution_of(
            matching,
            amount_cents=invoice.amount_cents,
            paid_at=invoice.paid_at,
            stripe_invoice_id=facts.stripe_invoice_id,
        )
        if contribution is not None:
            request_fee_read()
            return contribution, True
    # The id is unique: no ORDER BY, no join (the check and the insert need neither).
    sub = next(
        iter(Subscription.objects.filter(stripe_subscription_id=facts.stripe_subscription_id)[:1]),
        None,
    )
    if sub is not None and _is_plausible(invoice, obj, sub, now=now):
        contribution, created = _record_pending(invoice, sub)
        if created:
            return contribution, True
    existing = (
        Contribution.objects.select_related("subscription")
        .filter(stripe_invoice_id=facts.stripe_invoice_id)
        .first()
    )
    if existing is not None:
        recorded_sub = existing.subscription.stripe_subscription_id
        if (existing.amount_cents, recorded_sub) != (
            invoice.amount_cents,
            facts.stripe_subscription_id,
        ):
            raise InvalidStripeData(
                f"invoice {facts.stripe_invoice_id} is already recorded as "
                f"{existing.amount_cents} cents for {recorded_sub}; this event says "
                f"{invoice.amount_cents} cents for {facts.stripe_subscription_id}."
            )
        if existing.fee_source == FeeSource.PENDING:
            request_fee_read()
        return existing, False
    if sub is None:
        sub = get_or_fetch_subscription(facts.stripe_subscription_id)
    check_plausible(invoice, obj, sub, now=now)
    return _record_pending(invoice, sub)


def _is_plausible(invoice: PaidInvoice, obj: dict, sub: Subscription, *, now) -> bool:
    try:
        check_plausible(invoice, obj, sub, now=now)
    except InvalidStripeData:
        return False
    return True


def _record_pending(invoice: PaidInvoice, sub: Subscription) -> tuple[Contribution, bool]:
    contribution, created = record_contribution(
        subscription=sub,
        amount_cents=invoice.amount_cents,
        paid_at=invoice.paid_at,
        stripe_invoice_id=invoice.facts.stripe_invoice_id,
    )
    if created:
        request_fee_read()
    return contribution, created

"""Stripe webhook: verify, store once, dispatch by type from one table.

The view (subscriptions.views.stripe_webhook) is thin: it caps the body, calls
verify_event, refuses an event of the wrong mode, then receive_event.

Outcomes and answers (Stripe retries any non-2xx for up to three days):
- bad, missing, stale or future signature; body not UTF-8 JSON; envelope without an id,
  type, created, livemode or data.object: 400, nothing written.
- body over MAX_BODY_BYTES: 413, nothing written.
- verified event of an unknown type: stored with status "ignored", 200.
- already processed (a redelivery, or two deliveries at the same moment): 200, no effect.
- handler succeeded: status "processed", 200.
- verified but impossible data (an amount of 0 or below, wrong types, missing fields, a
  customer no donor matches, a subscription Stripe does not have): nothing of the
  handler is kept, status "failed" with the error, 200. The data is signed by Stripe and
  will be the same on every retry, so asking for retries only floods; staff see it under
  the admin's "failed" filter and can Reprocess it once the cause is fixed.
- any other handler error (Stripe unreachable, a database error): its effects are rolled
  back, status "failed" with the error and attempts + 1, 500 so Stripe retries; the
  redelivery processes it again.
"""

import datetime as dt
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import stripe
from django.conf import settings
from django.core.mail import send_mail
from django.db import DataError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.db import insert_if_absent
from core.templatetags.money import format_cents

from .emails import send_gift_started
from .links import manage_url
from .models import StripeEvent, StripeEventStatus, SubscriptionStatus
from .stripe_client import BillingNotConfigured
from .stripe_objects import (
    InvalidStripeData,
    apply_subscription,
    as_dict,
    fetch_subscription,
    get_or_fetch_subscription,
    is_stripe_id,
    parse_invoice,
    record_paid_invoice,
    require_object,
    require_stripe_id,
    timestamp,
    user_by_id,
)

logger = logging.getLogger(__name__)

# Stripe's default and recommended replay window, applied both ways: the SDK rejects
# old timestamps, and verify_event rejects ones further in the future than this.
TOLERANCE_SECONDS = 300
# Stripe's events are a few KB; an invoice with many lines stays far below this.
MAX_BODY_BYTES = 256 * 1024
# Stripe's deepest objects (an invoice's line with its price and tiers) are about ten
# levels; a body nested deeper is not Stripe's and is refused (check_storable).
MAX_DEPTH = 64


class WebhookRejected(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# --- verification ---------------------------------------------------------------------


def webhook_secrets() -> list[str]:
    """STRIPE_WEBHOOK_SECRET may hold several secrets separated by commas, so an endpoint
    secret can be rolled: during the overlap both the old and the new one verify."""
    return [s.strip() for s in settings.STRIPE_WEBHOOK_SECRET.split(",") if s.strip()]


def _header_timestamp(header: str) -> int:
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                return int(value)
            except ValueError:
                break
    raise WebhookRejected("Stripe-Signature header has no timestamp.")


def verify_event(body: bytes, header: str | None) -> dict:
    """The verified event envelope, or WebhookRejected. Nothing is written either way."""
    secrets = webhook_secrets()
    if not secrets:
        raise WebhookRejected("Webhook secret is not configured.")
    if not header:
        raise WebhookRejected("Missing Stripe-Signature header.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected("Body is not UTF-8.") from None
    if _header_timestamp(header) > time.time() + TOLERANCE_SECONDS:
        # The SDK only checks the past side of the window.
        raise WebhookRejected("Signature timestamp is in the future.")
    error = None
    for secret in secrets:
        try:
            # Several v1 signatures in one header (Stripe's own rotation) are accepted
            # by the SDK: any match verifies.
            stripe.WebhookSignature.verify_header(text, header, secret, TOLERANCE_SECONDS)
            break
        except stripe.SignatureVerificationError as exc:
            error = error or exc
    else:
        raise WebhookRejected(f"Bad signature: {error.user_message or error}")
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        # Python's parser gives up near its recursion limit (~1,000 levels).
        raise WebhookRejected("Body is nested too deeply.") from None
    except ValueError:
        raise WebhookRejected("Body is not JSON.") from None
    check_storable(data)
    return check_envelope(data)


def _no_constants(name: str):
    """NaN and Infinity are not JSON (RFC 8259); Python's parser accepts them, and a
    database's JSON column then refuses the row (SQLite's JSON_VALID check, PostgreSQL's
    jsonb), so they are refused here, with the rest of a body that is not JSON."""
    raise ValueError(f"{name} is not JSON")


def check_storable(data) -> None:
    """Refuse, before anything is stored or queried, a body no database column can hold:
    nesting deeper than MAX_DEPTH (Stripe's objects are a handful of levels; a deep body
    only costs recursion in every later json.dumps, jsonb and admin page), a NUL in any
    string or key (PostgreSQL text and jsonb refuse it), a lone surrogate (a "\\ud800"
    escape with no partner: not Unicode, so it cannot be encoded as UTF-8) and a number
    too large for a float (1e400 parses as infinity, which is not JSON). One pass with an
    explicit stack, so the check itself cannot recurse."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = list(value.values())
            _check_texts(value.keys())
        elif isinstance(value, list):
            children = value
        else:
            if isinstance(value, str):
                _check_texts((value,))
            elif isinstance(value, float) and not math.isfinite(value):
                raise WebhookRejected("Body holds a number too large for JSON.")
            continue
        if depth > MAX_DEPTH:
            raise WebhookRejected("Body is nested too deeply.")
        stack.extend((child, depth + 1) for child in children)


def _check_texts(texts) -> None:
    for text in texts:
        if text.isascii():
            if "\x00" in text:
                raise WebhookRejected("Body holds a NUL character, which cannot be stored.")
            continue
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise WebhookRejected(
                "Body holds a lone surrogate (an unpaired \\ud800-\\udfff escape), "
                "which is not text."
            ) from None


def check_envelope(data) -> dict:
    if not isinstance(data, dict):
        raise WebhookRejected("Event must be a JSON object.")
    for key, kind in (("id", str), ("type", str), ("created", int), ("livemode", bool)):
        value = data.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise WebhookRejected(f"Event field {key!r} is missing or of the wrong type.")
    if not is_stripe_id(data["id"]):
        raise WebhookRejected(
            "Event id must be 1 to 255 printable ASCII characters without spaces."
        )
    if not is_stripe_id(data["type"], max_length=100):
        raise WebhookRejected(
            "Event type must be 1 to 100 printable ASCII characters without spaces."
        )
    try:
        timestamp(data["created"], "created")
    except InvalidStripeData as exc:
        raise WebhookRejected(str(exc)) from None
    if not isinstance(data.get("data"), dict) or not isinstance(data["data"].get("object"), dict):
        raise WebhookRejected("Event has no data.object.")
    return data


def mode_mismatch(data: dict) -> str | None:
    """A live site refuses test-mode events (and a test-key site live ones): a test
    payment must never become a Contribution of real money."""
    key = settings.STRIPE_SECRET_KEY
    if key.startswith(("sk_live_", "rk_live_")) and not data["livemode"]:
        return "Test-mode event refused: this site runs with live keys."
    if key.startswith(("sk_test_", "rk_test_")) and data["livemode"]:
        return "Live-mode event refused: this site runs with test keys."
    return None


# --- storing and processing -----------------------------------------------------------


def _insert_if_new(data: dict) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: exactly one row per event id. A second delivery
    racing the first waits on the unique index until the first commits, then inserts
    nothing."""
    StripeEvent.objects.bulk_create(
        [
            StripeEvent(
                stripe_event_id=data["id"],
                type=data["type"],
                created=timestamp(data["created"], "created"),
                livemode=data["livemode"],
                payload=data,
            )
        ],
        ignore_conflicts=True,
    )


@dataclass(frozen=True)
class Outcome:
    event: StripeEvent
    result: str  # processed | ignored | duplicate | invalid | error

    @property
    def http_status(self) -> int:
        return 500 if self.result == "error" else 200


@dataclass(frozen=True)
class EventContext:
    id: str
    type: str
    created: dt.datetime


DONE = (StripeEventStatus.PROCESSED, StripeEventStatus.IGNORED)


def _lock(stripe_event_id: str) -> StripeEvent:
    return StripeEvent.objects.select_for_update().get(stripe_event_id=stripe_event_id)


def _process_locked(stripe_event_id: str) -> Outcome:
    """Run the event's handler once; the caller holds a transaction. The event row is
    locked until it commits, so a second delivery waits and then finds it done. The
    handler runs in a savepoint: on an error its writes (and its on_commit emails) are
    discarded and only the failure is recorded on the event."""
    event = _lock(stripe_event_id)
    if event.status in DONE:
        return Outcome(event, "duplicate")
    handler = HANDLERS.get(event.type)
    event.attempts += 1
    fields = ["status", "error", "attempts", "processed_at"]
    if handler is None:
        event.status, event.error = StripeEventStatus.IGNORED, ""
        event.processed_at = timezone.now()
        event.save(update_fields=fields)
        return Outcome(event, "ignored")
    context = EventContext(id=event.stripe_event_id, type=event.type, created=event.created)
    try:
        with transaction.atomic():
            handler(event.payload["data"]["object"], context)
    except Exception as exc:
        return _record_failure(event, exc)
    event.status, event.processed_at = StripeEventStatus.PROCESSED, timezone.now()
    event.error = ""
    event.save(update_fields=fields)
    return Outcome(event, "processed")


def _record_failure(event: StripeEvent, exc: Exception) -> Outcome:
    """The handler of a locked event raised `exc` (its writes are already rolled back):
    record why, and whether Stripe should deliver it again (see the module docstring)."""
    if isinstance(exc, InvalidStripeData):
        result, error = "invalid", str(exc)
    elif isinstance(exc, BillingNotConfigured):
        # Demo billing with a webhook secret: the event needs Stripe's API (a subscription
        # or fee the site does not have), which this site cannot call. Retrying for three
        # days would not change that; staff can Reprocess once Stripe keys are set.
        result, error = "invalid", f"Stripe is not configured on this site ({exc})"
    else:
        logger.error(
            "Stripe event %s (%s) failed", event.stripe_event_id, event.type, exc_info=exc
        )
        result, error = "error", f"{type(exc).__name__}: {exc}"
    event.status, event.processed_at = StripeEventStatus.FAILED, None
    event.error = error[:2000]
    event.save(update_fields=["status", "error", "attempts", "processed_at"])
    return Outcome(event, result)


def receive_event(data: dict) -> Outcome:
    """A verified envelope: store it once and process it unless already done.

    A new event takes one transaction: the event row is inserted already marked with its
    outcome (INSERT ... ON CONFLICT DO NOTHING), then the handler runs, with no savepoint.
    The row and the handler's writes commit together, so the mark is true exactly when it
    is kept. If the handler raises, that transaction rolls back whole (the row too) and a
    second one stores the event with the failure (the handler is not run again). A
    delivery whose event id is already stored (a redelivery, a failed event delivered
    again, or two deliveries at the same moment: the second waits on the unique index)
    finds it done with one read, or runs it under the row's lock (_process_locked)."""
    try:
        try:
            with transaction.atomic():
                outcome = _process_new(data)
            if outcome is not None:
                return outcome
        except _FirstTryFailed as failed:
            # Rolled back whole; the failure is recorded on the event (not run again: a
            # second try could meet another answer from Stripe, and would call it twice).
            with transaction.atomic():
                _insert_if_new(data)
                event = _lock(data["id"])
                if event.status in DONE:  # a concurrent delivery processed it meanwhile
                    return Outcome(event, "duplicate")
                event.attempts += 1
                return _record_failure(event, failed.__cause__)
        done = StripeEvent.objects.filter(stripe_event_id=data["id"], status__in=DONE).first()
        if done is not None:  # a redelivery: one read, no lock, no write
            return Outcome(done, "duplicate")
        with transaction.atomic():
            _insert_if_new(data)
            return _process_locked(data["id"])
    except DataError as exc:  # e.g. a \u0000 PostgreSQL's jsonb cannot hold
        # The driver's message quotes SQL and the offending text: for the log, not the caller.
        logger.warning("Stripe event %r cannot be stored: %s", data["id"], exc)
        raise WebhookRejected("Event cannot be stored: a value in it is not storable.") from None


class _FirstTryFailed(Exception):
    """Raised out of the first try's transaction so that it rolls back whole."""


def _process_new(data: dict) -> Outcome | None:
    """The first try, inside the caller's transaction: None when the event id is already
    stored. Raises _FirstTryFailed (the caller's atomic block then rolls back everything)
    when the handler fails."""
    handler = HANDLERS.get(data["type"])
    now = timezone.now()
    event = StripeEvent(
        stripe_event_id=data["id"],
        type=data["type"],
        created=timestamp(data["created"], "created"),
        livemode=data["livemode"],
        payload=data,
        status=StripeEventStatus.PROCESSED if handler else StripeEventStatus.IGNORED,
        attempts=1,
        processed_at=now,
    )
    if not insert_if_absent(event):
        return None
    if handler is None:
        return Outcome(event, "ignored")
    context = EventContext(id=event.stripe_event_id, type=event.type, created=event.created)
    try:
        handler(data["data"]["object"], context)
    except Exception as exc:
        raise _FirstTryFailed from exc
    return Outcome(event, "processed")


def reprocess_event(event: StripeEvent) -> Outcome:
    """Staff's Reprocess: the same path as a redelivery, for events not yet done."""
    with transaction.atomic():
        return _process_locked(event.stripe_event_id)


# --- handlers -------------------------------------------------------------------------


def handle_checkout_completed(session: dict, context: EventContext) -> None:
    """The donor finished Checkout: attach the new subscription to them. The session
    names the user (client_reference_id and metadata); the subscription object itself
    is fetched from Stripe, since the session holds only its id."""
    if session.get("mode") != "subscription":
        return
    user_ref = session.get("client_reference_id") or (session.get("metadata") or {}).get("user_id")
    user = None
    if isinstance(user_ref, str) and user_ref.isascii() and user_ref.isdigit():
        user = user_by_id(int(user_ref))
    if user is None:
        raise InvalidStripeData(f"unknown customer: no donor with user id {user_ref!r}.")
    sub_id = require_stripe_id(session.get("subscription"), "session.subscription")
    if isinstance(session.get("subscription"), dict):
        obj = session["subscription"]
    else:
        obj = fetch_subscription(sub_id)
    sub, _ = apply_subscription(obj, at=timezone.now(), user=user, current=True)
    # The receipt of the new gift, once: a redelivered event is never processed again.
    if sub.status != SubscriptionStatus.CANCELLED:
        send_gift_started(sub)


def handle_subscription_event(subscription: dict, context: EventContext) -> None:
    apply_subscription(
        subscription,
        at=context.created,
        creation_event=context.type == "customer.subscription.created",
    )


def handle_invoice_paid(invoice: dict, context: EventContext) -> None:
    record_paid_invoice(invoice)


def handle_invoice_payment_failed(invoice: dict, context: EventContext) -> None:
    """Email the donor why the payment failed and where to update the card. Nothing is
    contributed: only invoice.paid records money."""
    invoice = require_object(as_dict(invoice), "invoice")
    facts = parse_invoice(invoice)
    sub = get_or_fetch_subscription(facts.stripe_subscription_id)
    error = invoice.get("last_finalization_error") or {}
    reason = (error.get("message") if isinstance(error, dict) else None) or (
        "Your bank declined the charge or the card could not be used."
    )
    next_attempt = invoice.get("next_payment_attempt")
    context_vars = {
        "user": sub.user,
        "amount": format_cents(invoice.get("amount_due"))
        if isinstance(invoice.get("amount_due"), int)
        else format_cents(sub.amount_cents),
        "reason": reason,
        "next_attempt": timestamp(next_attempt, "next_payment_attempt")
        if isinstance(next_attempt, int)
        else None,
        "update_card_url": settings.SITE_URL + reverse("subscriptions:billing_portal"),
        "invoice_url": invoice.get("hosted_invoice_url")
        if isinstance(invoice.get("hosted_invoice_url"), str)
        else "",
        # The gift's manage link (or, for a gift Stripe has stopped, how to start again).
        "manage_url": manage_url(sub) if sub.status != SubscriptionStatus.CANCELLED else "",
        "max_age_days": settings.MANAGE_LINK_MAX_AGE_DAYS,
        "subscribe_url": settings.SITE_URL + reverse("subscriptions:subscribe"),
    }
    subject = render_to_string("subscriptions/email/payment_failed_subject.txt", context_vars)
    body = render_to_string("subscriptions/email/payment_failed.txt", context_vars)
    recipient = sub.user.email
    # Sent only if the event's processing commits: a rolled-back attempt sends nothing,
    # and a redelivery of a processed event never reaches this line.
    transaction.on_commit(
        lambda: send_mail(
            " ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL, [recipient]
        )
    )


HANDLERS: dict[str, Callable[[dict, EventContext], None]] = {
    "checkout.session.completed": handle_checkout_completed,
    "customer.subscription.created": handle_subscription_event,
    "customer.subscription.updated": handle_subscription_event,
    "customer.subscription.deleted": handle_subscription_event,
    "customer.subscription.paused": handle_subscription_event,
    "customer.subscription.resumed": handle_subscription_event,
    "invoice.paid": handle_invoice_paid,
    "invoice.payment_failed": handle_invoice_payment_failed,
}


def register_handler(event_type: str, handler: Callable[[dict, EventContext], None]) -> None:
    """Let an app above this one handle a Stripe event type (payouts registers Connect's
    account.updated and transfer events in its AppConfig.ready): the dispatcher stays
    here, the handler lives with the code it changes. One handler per type."""
    existing = HANDLERS.get(event_type)
    if existing is not None and existing is not handler:
        raise ValueError(f"A handler for {event_type} is already registered.")
    HANDLERS[event_type] = handler

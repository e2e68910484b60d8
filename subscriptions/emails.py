"""The emails about a donor's gift that subscriptions sends: the receipt when a gift
starts, and a receipt of every change the donor makes (pause, skip, pause until, resume,
amount, cancel), whichever page it was made from. The weekly report (reports.services)
and the payment-failed notice (webhooks) are the others.

Every one carries the gift's manage link (subscriptions.links), except the receipt of a
cancellation, which offers to start again instead (the link is refused from then on).
A change receipt also says where the change was made, and what to do if the donor did
not make it: the manage link works without a password, so a forwarded email must not be
usable unnoticed.

Mail is sent when the caller's transaction commits (at once outside one), so a change
that rolls back sends nothing.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.templatetags.money import format_cents

from .links import manage_url
from .models import Subscription, SubscriptionStatus
from .selectors import get_schedule

# Where a change was made, as the receipt says it.
VIA_DASHBOARD = "on your dashboard, signed in"
VIA_LINK = "with the manage link from one of our emails"


def first_name(user) -> str:
    """The donor's first name for a greeting, never the email address (emails get
    forwarded, and the manage page shows only the gift)."""
    return (user.name or "").split(" ")[0][:40]


def weekly_text(subscription: Subscription) -> str:
    """ "$10.00 a week", or "$10.00 a week + $0.61 fees (you cover the fees)"."""
    if subscription.covers_fees:
        return (
            f"{format_cents(subscription.gift_cents)} a week + "
            f"{format_cents(subscription.covered_fee_cents)} fees (you cover the fees)"
        )
    return f"{format_cents(subscription.amount_cents)} a week"


def _context(subscription: Subscription) -> dict:
    live = subscription.status != SubscriptionStatus.CANCELLED
    return {
        "name": first_name(subscription.user),
        "sub": subscription,
        "weekly": weekly_text(subscription),
        "schedule": get_schedule(subscription, now=timezone.now()),
        "manage_url": manage_url(subscription) if live else "",
        "max_age_days": settings.MANAGE_LINK_MAX_AGE_DAYS,
        "subscribe_url": settings.SITE_URL + reverse("subscriptions:subscribe"),
        "dashboard_url": settings.SITE_URL + reverse("reports:dashboard"),
    }


def _send_on_commit(template: str, subscription: Subscription, **extra) -> None:
    context = {**_context(subscription), **extra}
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    body = render_to_string(f"{template}.txt", context)
    recipient = subscription.user.email
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
    )


def send_gift_started(subscription: Subscription) -> None:
    """The receipt of a new weekly gift."""
    _send_on_commit("subscriptions/email/started", subscription)


def send_gift_changed(subscription: Subscription, *, change: str, via: str) -> None:
    """The receipt of a change: `change` says what happened in one sentence."""
    _send_on_commit("subscriptions/email/changed", subscription, change=change, via=via)

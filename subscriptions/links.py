"""Manage links: a signed, expiring URL in every email about a gift that opens that one
gift's management page (pause, skip next week, pause until a date, change the amount,
cancel) without a password.

The token is django.core.signing's (HMAC-SHA256 with SECRET_KEY, salted for this use
alone, timestamped) over {"s": subscription id, "v": fingerprint}. The fingerprint is a
hash of the Stripe subscription id, so a row re-created under a reused id never accepts
an older link, and the Stripe id itself is not readable in the URL (a signed payload is
not encrypted). A link is refused when:

- it is not one we signed, or was altered (TAMPERED: 400);
- it is older than MANAGE_LINK_MAX_AGE_DAYS (EXPIRED: 410; every email carries a fresh
  one, and the weekly report comes every week);
- its gift is cancelled or gone (CANCELLED / GONE: 410). Cancelling is the last thing a
  link can do; starting again is a new subscription, with new links.

A link is a bearer credential for one gift and nothing more: it never signs anyone in,
and the page it opens shows that gift only (no email address, no other gifts, no
history). Every change made through it is confirmed by email to the donor's address
(subscriptions.emails), so a forwarded link cannot be used unnoticed.
"""

import datetime as dt
import hashlib

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .models import Subscription, SubscriptionStatus

SALT = "hometown.subscriptions.manage-link"


class LinkRefused(Exception):
    """Why a manage link cannot be used; `status` is the HTTP status to answer with."""

    TAMPERED = "tampered"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    GONE = "gone"
    STATUS = {TAMPERED: 400, EXPIRED: 410, CANCELLED: 410, GONE: 410}

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
        self.status = self.STATUS[reason]


def _fingerprint(subscription: Subscription) -> str:
    blob = f"{subscription.pk}:{subscription.stripe_subscription_id}".encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def max_age() -> dt.timedelta:
    return dt.timedelta(days=settings.MANAGE_LINK_MAX_AGE_DAYS)


def make_token(subscription: Subscription) -> str:
    """A token for this gift, valid for MANAGE_LINK_MAX_AGE_DAYS from now."""
    return signing.dumps({"s": subscription.pk, "v": _fingerprint(subscription)}, salt=SALT)


def manage_url(subscription: Subscription) -> str:
    """The absolute link for emails (SITE_URL + /manage/<token>/)."""
    return settings.SITE_URL + reverse("subscriptions:manage", args=[make_token(subscription)])


def read_token(token: str) -> Subscription:
    """The gift a token names, with its user; LinkRefused otherwise. Reads one row."""
    if not isinstance(token, str) or len(token) > 500:
        raise LinkRefused(LinkRefused.TAMPERED)
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age())
    except signing.SignatureExpired:
        raise LinkRefused(LinkRefused.EXPIRED) from None
    except signing.BadSignature:
        raise LinkRefused(LinkRefused.TAMPERED) from None
    pk = payload.get("s") if isinstance(payload, dict) else None
    if type(pk) is not int or not 0 < pk < 2**63:
        # Signed by us yet not a link's payload (another use of the same salt cannot
        # happen, but a payload is data, checked as such).
        raise LinkRefused(LinkRefused.TAMPERED)
    subscription = Subscription.objects.select_related("user").filter(pk=pk).first()
    if subscription is None or payload.get("v") != _fingerprint(subscription):
        raise LinkRefused(LinkRefused.GONE)
    if subscription.status == SubscriptionStatus.CANCELLED:
        raise LinkRefused(LinkRefused.CANCELLED)
    return subscription

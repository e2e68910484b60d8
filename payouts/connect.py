"""Stripe Connect onboarding: an Express account per approved charity, the link that
takes the charity through Stripe's onboarding, and `account.updated` keeping its payout
readiness current (PayoutAccount.ready: details submitted and payouts enabled).

Staff reach it from the admin (payouts.admin, URL name
`admin:payouts_payoutaccount_onboard`), a charity's owner from its portal money page
(payouts.portal: Stripe comes back to that page). Account links are single use and
expire within minutes: Stripe sends an expired one to the refresh URL (the admin view
makes a fresh link; the portal page offers the button again, a GET making nothing).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from charities.models import Charity, CharityStatus
from subscriptions.stripe_client import get_client, idempotency_key
from subscriptions.stripe_objects import InvalidStripeData, as_dict, require_stripe_id
from subscriptions.webhooks import EventContext

from .models import PayoutAccount


def _require_approved(charity: Charity) -> None:
    if charity.verification_status != CharityStatus.APPROVED:
        raise ValidationError(
            f"{charity.name} is not approved: only an approved charity gets a payout account."
        )


def apply_account(account: PayoutAccount, obj: dict, *, at: dt.datetime) -> bool:
    """Copy Stripe's account state onto ours unless ours is newer. True if applied."""
    if account.stripe_state_at and at < account.stripe_state_at:
        return False
    requirements = obj.get("requirements") or {}
    if not isinstance(requirements, dict):
        raise InvalidStripeData("account.requirements must be an object.")
    due = requirements.get("currently_due") or []
    if not isinstance(due, list) or not all(isinstance(d, str) for d in due):
        raise InvalidStripeData("account.requirements.currently_due must be a list of text.")
    for name in ("details_submitted", "charges_enabled", "payouts_enabled"):
        if not isinstance(obj.get(name, False), bool):
            raise InvalidStripeData(f"account.{name} must be true or false.")
    account.details_submitted = bool(obj.get("details_submitted"))
    account.charges_enabled = bool(obj.get("charges_enabled"))
    account.payouts_enabled = bool(obj.get("payouts_enabled"))
    account.requirements_due = due
    account.disabled_reason = str(requirements.get("disabled_reason") or "")[:255]
    account.stripe_state_at = at
    account.save()
    return True


def create_account(charity: Charity, *, client=None) -> PayoutAccount:
    """The charity's Express account, created at Stripe once (an idempotency key per
    charity, and our row if it already exists)."""
    _require_approved(charity)
    existing = PayoutAccount.objects.filter(charity=charity).first()
    if existing is not None:
        return existing
    client = client or get_client()
    params = {
        "type": "express",
        "country": "US",
        "capabilities": {"transfers": {"requested": True}},
        "business_type": "non_profit",
        "metadata": {"charity_id": str(charity.pk)},
    }
    if charity.contact_email:
        params["email"] = charity.contact_email
    obj = as_dict(
        client.v1.accounts.create(
            params=params,
            options={"idempotency_key": idempotency_key("connect-account", charity.pk,
                                                        params=params)},
        )
    )  # fmt: skip
    account_id = require_stripe_id(obj.get("id"), "account.id")
    if not account_id.startswith("acct_"):
        raise InvalidStripeData(f"Stripe answered an account id {account_id!r}.")
    try:
        with transaction.atomic():
            account = PayoutAccount.objects.create(charity=charity, stripe_account_id=account_id)
    except IntegrityError:  # a second click that got here first: same key, same account
        return PayoutAccount.objects.get(charity=charity)
    apply_account(account, obj, at=timezone.now())
    return account


def onboarding_link(
    charity: Charity,
    *,
    client=None,
    refresh_path: str | None = None,
    return_path: str | None = None,
) -> str:
    """A fresh Stripe onboarding URL for the charity's account (created if missing).
    Stripe comes back to refresh_path (the link expired) or return_path (onboarding left
    or finished), both paths on this site; by default the admin's onboarding view."""
    client = client or get_client()
    account = create_account(charity, client=client)
    admin_path = reverse("admin:payouts_payoutaccount_onboard", args=[charity.pk])
    refresh_path = refresh_path or admin_path
    return_path = return_path or admin_path + "?returned=1"
    link = as_dict(
        client.v1.account_links.create(
            params={
                "account": account.stripe_account_id,
                "refresh_url": settings.SITE_URL + refresh_path,
                "return_url": settings.SITE_URL + return_path,
                "type": "account_onboarding",
            }
        )
    )
    url = link.get("url")
    if not isinstance(url, str) or not url.startswith("https://"):
        raise InvalidStripeData(f"Stripe answered an onboarding link {url!r}.")
    return url


def refresh_account(charity: Charity, *, client=None) -> PayoutAccount | None:
    """Ask Stripe for the account's state now (the charity came back from onboarding)."""
    account = PayoutAccount.objects.filter(charity=charity).first()
    if account is None:
        return None
    client = client or get_client()
    obj = as_dict(client.v1.accounts.retrieve(account.stripe_account_id))
    apply_account(account, obj, at=timezone.now())
    return account


def handle_account_updated(obj: dict, context: EventContext) -> None:
    """account.updated: the connected account's readiness, unless we know a newer state.
    An account we have no row for is attached to the charity its metadata names when
    that charity has none yet (our commit was lost after Stripe created it); otherwise
    it is not ours and the event is recorded as failed."""
    obj = as_dict(obj)
    account_id = require_stripe_id(obj.get("id"), "account.id")
    account = (
        PayoutAccount.objects.select_for_update().filter(stripe_account_id=account_id).first()
    )
    if account is None:
        charity_ref = (obj.get("metadata") or {}).get("charity_id")
        charity = None
        if isinstance(charity_ref, str) and charity_ref.isascii() and charity_ref.isdigit():
            charity = Charity.objects.filter(pk=int(charity_ref), payout_account=None).first()
        if charity is None or not account_id.startswith("acct_"):
            raise InvalidStripeData(f"unknown connected account {account_id}.")
        account = PayoutAccount.objects.create(charity=charity, stripe_account_id=account_id)
    apply_account(account, obj, at=context.created)

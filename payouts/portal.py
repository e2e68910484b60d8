"""The charity's money in its portal (/portal/<charity id>/money/): what it received week
by week (donors counted, never named), what is owed and when the next payout runs, its
payouts with a statement per month, and its Stripe Connect onboarding. Members only
(charities.portal.member_required); only an owner starts or continues onboarding.

Stripe comes back to the money page itself: ?stripe=returned (onboarding left or
finished: the account's state is read from Stripe) or ?stripe=refresh (the link expired:
the page offers the button again; a GET makes nothing at Stripe).
"""

import logging

import stripe
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from charities.models import CharityStatus
from charities.portal import member_required, owner_required
from core.charts import weekly_bar_chart
from core.months import parse_period
from core.weeks import last_completed_week
from subscriptions.stripe_client import BillingNotConfigured
from subscriptions.stripe_objects import InvalidStripeData

from . import connect
from .models import PayoutAccount
from .selectors import (
    get_charity_money,
    get_charity_payouts,
    get_charity_weekly_money,
    get_next_payout,
    get_statement,
)

logger = logging.getLogger(__name__)

STRIPE_TROUBLE = (
    "Stripe could not be reached or did not answer as expected, so nothing changed. "
    "Please try again in a few minutes; if it keeps happening, write to us."
)


# What Stripe's requirement names ask for, in words (others are shown cleaned up).
REQUIREMENT_WORDS = {
    "external_account": "the bank account payouts go to",
    "tos_acceptance": "accepting Stripe's terms",
    "business_profile": "your organisation's profile",
    "company": "your organisation's details",
    "representative": "the person who represents the charity",
    "individual": "the person who represents the charity",
    "person": "the people who run the charity",
    "owners": "the charity's owners",
    "directors": "the charity's directors",
    "executives": "the charity's executives",
}


def requirement_words(due: list[str]) -> list[str]:
    words = []
    for item in due:
        head = str(item).split(".", 1)[0]
        if head.startswith("person_"):
            head = "person"
        word = REQUIREMENT_WORDS.get(head) or str(item).replace("_", " ").replace(".", ": ")
        if word not in words:
            words.append(word)
    return words


def _money_path(charity_id: int) -> str:
    return reverse("portal:money", args=[charity_id])


def _read_stripe_state(request, charity) -> None:
    """The owner or editor came back from Stripe: read the account's state now."""
    try:
        account = connect.refresh_account(charity)
    except BillingNotConfigured:
        return
    except (stripe.StripeError, InvalidStripeData):
        logger.exception("Reading Stripe account of charity %s failed", charity.pk)
        messages.error(request, STRIPE_TROUBLE)
        return
    if account is None:
        return
    if account.ready:
        messages.success(request, "Stripe is set up: your payouts will go to your bank.")
    else:
        messages.warning(
            request,
            "Stripe still needs some details before it can pay you: "
            "continue setting up payouts below.",
        )


@never_cache
@member_required
@require_GET
def money(request, charity_id):
    membership = request.membership
    charity = membership.charity
    now = timezone.now()
    came_back = request.GET.get("stripe")
    if came_back == "returned":
        _read_stripe_state(request, charity)
    elif came_back == "refresh":
        messages.info(request, "The Stripe link expired. Continue with the button below.")
    money_figures = get_charity_money(charity)
    weekly = get_charity_weekly_money(charity, last_week=last_completed_week(now))
    account = PayoutAccount.objects.filter(charity=charity).first()
    return render(
        request,
        "payouts/portal/money.html",
        {
            "membership": membership,
            "charity": charity,
            "is_owner": membership.role == membership.Role.OWNER,
            "money": money_figures,
            "next_payout": get_next_payout(charity, money=money_figures, now=now),
            "weekly": weekly,
            "weekly_chart": weekly_bar_chart(
                weekly.points, title=f"Received by {charity.name} per week"
            ),
            "payouts": get_charity_payouts(charity),
            "account": account,
            "account_needs": requirement_words(account.requirements_due) if account else [],
            "stripe_configured": bool(settings.STRIPE_SECRET_KEY),
            "approved": charity.verification_status == CharityStatus.APPROVED,
        },
    )


@never_cache
@member_required
@require_GET
def statement(request, charity_id):
    """?period=YYYY-MM (default: this month): the staff statement's content, for members."""
    try:
        month = parse_period(request.GET.get("period") or f"{timezone.localdate():%Y-%m}")
    except ValidationError:
        raise Http404("No such month.") from None
    return render(
        request,
        "payouts/portal/statement.html",
        {
            "statement": get_statement(request.membership.charity, month),
            "generated_on": timezone.localdate(),
        },
    )


@member_required
@require_POST
@owner_required
def onboard(request, charity_id):
    """Create the charity's Stripe Express account if missing and send the owner on to
    Stripe's onboarding; any trouble is a plain message on the money page. (member_required
    first, so an editor's GET is 405 and a stranger's anything 404; owners only to POST.)"""
    charity = request.membership.charity
    here = _money_path(charity.pk)
    try:
        return redirect(
            connect.onboarding_link(
                charity,
                refresh_path=here + "?stripe=refresh",
                return_path=here + "?stripe=returned",
            )
        )
    except BillingNotConfigured:
        messages.info(
            request, "Stripe payouts are not available on this site: we pay you by hand."
        )
    except ValidationError:
        messages.error(
            request, "Your charity is not approved yet: Stripe payouts open once it is."
        )
    except (stripe.StripeError, InvalidStripeData):
        logger.exception("Stripe onboarding of charity %s failed", charity.pk)
        messages.error(request, STRIPE_TROUBLE)
    return redirect(here)

"""placeholder until the billing branch lands.

Minimal demo-billing views behind the URL names the donor's pages post to
(subscriptions:subscribe, pause, resume, cancel, change_amount, billing_portal). They call
the existing demo services directly; the billing branch replaces this module (same names,
paths and field names) with the Stripe-aware flow.
"""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from core.templatetags.money import format_cents

from .forms import AmountForm
from .models import Subscription
from .services import (
    cancel_subscription,
    change_subscription_amount,
    create_subscription,
    new_demo_subscription_id,
    pause_subscription,
    record_contribution,
    resume_subscription,
)


def _own_subscription(request, pk) -> Subscription:
    """The signed-in donor's subscription, or 404 (another donor's id finds nothing)."""
    subscription = Subscription.objects.filter(pk=pk, user=request.user).first()
    if subscription is None:
        raise Http404("No such subscription.")
    return subscription


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request):
    if not request.user.city:
        messages.info(request, "First tell us your ZIP code: your gift goes to your own city.")
        return redirect(f"{reverse('accounts:profile')}?next=subscribe")
    form = AmountForm(request.POST or None, initial={"amount": "10"})
    if request.method == "POST" and form.is_valid():
        try:
            subscription = create_subscription(
                user=request.user,
                amount_cents=form.cleaned_data["amount"],
                stripe_subscription_id=new_demo_subscription_id(),
            )
            # Demo billing: the first week's payment is "collected" at once.
            record_contribution(
                subscription=subscription,
                amount_cents=subscription.amount_cents,
                paid_at=timezone.now(),
                stripe_invoice_id=f"demo_in_{uuid.uuid4().hex}",
            )
        except ValidationError as exc:
            form.add_error("amount", _error_text(exc))
        else:
            messages.success(
                request,
                f"Thank you! You now give {format_cents(subscription.amount_cents)} every "
                f"week to the charities of {request.user.place}.",
            )
            return redirect("accounts:dashboard")
    return render(request, "subscriptions/subscribe.html", {"form": form})


def _act(request, pk, action, done: str):
    subscription = _own_subscription(request, pk)
    try:
        action(subscription)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, done)
    return redirect("accounts:dashboard")


@login_required
@require_POST
def pause(request, pk):
    return _act(request, pk, pause_subscription, "Your weekly gift is paused.")


@login_required
@require_POST
def resume(request, pk):
    return _act(request, pk, resume_subscription, "Your weekly gift is running again.")


@login_required
@require_POST
def cancel(request, pk):
    return _act(
        request,
        pk,
        cancel_subscription,
        "Your weekly gift is cancelled. Money already paid will still be given out.",
    )


@login_required
@require_POST
def change_amount(request, pk):
    subscription = _own_subscription(request, pk)
    form = AmountForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["amount"]))
        return redirect("accounts:dashboard")
    try:
        change_subscription_amount(subscription, amount_cents=form.cleaned_data["amount"])
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            f"From your next payment you give {format_cents(subscription.amount_cents)} a week.",
        )
    return redirect("accounts:dashboard")


@login_required
@require_POST
def billing_portal(request):
    messages.info(request, "Demo billing has no payment portal: no card is on file.")
    return redirect("accounts:dashboard")

import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.templatetags.money import format_cents

from . import billing, fees, links, services, webhooks
from .emails import VIA_LINK, first_name
from .forms import AmountForm, PauseUntilForm
from .models import MAX_AMOUNT_CENTS, MIN_AMOUNT_CENTS, Subscription, SubscriptionStatus
from .selectors import get_schedule, get_user_subscriptions, long_date

DASHBOARD_URL = "/dashboard/"


def _get_subscription_for_user(request, pk: int) -> Subscription:
    """The signed-in donor's own subscription; another donor's is a 404, not a 403, so
    ids of other people's subscriptions are not confirmed to exist."""
    return get_object_or_404(Subscription.objects.select_related("user"), pk=pk, user=request.user)


def _back(request) -> HttpResponseRedirect:
    target = request.POST.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(DASHBOARD_URL)


# --- subscribe ------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def subscribe(request):
    if not request.user.city:
        # Money is pooled by the donor's city: without one it could only be held.
        messages.info(request, "First tell us your ZIP code, so your gift goes to your town.")
        return redirect(f"{reverse('accounts:profile')}?next=subscribe")
    form = AmountForm(request.POST or None)
    review = None
    if request.method == "POST" and form.is_valid():
        if form.needs_review():
            # Covering the fees: show "$10.00 + $0.61 fees = $10.61 a week" and ask again.
            review = form.breakdown()
        else:
            response = _start_subscription(request, form.terms())
            if response is not None:
                return response
    current = get_user_subscriptions(request.user).exclude(status=SubscriptionStatus.CANCELLED)
    return render(
        request,
        "subscriptions/subscribe.html",
        {
            "form": form,
            "review": review,
            "current": list(current),
            "demo_billing": settings.DEMO_BILLING,
            "card_rate": fees.card_rate(),
            "bank_debit": settings.STRIPE_OFFER_BANK_DEBIT and not settings.DEMO_BILLING,
            "bank_rate": fees.BANK_DEBIT_RATE,
        },
    )


def _weekly_text(terms: dict) -> str:
    if terms["covers_fees"]:
        return str(fees.FeeBreakdown(terms["gift_cents"], terms["amount_cents"]))
    return f"{format_cents(terms['amount_cents'])} a week"


def _start_subscription(request, terms: dict):
    """Demo billing: the subscription at once. Stripe: a redirect to Checkout, or None
    (with a message) when Stripe refused."""
    if settings.DEMO_BILLING:
        services.start_demo_subscription(user=request.user, **terms)
        messages.success(
            request,
            f"Thank you! Your weekly gift of {_weekly_text(terms)} is active. "
            "Demo billing: no card was charged; this site takes no real payments.",
        )
        return redirect(DASHBOARD_URL)
    try:
        url = billing.start_checkout(user=request.user, **terms)
    except billing.BillingError as exc:
        messages.error(request, str(exc))
        return None
    return redirect(url)


@login_required
def subscribe_success(request):
    # Nothing is written here: the subscription exists once Stripe's webhook says so.
    return render(request, "subscriptions/success.html")


@login_required
def subscribe_cancelled(request):
    return render(request, "subscriptions/cancelled.html")


# --- self-service ---------------------------------------------------------------------


def _self_service(request, pk, action, done_message):
    subscription = _get_subscription_for_user(request, pk)
    try:
        subscription = action(subscription)
    except billing.BillingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done_message(subscription))
    return _back(request)


# What each action says once done; the dashboard and the manage page say the same.
def _paused_message(s) -> str:
    return "Your weekly gift is paused. Nothing is charged until you resume it."


def _resumed_message(s) -> str:
    return f"Your weekly gift of {format_cents(_weekly_cents(s))} is active again."


def _cancelled_message(s) -> str:
    return "Your weekly gift is cancelled. Money already given is still distributed."


def _paused_until_message(s) -> str:
    return f"Your weekly gift is paused until {long_date(s.paused_until)}. " + (
        get_schedule(s, now=timezone.now()).next_charge_text
    )


def _skipped_message(s) -> str:
    return (
        f"Next week's payment is skipped. Your gift starts again by itself on "
        f"{long_date(s.paused_until)}. " + get_schedule(s, now=timezone.now()).next_charge_text
    )


def _weekly_cents(s) -> int:
    return s.gift_cents if s.covers_fees else s.amount_cents


@login_required
@require_POST
def pause(request, pk):
    return _self_service(request, pk, lambda s: billing.pause(subscription=s), _paused_message)


@login_required
@require_POST
def resume(request, pk):
    return _self_service(request, pk, lambda s: billing.resume(subscription=s), _resumed_message)


@login_required
@require_POST
def cancel(request, pk):
    return _self_service(request, pk, lambda s: billing.cancel(subscription=s), _cancelled_message)


@login_required
@require_POST
def skip(request, pk):
    return _self_service(
        request, pk, lambda s: billing.skip_next_week(subscription=s), _skipped_message
    )


@login_required
@require_POST
def pause_until(request, pk):
    subscription = _get_subscription_for_user(request, pk)
    form = PauseUntilForm(request.POST, today=timezone.localdate())
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["until"]))
        return _back(request)
    until = form.cleaned_data["until"]
    return _self_service(
        request, subscription.pk,
        lambda s: billing.pause_until(subscription=s, until=until),
        _paused_until_message,
    )  # fmt: skip


@login_required
@require_POST
def change_amount(request, pk):
    subscription = _get_subscription_for_user(request, pk)
    form = AmountForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return _back(request)
    if form.needs_review():
        # Covering the fees: the donor confirms the breakdown before anything changes.
        return render(
            request,
            "subscriptions/confirm_amount.html",
            {
                "subscription": subscription,
                "form": form,
                "review": form.breakdown(),
                "next": request.POST.get("next") or "",
                "demo_billing": subscription.is_demo,
            },
        )
    terms = form.terms()
    return _self_service(
        request, subscription.pk,
        lambda s: billing.change_amount(subscription=s, **terms),
        lambda s: f"Your weekly gift is now {_weekly_text(terms)}, from the next payment on.",
    )  # fmt: skip


# --- manage from any email -------------------------------------------------------------
# /manage/<token>/: the gift a signed link names (subscriptions.links), without a password
# and without signing anyone in. GET only shows (mail scanners open links); each action is
# a POST with a CSRF token that redirects back to the page, which says what happened. A
# refused link (altered, expired, cancelled gift) gets a page saying so, never a 500.


def _link_page(view):
    """No cache may keep the page (it is one donor's gift) and no search engine may index
    it. The site's Referrer-Policy (same-origin) already keeps the token in the URL from
    other sites; "no-referrer" would be stricter but makes browsers send "Origin: null"
    with the page's own forms, which Django's CSRF check then refuses."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapped


def _reads_link(view):
    """The view gets the gift the signed link names (read once, here); a refused link
    (altered, expired, cancelled) gets the page that says why, and the view never runs."""

    @functools.wraps(view)
    def wrapped(request, token):
        try:
            subscription = links.read_token(token)
        except links.LinkRefused as exc:
            return _refused(request, exc)
        return view(request, token, subscription)

    return wrapped


def _refused(request, exc: links.LinkRefused):
    return render(
        request,
        "subscriptions/manage_refused.html",
        {"reason": exc.reason, "max_age_days": settings.MANAGE_LINK_MAX_AGE_DAYS},
        status=exc.status,
    )


def _manage_page(request, token, subscription, *, status=200, **forms):
    now = timezone.now()
    today = timezone.localdate(now)
    subscription.schedule = get_schedule(subscription, now=now)
    context = {
        "token": token,
        "sub": subscription,
        "name": first_name(subscription.user),
        "pause_form": forms.get("pause_form") or PauseUntilForm(today=today),
        "amount_form": forms.get("amount_form"),
        "amount_value": _weekly_cents(subscription),
        "min_dollars": MIN_AMOUNT_CENTS // 100,
        "max_dollars": MAX_AMOUNT_CENTS // 100,
        "demo_billing": subscription.is_demo,
    }
    return render(request, "subscriptions/manage.html", context, status=status)


@_link_page
@require_safe
@_reads_link
def manage(request, token, subscription):
    return _manage_page(request, token, subscription)


def _manage_post(request, token, subscription, action, done_message):
    try:
        subscription = action(subscription)
    except billing.BillingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done_message(subscription))
    return redirect("subscriptions:manage", token)


@_link_page
@require_POST
@_reads_link
def manage_pause(request, token, subscription):
    return _manage_post(
        request,
        token,
        subscription,
        lambda s: billing.pause(subscription=s, via=VIA_LINK),
        _paused_message,
    )


@_link_page
@require_POST
@_reads_link
def manage_resume(request, token, subscription):
    return _manage_post(
        request,
        token,
        subscription,
        lambda s: billing.resume(subscription=s, via=VIA_LINK),
        _resumed_message,
    )


@_link_page
@require_POST
@_reads_link
def manage_skip(request, token, subscription):
    return _manage_post(
        request, token, subscription,
        lambda s: billing.skip_next_week(subscription=s, via=VIA_LINK),
        _skipped_message,
    )  # fmt: skip


@_link_page
@require_POST
@_reads_link
def manage_pause_until(request, token, subscription):
    form = PauseUntilForm(request.POST, today=timezone.localdate())
    if not form.is_valid():
        return _manage_page(request, token, subscription, status=400, pause_form=form)
    until = form.cleaned_data["until"]
    return _manage_post(
        request, token, subscription,
        lambda s: billing.pause_until(subscription=s, until=until, via=VIA_LINK),
        _paused_until_message,
    )  # fmt: skip


@_link_page
@require_POST
@_reads_link
def manage_amount(request, token, subscription):
    form = AmountForm(request.POST)
    if not form.is_valid():
        return _manage_page(request, token, subscription, status=400, amount_form=form)
    if form.needs_review():
        return render(
            request,
            "subscriptions/confirm_amount.html",
            {
                "subscription": subscription,
                "form": form,
                "review": form.breakdown(),
                "demo_billing": subscription.is_demo,
                "confirm_url": reverse("subscriptions:manage_amount", args=[token]),
                "back_url": reverse("subscriptions:manage", args=[token]),
            },
        )
    terms = form.terms()
    return _manage_post(
        request, token, subscription,
        lambda s: billing.change_amount(subscription=s, via=VIA_LINK, **terms),
        lambda s: f"Your weekly gift is now {_weekly_text(terms)}, from the next payment on.",
    )  # fmt: skip


@_link_page
@require_http_methods(["GET", "POST"])
@_reads_link
def manage_cancel(request, token, subscription):
    """GET asks to confirm (and changes nothing); POST cancels."""
    if request.method == "GET":
        return render(
            request, "subscriptions/manage_cancel.html", {"token": token, "sub": subscription}
        )
    return _manage_post(
        request, token, subscription,
        lambda s: billing.cancel(subscription=s, via=VIA_LINK),
        _cancelled_message,
    )  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def billing_portal(request):
    """POST opens Stripe's customer portal. GET (the link in a payment-failed email) shows
    a button that POSTs, since opening a portal session is not a safe GET."""
    if request.method == "GET":
        return render(request, "subscriptions/billing_portal.html")
    if settings.DEMO_BILLING:
        messages.info(
            request,
            "Demo billing: there is no Stripe billing account in demo mode, so there are "
            "no cards or invoices to manage.",
        )
        return redirect(DASHBOARD_URL)
    try:
        url = billing.open_billing_portal(user=request.user)
    except billing.BillingError as exc:
        messages.error(request, str(exc))
        return redirect(DASHBOARD_URL)
    return redirect(url)


# --- webhook --------------------------------------------------------------------------


@csrf_exempt  # Stripe cannot send a CSRF token; the signature check stands in for it.
@require_POST
def stripe_webhook(request):
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return JsonResponse({"error": "Bad Content-Length."}, status=400)
    if declared > webhooks.MAX_BODY_BYTES:
        return JsonResponse({"error": "Body too large."}, status=413)
    body = request.body
    if len(body) > webhooks.MAX_BODY_BYTES:
        return JsonResponse({"error": "Body too large."}, status=413)
    try:
        data = webhooks.verify_event(body, request.headers.get("Stripe-Signature"))
        refusal = webhooks.mode_mismatch(data)
        if refusal:
            raise webhooks.WebhookRejected(refusal)
        outcome = webhooks.receive_event(data)
    except webhooks.WebhookRejected as exc:
        return JsonResponse({"error": str(exc)}, status=exc.status)
    payload = {"received": True, "result": outcome.result, "status": outcome.event.status}
    if outcome.result == "invalid":
        # The site's own words about the data Stripe sent (why it was refused).
        payload["error"] = outcome.event.error
    elif outcome.result == "error":
        # An unexpected failure's text (a database error, say) stays in the event row and
        # the log, where staff see it; the answer only says to retry.
        payload["error"] = "Processing failed here; the delivery will be retried."
    return JsonResponse(payload, status=outcome.http_status)

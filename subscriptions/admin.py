import json

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from core.admin import ReadOnlyAdmin
from core.templatetags.money import format_cents

from .models import Contribution, StripeEvent, Subscription
from .webhooks import DONE, reprocess_event


def _short(text: str, chars: int):
    short = Truncator(text).chars(chars)
    return short if short == text else format_html('<span title="{}">{}</span>', text, short)


def _day(day) -> str:
    return f"{day:%b} {day.day}, {day.year}"


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    """Read-only: a subscription changes through the donor's buttons or Stripe's webhook,
    so the platform's state never drifts from what Stripe bills."""

    list_display = ["id", "user", "weekly", "covers_fees", "status", "paused_until",
                    "stripe_status", "start_date", "last_distribution_date"]  # fmt: skip
    list_filter = ["status", "stripe_status"]
    search_fields = ["user__email", "stripe_subscription_id", "stripe_customer_id"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"

    @admin.display(description="weekly charge", ordering="amount_cents")
    def weekly(self, obj):
        return format_cents(obj.amount_cents)


@admin.register(Contribution)
class ContributionAdmin(ReadOnlyAdmin):
    """The ledger of money collected: paid (gross), the processor's fee as Stripe reported
    it, and the net that was (or will be) given. A blank fee is one not read yet: the
    contribution waits until sync_stripe reads it."""

    # Compact for a 1280 px screen (static/css/admin.css): the invoice id and the donor
    # cut short (in full in their titles), dates without times.
    list_display = ["invoice", "donor", "paid", "fee", "given", "source", "paid_on",
                    "given_in"]  # fmt: skip
    list_filter = ["fee_source", "distributed_week"]
    search_fields = ["stripe_invoice_id", "subscription__user__email"]
    list_select_related = ["subscription__user"]
    date_hierarchy = "paid_at"

    @admin.display(description="paid", ordering="amount_cents")
    def paid(self, obj):
        return format_cents(obj.amount_cents)

    @admin.display(description="invoice", ordering="stripe_invoice_id")
    def invoice(self, obj):
        return _short(obj.stripe_invoice_id, 16)

    @admin.display(description="donor", ordering="subscription__user__email")
    def donor(self, obj):
        return _short(obj.subscription.user.email, 22)

    @admin.display(description="fee from", ordering="fee_source")
    def source(self, obj):
        return format_html(
            '<span title="{}">{}</span>', obj.get_fee_source_display(), obj.fee_source or "-"
        )

    @admin.display(description="paid on", ordering="paid_at")
    def paid_on(self, obj):
        return _day(timezone.localtime(obj.paid_at))

    @admin.display(description="given in week", ordering="distributed_week")
    def given_in(self, obj):
        return _day(obj.distributed_week) if obj.distributed_week else "not yet"

    @admin.display(description="fee", ordering="fee_cents")
    def fee(self, obj):
        return "not read yet" if obj.fee_cents is None else format_cents(obj.fee_cents)

    @admin.display(description="net (given)", ordering="net_cents")
    def given(self, obj):
        return "-" if obj.net_cents is None else format_cents(obj.net_cents)


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    """Every verified webhook delivery. Read-only; "Reprocess" reruns failed ones through
    the webhook's own path (subscriptions.webhooks.reprocess_event), so a fixed cause
    (a donor created, Stripe reachable again) can be applied without waiting for Stripe."""

    list_display = ["stripe_event_id", "type", "status", "created", "livemode", "attempts",
                    "processed_at", "short_error"]  # fmt: skip
    list_filter = ["status", "type", "livemode"]
    search_fields = ["stripe_event_id", "type", "error"]
    date_hierarchy = "created"
    fields = ["stripe_event_id", "type", "status", "error", "attempts", "created", "livemode",
              "received_at", "processed_at", "pretty_payload"]  # fmt: skip
    readonly_fields = fields
    actions = ["reprocess"]

    @admin.display(description="error")
    def short_error(self, event):
        return event.error[:80]

    @admin.display(description="payload")
    def pretty_payload(self, event):
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2, sort_keys=True))

    def has_reprocess_permission(self, request):
        return request.user.has_perm("subscriptions.change_stripeevent")

    @admin.action(description="Reprocess selected events", permissions=["reprocess"])
    def reprocess(self, request, queryset):
        results = {"processed": 0, "ignored": 0, "skipped": 0, "failed": 0}
        for event in queryset.order_by("created", "id"):
            if event.status in DONE:
                results["skipped"] += 1
                continue
            outcome = reprocess_event(event)
            if outcome.result in ("processed", "ignored", "duplicate"):
                results["processed" if outcome.result != "ignored" else "ignored"] += 1
            else:
                results["failed"] += 1
                self.message_user(
                    request,
                    f"{event.stripe_event_id} still fails: {outcome.event.error}",
                    messages.ERROR,
                )
        self.message_user(
            request,
            f"Reprocessed: {results['processed']} processed, {results['ignored']} ignored, "
            f"{results['failed']} still failing, {results['skipped']} already done (skipped).",
            messages.WARNING if results["failed"] else messages.SUCCESS,
        )

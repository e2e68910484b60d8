from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import Contribution, StripeEvent, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    """Read-only: a subscription changes through the donor's buttons or Stripe's webhook,
    so the platform's state never drifts from what Stripe bills."""

    list_display = ["id", "user", "amount_cents", "status", "stripe_status", "start_date",
                    "last_distribution_date"]  # fmt: skip
    list_filter = ["status", "stripe_status"]
    search_fields = ["user__email", "stripe_subscription_id", "stripe_customer_id"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"


@admin.register(Contribution)
class ContributionAdmin(ReadOnlyAdmin):
    list_display = ["id", "stripe_invoice_id", "subscription", "amount_cents", "paid_at",
                    "distributed_week"]  # fmt: skip
    list_filter = ["distributed_week"]
    search_fields = ["stripe_invoice_id", "subscription__user__email"]
    list_select_related = ["subscription__user"]
    date_hierarchy = "paid_at"


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["stripe_event_id", "type", "status", "created", "livemode", "attempts",
                    "processed_at"]  # fmt: skip
    list_filter = ["status", "type", "livemode"]
    search_fields = ["stripe_event_id", "type"]
    date_hierarchy = "created"

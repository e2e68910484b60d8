"""Payouts in the admin: the list staff work from, the form that records a payment made
by hand, and Stripe Connect onboarding for a charity (payouts.connect).

Payouts are written by run_payouts and by the services here, never edited as raw rows:
the admin shows them read-only, and each change goes through a service that checks the
transition (payouts.services.record_manual_payment).
"""

import stripe
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from charities.models import Charity
from core.templatetags.money import format_cents
from subscriptions.stripe_client import BillingNotConfigured
from subscriptions.stripe_objects import InvalidStripeData

from . import connect, services
from .models import Payout, PayoutAccount, PayoutMethod, PayoutSlice, PayoutStatus


class PayoutSliceInline(admin.TabularInline):
    model = PayoutSlice
    fields = ("week_start", "rows_created_at", "rows_count", "amount", "live")
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description="amount")
    def amount(self, obj):
        return format_cents(obj.amount_cents)

    def has_add_permission(self, request, obj=None):
        return False


class RecordPaymentForm(forms.Form):
    status = forms.ChoiceField(label="The payment is now", choices=())
    reference = forms.CharField(
        label="Cheque number or bank reference", max_length=255, required=False
    )
    reason = forms.CharField(label="Why it failed", widget=forms.Textarea, required=False)

    def __init__(self, *args, payout: Payout, **kwargs):
        super().__init__(*args, **kwargs)
        if services.is_held_for_review(payout):
            allowed = (PayoutStatus.PAID, PayoutStatus.FAILED)
            self.fields["reference"].label = "Stripe transfer id (when it was paid)"
            self.fields["reason"].label = "What Stripe shows happened (when it failed)"
        else:
            allowed = services.MANUAL_TRANSITIONS.get(payout.status, ())
            self.fields["reference"].initial = payout.manual_reference
        self.fields["status"].choices = [(s.value, s.label) for s in allowed]


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    # Short columns: the list fits beside the admin's sidebar at 1280 px.
    list_display = (
        "charity_name", "period_label", "amount", "method_label", "status", "reference",
        "record_link",
    )  # fmt: skip
    list_display_links = ("charity_name",)
    list_filter = ("status", "method", "period")
    list_select_related = ("charity",)
    search_fields = ("charity__name", "stripe_transfer_id", "manual_reference")
    inlines = [PayoutSliceInline]
    readonly_fields = (
        "charity", "period", "amount", "method", "status", "stripe_account_id",
        "stripe_transfer_id", "manual_reference", "eligibility", "failure_reason",
        "created_at", "sent_at", "settled_at", "recorded_by",
    )  # fmt: skip
    fields = readonly_fields

    @admin.display(description="charity", ordering="charity__name")
    def charity_name(self, obj):
        return obj.charity.name

    @admin.display(description="method", ordering="method")
    def method_label(self, obj):
        return "Stripe" if obj.method == PayoutMethod.STRIPE else "by hand"

    @admin.display(description="period", ordering="period")
    def period_label(self, obj):
        return f"{obj.period:%Y-%m}"

    @admin.display(description="amount", ordering="amount_cents")
    def amount(self, obj):
        return format_cents(obj.amount_cents)

    @admin.display(description="reference")
    def reference(self, obj):
        return obj.stripe_transfer_id or obj.manual_reference

    @admin.display(description="")
    def record_link(self, obj):
        url = reverse("admin:payouts_payout_record", args=[obj.pk])
        if services.is_held_for_review(obj):
            return format_html('<a href="{}" title="Resolve review">Resolve</a>', url)
        if obj.method == PayoutMethod.MANUAL and obj.status in services.MANUAL_TRANSITIONS:
            return format_html('<a href="{}" title="Record payment">Record</a>', url)
        return ""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "<int:payout_id>/record/",
                self.admin_site.admin_view(self.record_view),
                name="payouts_payout_record",
            ),
            *super().get_urls(),
        ]

    def record_view(self, request, payout_id):
        """Record a manual payment: pending -> sent | paid | failed, sent -> paid | failed."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        payout = get_object_or_404(Payout.objects.select_related("charity"), pk=payout_id)
        back = reverse("admin:payouts_payout_change", args=[payout.pk])
        held = services.is_held_for_review(payout)
        recordable = services.MANUAL_TRANSITIONS.get(payout.status)
        if not held and (payout.method != PayoutMethod.MANUAL or not recordable):
            self.message_user(
                request,
                f"Payout {payout.pk} is a {payout.get_method_display()} payout, "
                f"{payout.get_status_display().lower()}: nothing to record by hand.",
                messages.ERROR,
            )
            return redirect(back)
        form = RecordPaymentForm(request.POST if request.method == "POST" else None, payout=payout)
        if form.is_bound and form.is_valid():
            try:
                if held:
                    services.resolve_held_payout(
                        payout.pk,
                        status=form.cleaned_data["status"],
                        transfer_id=form.cleaned_data["reference"],
                        reason=form.cleaned_data["reason"],
                        by=request.user,
                        now=timezone.now(),
                    )
                else:
                    services.record_manual_payment(
                        payout.pk,
                        status=form.cleaned_data["status"],
                        reference=form.cleaned_data["reference"],
                        reason=form.cleaned_data["reason"],
                        by=request.user,
                        now=timezone.now(),
                    )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.error_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, exc)
            else:
                payout.refresh_from_db()
                self.message_user(
                    request,
                    f"Payout {payout.pk} to {payout.charity.name} recorded as "
                    f"{payout.get_status_display().lower()}.",
                    messages.SUCCESS,
                )
                return redirect(back)
        return TemplateResponse(
            request,
            "admin/payouts/record_payment.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Record payment of payout {payout.pk}",
                "opts": self.model._meta,
                "payout": payout,
                "amount": format_cents(payout.amount_cents),
                "form": form,
                "pending": payout.status == PayoutStatus.PENDING,
                "held": held,
            },
        )


@admin.register(PayoutAccount)
class PayoutAccountAdmin(admin.ModelAdmin):
    list_display = (
        "charity", "stripe_account_id", "ready", "details_submitted", "payouts_enabled",
        "disabled_reason", "stripe_state_at",
    )  # fmt: skip
    list_select_related = ("charity",)
    search_fields = ("charity__name", "stripe_account_id")
    readonly_fields = (
        "charity", "stripe_account_id", "details_submitted", "charges_enabled",
        "payouts_enabled", "requirements_due", "disabled_reason", "stripe_state_at",
        "created_at", "updated_at",
    )  # fmt: skip
    fields = readonly_fields

    @admin.display(boolean=True)
    def ready(self, obj):
        return obj.ready

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "onboard/<int:charity_id>/",
                self.admin_site.admin_view(self.onboard_view),
                name="payouts_payoutaccount_onboard",
            ),
            *super().get_urls(),
        ]

    def onboard_view(self, request, charity_id):
        """Create the charity's Express account if missing and send staff on to Stripe's
        onboarding. Also Stripe's refresh URL (an expired link lands here and gets a new
        one) and return URL (?returned=1: read the account's state, then show it)."""
        if not (
            request.user.has_perm("payouts.change_payoutaccount")
            or request.user.has_perm("payouts.add_payoutaccount")
        ):
            raise PermissionDenied
        charity = get_object_or_404(Charity, pk=charity_id)
        changelist = reverse("admin:payouts_payoutaccount_changelist")
        try:
            if request.GET.get("returned"):
                account = connect.refresh_account(charity)
                if account is not None:
                    self.message_user(
                        request,
                        f"{charity.name}: Stripe account {account.stripe_account_id} is "
                        f"{'ready for payouts' if account.ready else 'not ready yet'}.",
                        messages.SUCCESS if account.ready else messages.WARNING,
                    )
                    return redirect(
                        reverse("admin:payouts_payoutaccount_change", args=[account.pk])
                    )
            return redirect(connect.onboarding_link(charity))
        except BillingNotConfigured:
            message = (
                "Stripe is not configured (demo billing: no STRIPE_SECRET_KEY), so no "
                "Connect account can be made. This charity is paid by hand."
            )
        except ValidationError as exc:
            message = " ".join(exc.messages)
        except (stripe.StripeError, InvalidStripeData) as exc:
            message = f"Stripe did not make the onboarding link: {exc}"
        self.message_user(request, message, messages.ERROR)
        return redirect(changelist)

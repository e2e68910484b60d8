"""Admin pages that show several apps on one page. The charity page is the vetting admin
of charities.admin with the charity's needs (needs.admin) and members (who may use its
portal) on it: staff vet a charity and
keep its needs current in one place, and see its money (payouts.selectors): distributed,
paid out, in payment, owed, the next payout, its IRS standing and its statements.
Approving a charity with no current need (the list action or the page's button) asks
first, since the weekly run would give it nothing; the list counts each charity's
current needs. The staff money pages of several apps (held money, preview a week) are
web.admin_views."""

import datetime as dt

from django.contrib import admin
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from charities.admin import CharityAdmin as CharityVettingAdmin
from charities.admin import CharityMemberInline
from charities.models import Charity
from core.months import period_of
from needs.admin import NeedInline, NeedsFreshnessFilter
from needs.selectors import get_current_need_counts
from payouts.selectors import get_charity_money, get_next_payout

ONBOARD_URL_NAME = "admin:payouts_payoutaccount_onboard"


@admin.register(Charity)
class CharityAdmin(CharityVettingAdmin):
    list_display = [*CharityVettingAdmin.list_display[:4], "current_needs",
                    *CharityVettingAdmin.list_display[4:]]  # fmt: skip
    list_filter = [*CharityVettingAdmin.list_filter, NeedsFreshnessFilter]
    inlines = [NeedInline, CharityMemberInline]

    def approval_warnings(self, request, charities) -> list[str]:
        """A charity with no need that counts now (needs.selectors: current, with an
        urgency and a gap) takes no part in the weekly run: approving it shows it to
        donors and gives it nothing, so staff confirm first."""
        charities = list(charities)
        counts = get_current_need_counts([c.pk for c in charities], now=timezone.now())
        return [
            f"{c.name} has no current need; it will receive nothing until a need is added."
            for c in charities
            if not counts.get(c.pk)
        ]

    def get_changelist_instance(self, request):
        """The page's current-need counts in one query, beside the vetting admin's
        payout verdicts."""
        changelist = super().get_changelist_instance(request)
        counts = get_current_need_counts(
            [c.pk for c in changelist.result_list], now=timezone.now()
        )
        for charity in changelist.result_list:
            charity.current_need_count = counts.get(charity.pk, 0)
        return changelist

    @admin.display(description="Needs")
    def current_needs(self, obj):
        count = getattr(obj, "current_need_count", None)
        if count is None:
            count = get_current_need_counts([obj.pk]).get(obj.pk, 0)
        return count or "none"

    readonly_fields = [*CharityVettingAdmin.readonly_fields, "money"]
    fieldsets = [*CharityVettingAdmin.fieldsets, ("Money and IRS standing", {"fields": ["money"]})]

    @admin.display(description="Money")
    def money(self, obj):
        if obj is None or obj.pk is None:
            return "Shown once the charity is saved."
        now = timezone.now()
        money = get_charity_money(obj)
        try:
            onboard_url = reverse(ONBOARD_URL_NAME, args=[obj.pk])
        except NoReverseMatch:
            onboard_url = ""  # the Stripe onboarding view is not installed
        this_month = period_of(now)
        last_month = period_of(now.replace(day=1) - dt.timedelta(days=1))
        html = render_to_string(
            "admin/payouts/charity_money.html",
            {
                "charity": obj,
                "money": money,
                "next": get_next_payout(obj, money=money, now=now),
                "onboard_url": onboard_url,
                "statements": [
                    (
                        f"{m:%B %Y}",
                        reverse("payouts:statement", args=[obj.pk]) + f"?period={m:%Y-%m}",
                    )
                    for m in (last_month, this_month)
                ],
            },
        )
        return html  # a SafeString: the template escaped every value

    def save_formset(self, request, form, formset, change):
        if formset.model is NeedInline.model:
            NeedInline.save_through_services(request, form.instance, formset)
            return
        if formset.model is CharityMemberInline.model:
            # Staff who add a member are recorded as who added them.
            for member_form in formset.extra_forms:
                if member_form.has_changed() and not member_form.instance.pk:
                    member_form.instance.added_by = request.user
        super().save_formset(request, form, formset, change)

"""The platform's money for staff, in the admin: the summary of payouts.selectors for a
chosen month, with each identity marked OK or MISMATCH (the same as `money_report`).
Hooked in config/urls.py before the admin's own URLs, so it lives under /admin/."""

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.months import parse_period, period_of

from .selectors import get_money_summary


@require_GET
@staff_member_required
@never_cache
def money_summary(request):
    error = ""
    month = period_of(timezone.now())
    asked = request.GET.get("period")
    if asked:
        try:
            month = parse_period(asked)
        except ValidationError:
            error = f"{asked!r} is not a month of the form YYYY-MM; showing {month:%Y-%m}."
    summary = get_money_summary(month)
    return render(
        request,
        "admin/payouts/summary.html",
        {
            **admin.site.each_context(request),
            "title": f"Platform money: {summary.label}",
            "summary": summary,
            "error": error,
            "period_value": f"{month:%Y-%m}",
        },
        status=400 if error else 200,
    )

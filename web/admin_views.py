"""Staff money pages that span several apps, under /admin/ (config/urls.py includes
web.admin_urls before the admin's own URLs):

- Held money (/admin/money/held/): per place, the money collected and not distributed,
  since when, why and what would release it (web.selectors.get_held_money). Read-only.
- Preview week (/admin/money/preview-week/?week=YYYY-MM-DD): what a run of an ended week
  would do now, per place (portfolio.services.get_distribution_preview; writes nothing),
  beside the week's run record.
- Run this week (POST /admin/money/preview-week/run/): a confirm step, then
  web.services.queue_week_run, for staff with distributions.run_distribution_week.

Staff only (others are sent to log in, as the admin does); the pages need the permission
to view distribution runs, and answer 403 without it.
"""

import datetime as dt

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from core.templatetags.money import format_cents
from core.weeks import last_completed_week, parse_week, week_from_iso
from distributions.selectors import get_runs_by_week

from . import services
from .selectors import get_held_money

VIEW_PERMISSION = "distributions.view_distributionrun"
RECENT_WEEKS = 6


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@require_GET
@staff_member_required
@never_cache
def held_money(request):
    _require(request, VIEW_PERMISSION)
    return render(
        request,
        "admin/money/held.html",
        {
            **admin.site.each_context(request),
            "title": "Held money",
            "held": get_held_money(now=timezone.now()),
        },
    )


def _preview_url(week: str = "") -> str:
    url = reverse("admin_preview_week")
    return f"{url}?week={week}" if week else url


@require_GET
@staff_member_required
@never_cache
def preview_week(request):
    """?week=any day of the week (default: the last week that has ended)."""
    _require(request, VIEW_PERMISSION)
    now = timezone.now()
    latest = last_completed_week(now)
    asked = request.GET.get("week", "").strip()
    preview, error = None, ""
    try:
        week = parse_week(asked) if asked else latest
        preview = services.preview_week(week, now=now)
    except ValidationError as exc:
        error = _errors(exc)
    weeks = [latest - dt.timedelta(weeks=n) for n in range(RECENT_WEEKS)]
    runs = get_runs_by_week(weeks)
    return render(
        request,
        "admin/money/preview_week.html",
        {
            **admin.site.each_context(request),
            "title": "Preview a week",
            "preview": preview,
            "error": error,
            "week_value": asked if error else (preview.week.isoformat() if preview else ""),
            "refusal": services.run_refusal(preview, now=now) if preview else "",
            "can_run": request.user.has_perm(services.RUN_PERMISSION),
            "recent": [(week, runs.get(week)) for week in weeks],
        },
        status=400 if error else 200,
    )


@staff_member_required
@require_POST
@never_cache
def run_week(request):
    """Step one (no confirm=yes): the confirm page. Step two: queue the run."""
    _require(request, services.RUN_PERMISSION)
    asked = request.POST.get("week", "")
    now = timezone.now()
    try:
        week = week_from_iso(asked, "week")
        if request.POST.get("confirm") != "yes":
            preview = services.preview_week(week, now=now)
            refusal = services.run_refusal(preview, now=now)
            if refusal:
                raise ValidationError({"week": refusal})
            return render(
                request,
                "admin/money/run_week_confirm.html",
                {
                    **admin.site.each_context(request),
                    "title": f"Run the week of {preview.label}?",
                    "preview": preview,
                },
            )
        queued = services.queue_week_run(week, by=request.user, now=now)
    except ValidationError as exc:
        messages.error(request, f"Nothing was queued: {_errors(exc)}")
        return redirect(_preview_url(asked if len(asked) <= 10 else ""))
    preview = queued.preview
    messages.success(
        request,
        f"Queued the distribution of the week of {preview.label} "
        f"({format_cents(preview.distributed_cents)} to give, "
        f"{format_cents(preview.held_cents)} to hold, as previewed). Its run is below.",
    )
    return redirect(reverse("admin:distributions_distributionrun_changelist"))

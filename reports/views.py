from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from core.charts import split_bar_chart

from .selectors import get_report, get_user_reports

PAGE_SIZE = 26


@login_required
@require_safe
def report_list(request):
    # Queries: session, user, count, one page of reports (a donor's own only).
    reports = get_user_reports(request.user).only(
        "id", "week_start", "total_distributed_cents", "charities_supported"
    )
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "reports/list.html", {"page": page})


@login_required
@require_safe
def report_detail(request, pk):
    report = get_report(request.user, pk)
    if report is None:
        raise Http404("No such report.")
    breakdown = sorted(
        report.distribution_breakdown or [],
        key=lambda row: (-int(row.get("amount_cents") or 0), str(row.get("charity_name"))),
    )
    chart = split_bar_chart(
        [
            (str(row.get("charity_name", "")), int(row.get("amount_cents") or 0))
            for row in breakdown
        ],
        title=f"Where your money went in the week of {report.week_start:%b %-d, %Y}",
    )
    return render(
        request,
        "reports/detail.html",
        {"report": report, "breakdown": breakdown, "chart": chart},
    )

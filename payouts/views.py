"""Staff pages of the payouts area: a charity's printable payout statement for a month.
Staff only (others are sent to log in, as the admin does); donors are counted, never
named."""

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from charities.models import Charity
from core.months import parse_period

from .selectors import get_statement


@require_GET
@staff_member_required
@never_cache
def statement(request, charity_id: int):
    """?period=YYYY-MM (default: this month)."""
    try:
        month = parse_period(request.GET.get("period") or f"{timezone.localdate():%Y-%m}")
    except ValidationError:
        raise Http404("No such month.") from None
    charity = get_object_or_404(Charity, pk=charity_id)
    return render(
        request,
        "payouts/statement.html",
        {"statement": get_statement(charity, month), "generated_on": timezone.localdate()},
    )

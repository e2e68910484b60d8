"""The needs pages of the charity portal (/portal/<charity id>/needs/), members only.

Members add, update, confirm and close their charity's own needs (source manual: the same
rows staff enter in the admin, one per category); a feed's needs are shown, never edited.
Every write goes through needs.services with changed_by=request.user, so each is a
NeedChange naming the member. Closing sets urgency and gap to 0 (services.close_need):
the need stops counting, its history stays.
"""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from charities.portal import member_required

from . import services
from .forms import PortalNeedForm
from .models import STALE_WARNING_DAYS, Need, Source
from .selectors import get_portal_needs


def _render(request, charity, *, add_form=None, failed=None, status=200):
    """The needs page. `failed` is (need id, bound form) when an update was refused."""
    rows = get_portal_needs(charity, now=timezone.now())
    forms = {}
    for row in rows:
        if not row.editable:
            continue
        need = row.need
        if failed is not None and failed[0] == need.pk:
            forms[need.pk] = failed[1]
        else:
            forms[need.pk] = PortalNeedForm(
                prefix=f"need-{need.pk}",
                initial={
                    "category": need.category,
                    "urgency_score": need.urgency_score,
                    "funding_gap": need.funding_gap_cents,
                    "description": need.description,
                },
            )
    return render(
        request,
        "needs/portal/needs.html",
        {
            "membership": request.membership,
            "charity": charity,
            "rows": [(row, forms.get(row.need.pk)) for row in rows],
            "add_form": add_form or PortalNeedForm(prefix="add"),
            "warning_days": STALE_WARNING_DAYS,
            "max_age_days": settings.NEEDS_MAX_AGE_DAYS,
        },
        status=status,
    )


@never_cache
@member_required
def needs(request, charity_id):
    return _render(request, request.membership.charity)


def _own_need(charity, need_id) -> Need:
    """The charity's own (manual) need, or 404: another charity's need, a feed's need
    and a malformed id are all the same "no such need of yours"."""
    if not str(need_id).isdigit():
        raise Http404("No such need.")
    return get_object_or_404(Need, pk=need_id, charity=charity, source=Source.MANUAL)


@member_required
@require_POST
def need_save(request, charity_id):
    """Add a need (prefix "add") or update one (prefix "need-<id>", posted as need_id).
    Adding in a category that already has the charity's own need updates that need."""
    charity = request.membership.charity
    need_id = request.POST.get("need_id", "")
    need = _own_need(charity, need_id) if need_id else None
    form = PortalNeedForm(request.POST, prefix=f"need-{need.pk}" if need else "add")
    if need is not None:
        # An existing need keeps its category whatever is posted.
        form.data = form.data.copy()
        form.data[form.add_prefix("category")] = need.category
    if not form.is_valid():
        if need is None:
            return _render(request, charity, add_form=form, status=400)
        return _render(request, charity, failed=(need.pk, form), status=400)
    data = form.cleaned_data
    values = {
        "urgency_score": data["urgency_score"],
        "funding_gap_cents": data["funding_gap"],
        "description": data["description"],
        "changed_by": request.user,
    }
    if need is not None:
        services.update_need(need, note="updated in the portal", **values)
    else:
        need = services.create_need(
            charity=charity,
            category=data["category"],
            source=Source.MANUAL,
            note="entered in the portal",
            **values,
        )
    messages.success(request, f"Saved: {need.get_category_display()}.")
    return redirect("portal:needs", charity_id=charity.pk)


@member_required
@require_POST
def need_confirm(request, charity_id):
    charity = request.membership.charity
    need = _own_need(charity, request.POST.get("need_id", ""))
    services.confirm_need(need, changed_by=request.user)
    messages.success(request, f"Confirmed as still current: {need.get_category_display()}.")
    return redirect("portal:needs", charity_id=charity.pk)


@member_required
@require_POST
def need_close(request, charity_id):
    charity = request.membership.charity
    need = _own_need(charity, request.POST.get("need_id", ""))
    services.close_need(need, changed_by=request.user)
    messages.success(
        request,
        f"Closed: {need.get_category_display()} no longer counts. Enter new figures to reopen it.",
    )
    return redirect("portal:needs", charity_id=charity.pk)

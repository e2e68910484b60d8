"""The charity's own public page: /charities/apply/ (the other /charities/ pages are
web.views, which composes charities with needs and the ledger)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import services
from .forms import ApplicationForm, EinForm


def _irs_row(ein: str, user):
    """What we hold for this EIN from the IRS file (None when nothing), and the
    refusal when it may not be applied for."""
    try:
        return services.check_ein_for_application(ein, user=user), None
    except ValidationError as exc:
        return None, exc


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def apply(request):
    """Two steps: the EIN (a GET, looked up in the IRS file and refused early when it
    cannot be applied for), then the details, pre-filled from the IRS file (a POST)."""
    if request.method == "POST":
        form = ApplicationForm(request.POST)
        if form.is_valid():
            try:
                charity = services.apply_for_charity(user=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    f"Thank you: {charity.name} is waiting for our staff's review. "
                    "We will email you their decision.",
                )
                return redirect("portal:home")
        irs = (
            _irs_row(form.cleaned_data["ein"], request.user)[0]
            if "ein" in form.cleaned_data
            else None
        )
        return render(request, "charities/apply.html", {"form": form, "irs": irs, "step": 2})

    ein_form = EinForm(request.GET if "ein" in request.GET else None)
    if not ein_form.is_valid():
        return render(request, "charities/apply.html", {"ein_form": ein_form, "step": 1})
    ein = ein_form.cleaned_data["ein"]
    irs, refusal = _irs_row(ein, request.user)
    if refusal is not None:
        ein_form.add_error(None, refusal)
        return render(request, "charities/apply.html", {"ein_form": ein_form, "step": 1})
    initial = {"ein": f"{ein[:2]}-{ein[2:]}", "contact_email": request.user.email}
    if irs is not None:
        initial |= {f: getattr(irs, f) for f in ("name", "city", "state", "zip_code", "category")}
    form = ApplicationForm(initial=initial)
    return render(request, "charities/apply.html", {"form": form, "irs": irs, "step": 2})

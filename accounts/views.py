"""The donor's profile (email, name, ZIP and the city it gives to). The pages about the
donor's money (dashboard, history CSV, statement) live in reports.views, where the data
flow ends.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from core import zips

from .forms import ProfileForm
from .services import update_user


def _apply_validation_error(form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: per field where it names one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def profile(request):
    if request.method == "POST":
        form = ProfileForm.for_user(request.user, request.POST)
        if form.is_valid():
            try:
                update_user(request.user, **form.service_arguments())
            except ValidationError as exc:
                _apply_validation_error(form, exc)
                request.user.refresh_from_db()
            else:
                # Where the money goes (or that it waits) is on the page itself, said by
                # the charities app (charities/templatetags/places.py).
                messages.success(request, "Profile saved.")
                next_url = request.POST.get("next", "")
                if next_url == "subscribe":
                    return redirect("subscriptions:subscribe")
                return redirect("accounts:profile")
    else:
        form = ProfileForm.for_user(request.user)
    return render(
        request,
        "accounts/profile.html",
        {"form": form, "next": request.GET.get("next", request.POST.get("next", ""))},
    )


@login_required
@require_safe
def zip_lookup(request):
    """City and state of a US ZIP, offline (core.zips), for the profile form's script.
    The form works without it: the service derives the same place on save."""
    code = request.GET.get("zip", "").strip()
    info = zips.lookup(code) if len(code) == 5 else None
    if info is None:
        return JsonResponse({"error": f"{code[:10]!r} is not a US ZIP code."}, status=404)
    return JsonResponse({"zip_code": info.zip_code, "city": info.city, "state": info.state})

"""The charity's own pages in the portal: its profile and its people.

Each view takes `charity_id` and is wrapped in charities.portal.member_required, so a
stranger gets 404 before anything runs. Changes to people are for owners: the services
check it (an editor, who may see the list, gets 403 and the page offers them no buttons).
owner_required is not used there: an editor knows the charity exists, and 404 would say
the page does not. The one
exception is `join`, the invitation link: its visitor is not a member yet; the signed
token names the charity, and the service checks it (charities.services.accept_invitation).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from . import services
from .forms import InviteMemberForm, MemberRoleForm, ProfileForm
from .models import CharityMember, MemberRole
from .portal import member_required
from .selectors import get_change_requests


def _add_errors(form, error: ValidationError) -> None:
    """A service's ValidationError onto the form: per field where the form has it."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


# What members write directly, then what staff apply (services.REVIEWED_FIELDS).
PROFILE_FIELDS = ("mission", "gift_line", "website", "contact_email", *services.REVIEWED_FIELDS)


@never_cache
@member_required
@require_http_methods(["GET", "POST"])
def profile(request, charity_id):
    charity = request.membership.charity
    initial = {f: getattr(charity, f) for f in PROFILE_FIELDS}
    initial["logo"] = charity.logo or None
    form = ProfileForm(initial=initial)
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES, initial=initial)
        if form.is_valid():
            try:
                result = services.update_profile(charity, by=request.user, **form.service_kwargs())
            except ValidationError as error:
                _add_errors(form, error)
            else:
                if result.requested:
                    messages.info(
                        request,
                        "Saved. Changes to "
                        + ", ".join(f for f, _, _ in result.requested)
                        + " go to our staff, who apply them after a check.",
                    )
                else:
                    messages.success(request, "Profile saved.")
                return redirect("portal:profile", charity_id=charity.pk)
    return render(
        request,
        "charities/portal/profile.html",
        {
            "membership": request.membership,
            "charity": charity,
            "form": form,
            "about_fields": [form[f] for f in (*PROFILE_FIELDS[:4], "logo")],
            "record_fields": [form[f] for f in PROFILE_FIELDS[4:]],
            "requests": get_change_requests(charity),
        },
    )


def _people_page(request, charity, *, invite_form=None, errors=None, status=200):
    members = charity.members.select_related("user").order_by("role", "user__email")
    return render(
        request,
        "charities/portal/members.html",
        {
            "membership": request.membership,
            "charity": charity,
            "members": members,
            "is_owner": request.membership.role == MemberRole.OWNER,
            "invite_form": invite_form or InviteMemberForm(),
            "roles": MemberRole.choices,
            "errors": errors or [],
        },
        status=status,
    )


@never_cache
@member_required
@require_http_methods(["GET"])
def members(request, charity_id):
    return _people_page(request, request.membership.charity)


@never_cache
@member_required
@require_POST
def invite(request, charity_id):
    charity = request.membership.charity
    form = InviteMemberForm(request.POST)
    if form.is_valid():
        try:
            outcome = services.invite_member(
                charity, email=form.cleaned_data["email"], by=request.user
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            email = form.cleaned_data["email"]
            messages.success(
                request,
                f"{email} is now an editor; we emailed them."
                if outcome == "added"
                else f"We emailed {email} an invitation to sign up and join.",
            )
            return redirect("portal:members", charity_id=charity.pk)
    return _people_page(request, charity, invite_form=form, status=400)


def _member(request) -> CharityMember:
    """The member named by the POST's `member`, of this charity only (404 otherwise)."""
    member_id = request.POST.get("member", "")
    if not member_id.isdigit():
        raise Http404("No such member.")
    return get_object_or_404(
        CharityMember.objects.select_related("user", "charity"),
        pk=int(member_id),
        charity=request.membership.charity,
    )


@never_cache
@member_required
@require_POST
def member_role(request, charity_id):
    member = _member(request)
    form = MemberRoleForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("Choose owner or editor.")
        services.change_member_role(member, role=form.cleaned_data["role"], by=request.user)
    except ValidationError as error:
        return _people_page(request, member.charity, errors=error.messages, status=400)
    messages.success(request, f"{member.user.email} is now {form.cleaned_data['role']}.")
    return redirect("portal:members", charity_id=member.charity_id)


@never_cache
@member_required
@require_POST
def member_remove(request, charity_id):
    member = _member(request)
    try:
        services.remove_member_by_owner(member, by=request.user)
    except ValidationError as error:
        return _people_page(request, member.charity, errors=error.messages, status=400)
    messages.success(request, f"{member.user.email} was removed.")
    if member.user_id == request.user.pk:
        return redirect("portal:home")
    return redirect("portal:members", charity_id=member.charity_id)


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def join(request, token):
    """The invitation link. GET shows what accepting means; POST accepts."""
    if request.method == "POST":
        try:
            member = services.accept_invitation(token, user=request.user)
        except ValidationError as error:
            context = {"error": error.messages[0]}
            return render(request, "charities/portal/join.html", context, status=400)
        messages.success(request, f"You now work for {member.charity.name}.")
        return redirect("portal:overview", charity_id=member.charity_id)
    return render(request, "charities/portal/join.html", {"token": token})

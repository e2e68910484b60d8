from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from core.admin import ReadOnlyAdmin
from core.text import counted

from . import geocoding, selectors, services
from .models import Charity, CharityMember, CharityStatus, CoordinatesSource, IrsImport, MemberRole
from .widgets import MapPickerWidget

GEOCODE_ACTION_LIMIT = 50
# The vetting confirmation's field: approve although the admin warned (approval_warnings).
APPROVE_ANYWAY = "approve_anyway"
PAYOUTS_COLUMN_CHARS = 16
# reject_charity takes a charity of any status; rejecting a rejected one again only adds
# a note, so the change page offers Reject where it changes something.
REJECTABLE = (CharityStatus.PENDING, CharityStatus.APPROVED)
# Fields of the change form that charities.services.create_charity/update_charity set.
SERVICE_FIELDS = ("name", "ein", "category", "description", "website", "contact_email",
                  "city", "state", "zip_code", "admin_notes", "needs_feed_url")  # fmt: skip


def payouts_word(reason: str) -> str:
    """The list's short word for why a charity may not be paid (the reason in full is
    the cell's title): "not approved", "needs review", "no IRS import"."""
    for start, word in (("not approved", "not approved"), ("needs review", "needs review"),
                        ("no IRS", "no IRS import")):  # fmt: skip
        if reason.startswith(start):
            return word
    return Truncator(reason).chars(PAYOUTS_COLUMN_CHARS)


class HasCoordinatesFilter(admin.SimpleListFilter):
    title = "coordinates"
    parameter_name = "has_coordinates"

    def lookups(self, request, model_admin):
        return [("yes", "Set"), ("no", "Missing")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(latitude__isnull=False, longitude__isnull=False)
        if self.value() == "no":
            return queryset.filter(latitude__isnull=True)
        return queryset


class NeedsReviewFilter(admin.SimpleListFilter):
    """Approved charities whose payouts wait on their IRS standing
    (charities.selectors.get_payout_eligibility), and those that may be paid."""

    title = "payouts"
    parameter_name = "payouts"

    def lookups(self, request, model_admin):
        return [("review", "Needs review (IRS)"), ("eligible", "Eligible for payouts")]

    def queryset(self, request, queryset):
        if self.value() == "review":
            return queryset.filter(selectors.needs_review_q())
        if self.value() == "eligible":
            return queryset.filter(verification_status=CharityStatus.APPROVED).exclude(
                selectors.needs_review_q()
            )
        return queryset


class ApplicationsFilter(admin.SimpleListFilter):
    """Charities users asked for at /charities/apply/ and staff have not decided on yet."""

    title = "applications"
    parameter_name = "applications"

    def lookups(self, request, model_admin):
        return [("pending", "Waiting for review"), ("all", "All applications")]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(
                applied_by__isnull=False, verification_status=CharityStatus.PENDING
            )
        if self.value() == "all":
            return queryset.filter(applied_by__isnull=False)
        return queryset


class CharityAdminForm(forms.ModelForm):
    location = forms.CharField(
        required=False,
        label="Location on the map",
        widget=MapPickerWidget(),
        help_text="Click the map or drag the marker to set latitude and longitude; "
        "coordinates set here are marked as set by hand and never overwritten by geocoding.",
    )

    class Meta:
        model = Charity
        fields = [
            "name",
            "ein",
            "category",
            "description",
            "website",
            "contact_email",
            "city",
            "state",
            "zip_code",
            "latitude",
            "longitude",
            "admin_notes",
            "needs_feed_url",
        ]

    def clean(self):
        data = super().clean()
        lat, lng = data.get("latitude"), data.get("longitude")
        if (lat is None) != (lng is None):
            raise ValidationError("Give both latitude and longitude, or neither.")
        return data


class RejectForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=1000,
        help_text="Why these charities are rejected. Kept in their admin notes.",
    )


class RejectOneForm(RejectForm):
    """The change page's Reject: the same note as the list action's, for one charity."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["note"].help_text = (
            "Why this charity is rejected. Kept in its admin notes, and emailed to the "
            "applicant when someone applied for it."
        )


class CharityAdmin(admin.ModelAdmin):
    """Vetting, details and the map of a charity. Registered by web.admin, which adds
    the needs (the charity page shows charities and needs together)."""

    form = CharityAdminForm
    change_form_template = "admin/charities/charity/change_form.html"
    # Short labels and compact values, so the list fits a 1280 px screen beside its
    # filters (static/css/admin.css): the place in one column, the status in a word,
    # the payout reason in a word (in full in its title), the date without the time;
    # coordinates are a filter ("coordinates") and the charity's page, not a column.
    list_display = [
        "name",
        "place",
        "category",
        "status",
        "ein_display",
        "payout_eligibility",
        "added",
    ]
    list_filter = [
        ApplicationsFilter,
        NeedsReviewFilter,
        "verification_status",
        "state",
        "category",
        HasCoordinatesFilter,
        "coordinates_source",
    ]
    search_fields = ["name", "ein", "city"]
    actions = ["approve_selected", "reject_selected", "geocode_selected"]
    list_per_page = 50
    readonly_fields = [
        "verification_status",
        "approved_at",
        "approved_by",
        "coordinates_source",
        "needs_feed_error",
        "needs_feed_checked_at",
        "needs_feed_succeeded_at",
        "created_at",
        "updated_at",
        "applied_by",
        "applied_at",
        "application_flags",
    ]
    fieldsets = [
        (None, {"fields": ["name", "ein", "category", "description", "website", "contact_email"]}),
        (
            "Place",
            {
                "fields": [
                    "city",
                    "state",
                    "zip_code",
                    "latitude",
                    "longitude",
                    "coordinates_source",
                    "location",
                ]
            },
        ),
        (
            "Vetting",
            {"fields": ["verification_status", "approved_at", "approved_by", "admin_notes"]},
        ),
        (
            "Application (/charities/apply/)",
            {"fields": ["applied_by", "applied_at", "application_flags"]},
        ),
        (
            "Needs feed",
            {
                "fields": [
                    "needs_feed_url",
                    "needs_feed_checked_at",
                    "needs_feed_succeeded_at",
                    "needs_feed_error",
                ]
            },
        ),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="Place", ordering="city")
    def place(self, obj):
        return f"{obj.city}, {obj.state}"

    @admin.display(description="Status", ordering="verification_status")
    def status(self, obj):
        return obj.verification_status

    @admin.display(description="Added", ordering="created_at")
    def added(self, obj):
        day = timezone.localtime(obj.created_at)
        return f"{day:%b} {day.day}, {day.year}"

    def get_changelist_instance(self, request):
        """Judge the page's charities at once (one query for the IRS imports), so the
        eligibility column makes no query per row."""
        changelist = super().get_changelist_instance(request)
        charities = list(changelist.result_list)
        verdicts = selectors.get_payout_eligibility(charities)
        for charity in charities:
            charity.payout_verdict = verdicts[charity.pk]
        return changelist

    @admin.display(description="Payouts")
    def payout_eligibility(self, obj):
        verdict = getattr(obj, "payout_verdict", None)
        if verdict is None:
            verdict = selectors.get_payout_eligibility([obj])[obj.pk]
        if verdict.eligible:
            return "eligible"
        return format_html(
            '<span title="{}">{}</span>', verdict.reason, payouts_word(verdict.reason)
        )

    @admin.display(description="EIN", ordering="ein")
    def ein_display(self, obj):
        return obj.ein_display

    def response_action(self, request, queryset):
        """Django's own response_action filters pk__in= whatever the form posted, so one
        id that is not a number ("", "abc") raised ValueError, a 500. Refuse such a
        selection with a message instead; nothing is changed."""
        selected = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
        if not all(s.isascii() and s.isdigit() and 0 < int(s) < 2**63 for s in selected):
            self.message_user(
                request,
                "Nothing changed: the selection holds an id that is not a charity's.",
                messages.ERROR,
            )
            return None
        return super().response_action(request, queryset)

    def has_vet_permission(self, request):
        return request.user.has_perm(services.VET_PERMISSION)

    def save_model(self, request, obj, form, change):
        """Through the services: create_charity or update_charity for the details (only
        the fields the form changed), update_charity_coordinates for a position set by
        hand. The form has validated every field against the model already."""
        data = form.cleaned_data
        fields = {name: data[name] for name in SERVICE_FIELDS if name in data}
        if not change:
            obj.pk = services.create_charity(**fields).pk
        else:
            changed = {name: fields[name] for name in form.changed_data if name in fields}
            services.update_charity(obj, **changed)
        obj.refresh_from_db()
        if {"latitude", "longitude"} & set(form.changed_data):
            services.update_charity_coordinates(
                obj,
                latitude=data.get("latitude"),
                longitude=data.get("longitude"),
                source=CoordinatesSource.MANUAL,
            )

    # --- vetting: the list's actions and the change page's buttons, one path ----------

    def approval_warnings(self, request, charities) -> list[str]:
        """Sentences to confirm before approving these charities (none here: the admin
        that knows about needs, web.admin, warns of a charity with no current need)."""
        return []

    def _approvable(self, charities) -> list[Charity]:
        return [c for c in charities if c.verification_status in services.APPROVABLE]

    def _approval_confirmation(self, request, charities, warnings, *, bulk: bool):
        """The step between Approve and the service when approval_warnings has something
        to say: "Approve anyway" posts the same request again with APPROVE_ANYWAY."""
        if bulk:
            cancel = reverse("admin:charities_charity_changelist")
        else:
            cancel = reverse("admin:charities_charity_change", args=[charities[0].pk])
        return TemplateResponse(
            request,
            "admin/charities/approve_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "title": "Approve anyway?",
                "opts": self.model._meta,
                "charities": charities,
                "warnings": warnings,
                "bulk": bulk,
                "action_url": request.get_full_path(),
                "cancel_url": cancel,
                "approve_anyway": APPROVE_ANYWAY,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description="Approve selected charities", permissions=["vet"])
    def approve_selected(self, request, queryset):
        if APPROVE_ANYWAY not in request.POST:
            changing = self._approvable(queryset.order_by("name", "pk"))
            warnings = self.approval_warnings(request, changing)
            if warnings:
                return self._approval_confirmation(request, changing, warnings, bulk=True)
        done = self._vet(request, queryset, services.approve_charity, log="Approved.")
        if done is not None:
            self.message_user(request, f"Approved {counted(done, 'charity')}.", messages.SUCCESS)
        return None

    @admin.action(description="Reject selected charities…", permissions=["vet"])
    def reject_selected(self, request, queryset):
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            note = form.cleaned_data["note"]
            done = self._vet(
                request,
                queryset,
                lambda c, by: services.reject_charity(c, by=by, note=note),
                log=f"Rejected: {note}",
            )
            if done is not None:
                said = f"Rejected {counted(done, 'charity')}."
                self.message_user(request, said, messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/charities/reject_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "title": "Reject charities",
                "opts": self.model._meta,
                "charities": queryset,
                "form": form,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description="Geocode selected charities", permissions=["change"])
    def geocode_selected(self, request, queryset):
        """Geocoder first, then ZIP centroid (charities.geocoding); hand-set coordinates
        are kept. Capped, since the geocoder answers one request per second."""
        count = queryset.count()
        if count > GEOCODE_ACTION_LIMIT:
            self.message_user(
                request,
                f"Nothing changed: select at most {GEOCODE_ACTION_LIMIT} charities, or run "
                "`manage.py geocode_charities` for more.",
                messages.ERROR,
            )
            return
        try:
            result = geocoding.geocode_charities(list(queryset.order_by("id")))
        except (ValidationError, ImproperlyConfigured) as exc:
            text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            self.message_user(request, f"Geocoding stopped: {text}", messages.ERROR)
            return
        level = messages.WARNING if result.counts[geocoding.NOT_LOCATED] else messages.SUCCESS
        self.message_user(request, f"Geocoded {result.summary()}", level)

    def _vet(self, request, queryset, action, *, log: str = ""):
        """Apply one vetting service to every selected charity, all or nothing; `log`
        is written to each charity's admin history."""
        try:
            with transaction.atomic():
                count = 0
                for charity in queryset:
                    action(charity, by=request.user)
                    if log:
                        self.log_change(request, charity, log)
                    count += 1
        except (PermissionDenied, ValidationError) as exc:
            text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            self.message_user(request, f"Nothing changed: {text}", messages.ERROR)
            return None
        return count

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="{}_{}_approve".format(*info),
            ),
            path(
                "<path:object_id>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="{}_{}_reject".format(*info),
            ),
            *super().get_urls(),
        ]

    def _may_vet(self, request, charity) -> bool:
        return self.has_change_permission(request, charity) and self.has_vet_permission(request)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        """The change page's Approve and Reject buttons: for staff who may change and vet
        charities, each only where its transition is valid."""
        if obj is not None and obj.pk and self._may_vet(request, obj):
            context["vetting"] = {
                "status": obj.get_verification_status_display(),
                "approve_url": reverse("admin:charities_charity_approve", args=[obj.pk])
                if obj.verification_status in services.APPROVABLE
                else "",
                "reject_url": reverse("admin:charities_charity_reject", args=[obj.pk])
                if obj.verification_status in REJECTABLE
                else "",
            }
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _vetting_target(self, request, object_id):
        """The charity of a vetting URL, or None (no such charity); PermissionDenied for
        staff who may not vet it."""
        charity = self.get_object(request, unquote(object_id))
        if charity is not None and not self._may_vet(request, charity):
            raise PermissionDenied
        if charity is None and not self.has_vet_permission(request):
            raise PermissionDenied
        return charity

    def _no_such_charity(self, request):
        self.message_user(request, "Nothing changed: there is no such charity.", messages.ERROR)
        return redirect("admin:charities_charity_changelist")

    def approve_view(self, request, object_id):
        """POST: approve one charity (services.approve_charity, as the list action), after
        the same warning step; then back to its page with a message."""
        charity = self._vetting_target(request, object_id)
        if charity is None:
            return self._no_such_charity(request)
        back = reverse("admin:charities_charity_change", args=[charity.pk])
        if request.method != "POST":
            return redirect(back)
        if charity.verification_status not in services.APPROVABLE:
            self.message_user(
                request,
                f"Nothing changed: {charity.name} is already "
                f"{charity.get_verification_status_display().lower()}.",
                messages.ERROR,
            )
            return redirect(back)
        if APPROVE_ANYWAY not in request.POST:
            warnings = self.approval_warnings(request, [charity])
            if warnings:
                return self._approval_confirmation(request, [charity], warnings, bulk=False)
        if self._vet(request, [charity], services.approve_charity, log="Approved.") is not None:
            self.message_user(request, f"Approved {charity.name}.", messages.SUCCESS)
        return redirect(back)

    def reject_view(self, request, object_id):
        """GET: ask why. POST: reject one charity (services.reject_charity, as the list
        action) with the note; then back to its page with a message."""
        charity = self._vetting_target(request, object_id)
        if charity is None:
            return self._no_such_charity(request)
        back = reverse("admin:charities_charity_change", args=[charity.pk])
        if charity.verification_status not in REJECTABLE:
            self.message_user(
                request, f"Nothing changed: {charity.name} is already rejected.", messages.ERROR
            )
            return redirect(back)
        form = RejectOneForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            note = form.cleaned_data["note"]
            done = self._vet(
                request,
                [charity],
                lambda c, by: services.reject_charity(c, by=by, note=note),
                log=f"Rejected: {note}",
            )
            if done is not None:
                self.message_user(request, f"Rejected {charity.name}.", messages.SUCCESS)
                return redirect(back)
        return TemplateResponse(
            request,
            "admin/charities/charity/reject.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Reject {charity.name}",
                "opts": self.model._meta,
                "original": charity,
                "charity": charity,
                "form": form,
                "cancel_url": back,
            },
        )


@admin.register(IrsImport)
class IrsImportAdmin(admin.ModelAdmin):
    """Each IRS BMF import, as recorded by import_charities: read-only, since payout
    eligibility rests on what it saw."""

    list_display = ["imported_at", "source_name", "states_display", "rows"]
    list_filter = ["imported_at"]

    @admin.display(description="States")
    def states_display(self, obj):
        return ", ".join(obj.states)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MemberFormSet(forms.BaseInlineFormSet):
    """A charity with members keeps at least one owner (charities.services.remove_member
    holds the same rule for the portal)."""

    def clean(self):
        super().clean()
        kept = [
            f.cleaned_data
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        if kept and not any(d.get("role") == MemberRole.OWNER for d in kept):
            raise forms.ValidationError(
                "A charity with members needs at least one owner: make one of them owner."
            )


class CharityMemberInline(admin.TabularInline):
    """Who works for the charity and may use its portal (/portal/)."""

    model = CharityMember
    formset = MemberFormSet
    fields = ("user", "role", "added_by", "created_at")
    readonly_fields = ("added_by", "created_at")
    raw_id_fields = ("user",)
    extra = 0
    verbose_name_plural = "members (charity portal)"


@admin.register(CharityMember)
class CharityMemberAdmin(ReadOnlyAdmin):
    """Every membership, searchable by email; members are added, changed and removed on
    the charity's own page (its "members" inline keeps an owner)."""

    list_display = ("user", "charity", "role", "added_by", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "charity__name")
    list_select_related = ("user", "charity", "added_by")

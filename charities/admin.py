from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.template.response import TemplateResponse

from core.admin import ReadOnlyAdmin
from core.text import counted

from . import geocoding, selectors, services
from .models import Charity, CharityMember, CharityStatus, CoordinatesSource, IrsImport, MemberRole
from .widgets import MapPickerWidget

GEOCODE_ACTION_LIMIT = 50
# Fields of the change form that charities.services.create_charity/update_charity set.
SERVICE_FIELDS = ("name", "ein", "category", "description", "website", "contact_email",
                  "city", "state", "zip_code", "admin_notes", "needs_feed_url")  # fmt: skip


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


class CharityAdmin(admin.ModelAdmin):
    """Vetting, details and the map of a charity. Registered by web.admin, which adds
    the needs (the charity page shows charities and needs together)."""

    form = CharityAdminForm
    list_display = [
        "name",
        "city",
        "state",
        "category",
        "verification_status",
        "has_coordinates",
        "ein_display",
        "payout_eligibility",
        "created_at",
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

    @admin.display(boolean=True, description="Coordinates")
    def has_coordinates(self, obj):
        return obj.has_coordinates

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
        return "eligible" if verdict.eligible else verdict.reason

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

    @admin.action(description="Approve selected charities", permissions=["vet"])
    def approve_selected(self, request, queryset):
        done = self._vet(request, queryset, services.approve_charity)
        if done is not None:
            self.message_user(request, f"Approved {counted(done, 'charity')}.", messages.SUCCESS)

    @admin.action(description="Reject selected charities…", permissions=["vet"])
    def reject_selected(self, request, queryset):
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            note = form.cleaned_data["note"]
            done = self._vet(
                request, queryset, lambda c, by: services.reject_charity(c, by=by, note=note)
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

    def _vet(self, request, queryset, action):
        """Apply one vetting service to every selected charity, all or nothing."""
        try:
            with transaction.atomic():
                count = 0
                for charity in queryset:
                    action(charity, by=request.user)
                    count += 1
        except (PermissionDenied, ValidationError) as exc:
            text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            self.message_user(request, f"Nothing changed: {text}", messages.ERROR)
            return None
        return count


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

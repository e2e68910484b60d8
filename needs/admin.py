from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from core.admin import ReadOnlyAdmin
from core.templatetags.money import format_cents, whole_dollars

from . import services
from .forms import DollarsField, dollars_text, plain_errors
from .models import MoneyReceived, Need, NeedChange, Source
from .selectors import (
    DEFAULT_ACTIVE_URGENCY,
    counted_needs,
    freshness_cutoff,
    get_active_needs,
)

LIST_NAME_CHARS = 40


def in_use_line(need: Need) -> str:
    """Whether the engine counts this need now, and if not which need of its category it
    counts instead (the newest current report; needs.selectors.counted_needs)."""
    used = counted_needs(
        Need.objects.filter(charity_id=need.charity_id, category=need.category), now=timezone.now()
    ).first()  # fmt: skip
    if used is None:
        return (
            f"No: no need in {need.get_category_display()} confirmed within "
            f"{settings.NEEDS_MAX_AGE_DAYS} days, so this category counts for nothing now."
        )
    if used.pk == need.pk:
        return f"Yes: this is the need the weekly run uses for {need.get_category_display()}."
    return (
        f"No: the run uses the newer {used.get_source_display().lower()} need "
        f"(urgency {used.urgency_score}/100, gap {format_cents(used.funding_gap_cents)}, "
        f"{format_cents(used.remaining_gap_cents)} "
        "still to fill)."
    )


class NeedsFreshnessFilter(admin.SimpleListFilter):
    """Fresh: at least one need updated within NEEDS_MAX_AGE_DAYS (it counts toward the
    weights). Stale: needs, but none recent enough to count. None: no needs at all."""

    title = "needs"
    parameter_name = "needs"

    def lookups(self, request, model_admin):
        return [
            ("fresh", "Needs fresh"),
            ("stale", "Needs stale"),
            ("none", "No needs"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value not in ("fresh", "stale", "none"):
            return queryset
        any_need = Exists(Need.objects.filter(charity=OuterRef("pk")))
        fresh_need = Exists(
            Need.objects.filter(
                charity=OuterRef("pk"), last_updated__gte=freshness_cutoff(timezone.now())
            )
        )
        if value == "fresh":
            return queryset.filter(fresh_need)
        if value == "stale":
            return queryset.filter(any_need).exclude(fresh_need)
        return queryset.exclude(any_need)


IDENTITY_NOTE = (
    "A need is what one charity needs in one category: its charity and category cannot "
    "change. To move it, add a need for the other charity or category, then close this "
    "one (urgency 0, gap 0) or delete it."
)


def _existing_need_error(need: Need) -> str:
    return format_html(
        '{} already has a staff need in {}: <a href="{}">change that need</a> instead '
        "(one staff need per charity and category).",
        need.charity,
        need.get_category_display(),
        reverse("admin:needs_need_change", args=[need.pk]),
    )


class ServiceCheckedNeedForm(forms.ModelForm):
    """A need form that runs needs.services' own checks in clean(), so what the service
    would refuse (a gap over the maximum, a need it does not edit) is a form error on the
    field, never a 500 once the admin saves. The gap is typed in dollars (funding_gap,
    cleaned to cents as funding_gap_cents); a constraint's name never reaches staff."""

    funding_gap = DollarsField(label="Funding gap (dollars)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("funding_gap", dollars_text(self.instance.funding_gap_cents))

    def clean(self):
        data = super().clean()
        if data.get("funding_gap") is not None:
            data["funding_gap_cents"] = data["funding_gap"]
        values = {k: data[k] for k in ("urgency_score", "funding_gap_cents") if k in data}
        try:
            if self.instance.pk:
                services.check_need_editable(self.instance)
            services.check_need_values(**values)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                name = "funding_gap" if name == "funding_gap_cents" else name
                self.add_error(name if name in self.fields else None, errors)
        return data

    def _post_clean(self):
        if "funding_gap_cents" in getattr(self, "cleaned_data", {}):
            self.instance.funding_gap_cents = self.cleaned_data["funding_gap_cents"]
        super()._post_clean()
        plain_errors(self)


class NeedAdminForm(ServiceCheckedNeedForm):
    class Meta:
        model = Need
        fields = ["charity", "category", "urgency_score"]

    def clean(self):
        data = super().clean()
        # "Add" never overwrites: create_need would update the need staff already have in
        # that charity and category, so point to it instead.
        charity, category = data.get("charity"), data.get("category")
        if not self.instance.pk and charity is not None and category:
            existing = Need.objects.filter(
                charity=charity, category=category, source=Source.MANUAL
            ).first()
            if existing is not None:
                self.add_error("category", _existing_need_error(existing))
        return data


class NeedInlineForm(ServiceCheckedNeedForm):
    class Meta:
        model = Need
        fields = ["category", "urgency_score"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # A need's category is what it is (IDENTITY_NOTE): shown, never posted.
            self.fields["category"].disabled = True


class NeedInlineFormSet(BaseInlineFormSet):
    def clean(self):
        """New rows never overwrite: refuse a category the charity already has a staff
        need in (unless that need is deleted in the same save), or two new rows of one."""
        super().clean()
        existing = {}
        if self.instance.pk:
            existing = {n.category: n for n in self.instance.needs.filter(source=Source.MANUAL)}
        deleting = {f.instance.pk for f in self.deleted_forms if f.instance.pk}
        seen = set()
        for form in self.forms:
            if form.instance.pk or form in self.deleted_forms or not form.has_changed():
                continue
            category = getattr(form, "cleaned_data", {}).get("category")
            if not category:
                continue
            need = existing.get(category)
            if need is not None and need.pk not in deleting:
                form.add_error("category", _existing_need_error(need))
            elif category in seen:
                form.add_error("category", "Two new rows in this category: keep one.")
            seen.add(category)


class NeedInline(admin.TabularInline):
    """Needs on the charity page. Saves go through needs.services, so every edit is
    recorded as a NeedChange with the staff member who made it; the history of a need is
    on its own page (the change link)."""

    model = Need
    form = NeedInlineForm
    formset = NeedInlineFormSet
    extra = 1
    show_change_link = True
    fields = ["category", "urgency_score", "funding_gap", "source", "last_updated", "in_use"]
    readonly_fields = ["source", "last_updated", "in_use"]

    @admin.display(description="counts now?")
    def in_use(self, obj):
        return in_use_line(obj) if obj is not None and obj.pk else ""

    @staticmethod
    @transaction.atomic
    def save_through_services(request, charity, formset):
        # The admin's change message reads these three lists, as formset.save() sets them.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for form in formset.deleted_forms:
            if form.instance.pk:
                services.delete_need(form.instance)
                formset.deleted_objects.append(form.instance)
        for form in formset.forms:
            if form in formset.deleted_forms or not form.has_changed():
                continue
            data = form.cleaned_data
            if form.instance.pk:
                need = services.update_need(
                    form.instance,
                    urgency_score=data["urgency_score"],
                    funding_gap_cents=data["funding_gap_cents"],
                    changed_by=request.user,
                    note="edited in the admin",
                )
                formset.changed_objects.append((need, form.changed_data))
            else:
                need = services.create_need(
                    charity=charity,
                    category=data["category"],
                    urgency_score=data["urgency_score"],
                    funding_gap_cents=data["funding_gap_cents"],
                    source=Source.MANUAL,
                    changed_by=request.user,
                    note="entered in the admin",
                )
                formset.new_objects.append(need)


class UrgentFilter(admin.SimpleListFilter):
    """Needs of approved charities more urgent than the seed's threshold
    (needs.selectors.get_active_needs), most urgent first in the list."""

    title = "urgency"
    parameter_name = "urgent"

    def lookups(self, request, model_admin):
        return [("yes", f"Urgent: above {DEFAULT_ACTIVE_URGENCY} (approved charities)")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=get_active_needs().values("pk"))
        return queryset


class NeedChangeInline(admin.TabularInline):
    model = NeedChange
    extra = 0
    can_delete = False
    fields = [
        "changed_at",
        "changed_by",
        "source",
        "old_urgency_score",
        "new_urgency_score",
        "old_funding_gap_cents",
        "new_funding_gap_cents",
        "note",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Need)
class NeedAdmin(admin.ModelAdmin):
    # Compact for a 1280 px screen beside the filters (static/css/admin.css): the
    # charity's name cut short (in full in its title), the gap in whole dollars, the
    # date without the time.
    list_display = [
        "charity_name",
        "category",
        "urgency",
        "gap",
        "source",
        "updated",
    ]
    list_filter = [UrgentFilter, "source", "category"]
    search_fields = ["charity__name", "charity__ein"]
    list_select_related = ["charity"]
    raw_id_fields = ["charity"]
    inlines = [NeedChangeInline]
    form = NeedAdminForm
    readonly_fields = ["source", "last_updated", "gap_set_at", "metadata", "in_use"]

    @admin.display(description="gap", ordering="funding_gap_cents")
    def gap(self, obj):
        return whole_dollars(obj.funding_gap_cents)

    @admin.display(description="charity", ordering="charity__name")
    def charity_name(self, obj):
        name = obj.charity.name
        short = Truncator(name).chars(LIST_NAME_CHARS)
        return short if short == name else format_html('<span title="{}">{}</span>', name, short)

    @admin.display(description="urgency", ordering="urgency_score")
    def urgency(self, obj):
        return obj.urgency_score

    @admin.display(description="updated", ordering="last_updated")
    def updated(self, obj):
        day = timezone.localtime(obj.last_updated)
        return f"{day:%b} {day.day}, {day.year}"

    @admin.display(description="counts now?")
    def in_use(self, obj):
        return in_use_line(obj) if obj is not None and obj.pk else ""

    def get_readonly_fields(self, request, obj=None):
        # A saved need's charity and category are its identity (IDENTITY_NOTE).
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "charity", "category"] if obj is not None else fields

    def get_fieldsets(self, request, obj=None):
        fields = ["charity", "category", "urgency_score", "funding_gap",
                  "in_use", "source", "last_updated", "gap_set_at", "metadata"]  # fmt: skip
        if obj is None:
            return [(None, {"fields": fields[:4]})]
        return [(None, {"fields": fields, "description": IDENTITY_NOTE})]

    def delete_model(self, request, obj):
        services.delete_need(obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for need in queryset:
                if Need.objects.filter(pk=need.pk).exists():
                    services.delete_need(need)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.update_need(
                obj,
                urgency_score=data["urgency_score"],
                funding_gap_cents=data["funding_gap_cents"],
                changed_by=request.user,
                note="edited in the admin",
            )
        else:
            saved = services.create_need(
                charity=data["charity"],
                category=data["category"],
                urgency_score=data["urgency_score"],
                funding_gap_cents=data["funding_gap_cents"],
                changed_by=request.user,
                note="entered in the admin",
            )
            obj.pk = saved.pk


@admin.register(NeedChange)
class NeedChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "need",
        "changed_at",
        "changed_by",
        "source",
        "old_urgency_score",
        "new_urgency_score",
        "old_funding_gap_cents",
        "new_funding_gap_cents",
    ]
    list_filter = ["source"]
    search_fields = ["need__charity__name"]
    list_select_related = ["need__charity", "changed_by"]


@admin.register(MoneyReceived)
class MoneyReceivedAdmin(ReadOnlyAdmin):
    """What the weekly engine credited each need: the facts remaining gaps are worked out
    from. Written by the engine only."""

    list_display = ["week_start", "charity", "need", "amount_cents", "received_at"]
    list_filter = ["week_start"]
    search_fields = ["charity__name"]
    list_select_related = ["charity", "need"]
    raw_id_fields = ["charity", "need"]
    date_hierarchy = "week_start"

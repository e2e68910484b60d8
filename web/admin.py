"""Admin pages that show several apps on one page. The charity page is the vetting admin
of charities.admin with the charity's needs (needs.admin) on it: staff vet a charity and
keep its needs current in one place."""

from django.contrib import admin

from charities.admin import CharityAdmin as CharityVettingAdmin
from charities.models import Charity
from needs.admin import NeedInline, NeedsFreshnessFilter


@admin.register(Charity)
class CharityAdmin(CharityVettingAdmin):
    list_filter = [*CharityVettingAdmin.list_filter, NeedsFreshnessFilter]
    inlines = [NeedInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is NeedInline.model:
            NeedInline.save_through_services(request, form.instance, formset)
        else:
            super().save_formset(request, form, formset, change)

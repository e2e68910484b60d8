from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import Distribution, DistributionRun


@admin.register(DistributionRun)
class DistributionRunAdmin(ReadOnlyAdmin):
    list_display = [
        "week_start",
        "status",
        "pooled_cents",
        "distributed_cents",
        "held_cents",
        "contributions_count",
        "distributions_count",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status"]
    date_hierarchy = "week_start"


@admin.register(Distribution)
class DistributionAdmin(ReadOnlyAdmin):
    list_display = ["week_start", "charity", "subscription", "amount_cents", "distribution_date"]
    list_filter = ["week_start"]
    search_fields = ["charity__name", "subscription__user__email", "reason"]
    list_select_related = ["charity", "subscription__user"]
    raw_id_fields = ["subscription", "charity", "run"]
    date_hierarchy = "week_start"

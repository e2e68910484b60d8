from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import Report


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ["user", "week_start", "total_distributed_cents", "charities_supported",
                    "generated_at", "revision", "revised_at", "emailed_at",
                    "emailed_revision"]  # fmt: skip
    list_filter = ["week_start"]
    search_fields = ["user__email"]
    list_select_related = ["user"]

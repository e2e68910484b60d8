from django.contrib import admin
from django.utils.html import format_html, format_html_join

from core.admin import ReadOnlyAdmin
from core.templatetags.money import format_cents

from .models import Distribution, DistributionRun

SUMMARY_COLUMNS = ("City", "Status", "Pooled", "Distributed", "Held", "Contributions", "Why")


@admin.register(DistributionRun)
class DistributionRunAdmin(ReadOnlyAdmin):
    """Run history: what each week pooled, gave and held, and per city why.

    Staff read it here; nothing is edited (runs are written by the engine only). The
    per-city table comes from the run's summary JSON; every value in it is escaped, since
    a city name is donor input.
    """

    list_display = [
        "week_start",
        "status",
        "pooled",
        "distributed",
        "held",
        "cities",
        "cities_holding",
        "distributions_count",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status"]
    date_hierarchy = "week_start"
    fields = [
        "week_start",
        "status",
        "pooled",
        "distributed",
        "held",
        "contributions_count",
        "distributions_count",
        "started_at",
        "finished_at",
        "error",
        "city_table",
    ]
    readonly_fields = fields

    @admin.display(description="Pooled", ordering="pooled_cents")
    def pooled(self, run):
        return format_cents(run.pooled_cents)

    @admin.display(description="Distributed", ordering="distributed_cents")
    def distributed(self, run):
        return format_cents(run.distributed_cents)

    @admin.display(description="Held", ordering="held_cents")
    def held(self, run):
        return format_cents(run.held_cents)

    @admin.display(description="Cities")
    def cities(self, run):
        return len(run.summary or {})

    @admin.display(description="Cities holding money")
    def cities_holding(self, run):
        return sum(1 for e in (run.summary or {}).values() if _int(e, "held_cents"))

    @admin.display(description="Per city")
    def city_table(self, run):
        lines = sorted((run.summary or {}).items(), key=lambda kv: (-_int(kv[1], "held_cents"),
                                                                    kv[0]))  # fmt: skip
        if not lines:
            return "No city had money to distribute."
        head = format_html_join("", "<th>{}</th>", ((c,) for c in SUMMARY_COLUMNS))
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td></tr>",
            (
                (
                    place,
                    entry.get("status", ""),
                    format_cents(_int(entry, "pooled_cents")),
                    format_cents(_int(entry, "distributed_cents")),
                    format_cents(_int(entry, "held_cents")),
                    _int(entry, "contributions_count") + _int(entry, "held_contributions"),
                    entry.get("why", ""),
                )
                for place, entry in lines
            ),
        )
        return format_html(
            '<table class="run-summary"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
            head,
            body,
        )


def _int(entry, key) -> int:
    try:
        return int(entry.get(key) or 0)
    except (TypeError, ValueError, AttributeError):
        return 0


@admin.register(Distribution)
class DistributionAdmin(ReadOnlyAdmin):
    list_display = ["week_start", "charity", "subscription", "amount_cents", "distribution_date"]
    list_filter = ["week_start"]
    search_fields = ["charity__name", "subscription__user__email", "reason"]
    list_select_related = ["charity", "subscription__user"]
    raw_id_fields = ["subscription", "charity", "run"]
    date_hierarchy = "week_start"

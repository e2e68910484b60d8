from django.contrib import admin
from django.db.models import Count, Q
from django.utils.html import format_html, format_html_join

from core.admin import ReadOnlyAdmin
from core.templatetags.money import format_cents

from .models import Distribution, DistributionRun, RunCity, explanations_words

SUMMARY_COLUMNS = ("City", "Status", "Pooled", "Distributed", "Held", "Contributions", "Why",
                   "Sentences")  # fmt: skip


@admin.register(DistributionRun)
class DistributionRunAdmin(ReadOnlyAdmin):
    """Run history: what each week pooled, gave and held, and per city why.

    Staff read it here; nothing is edited (runs are written by the engine only). The
    per-city table comes from the run's RunCity lines; every value in it is escaped,
    since a city name is donor input.
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

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                city_count=Count("cities"),
                holding_count=Count("cities", filter=Q(cities__held_cents__gt=0)),
            )
        )

    @admin.display(description="Cities", ordering="city_count")
    def cities(self, run):
        return run.city_count

    @admin.display(description="Cities holding money", ordering="holding_count")
    def cities_holding(self, run):
        return run.holding_count

    @admin.display(description="Per city")
    def city_table(self, run):
        lines = sorted(run.cities.all(), key=lambda line: (-line.held_cents, line.place))
        if not lines:
            return "No city had money to distribute."
        head = format_html_join("", "<th>{}</th>", ((c,) for c in SUMMARY_COLUMNS))
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td><td>{}</td></tr>",
            (
                (
                    line.place,
                    line.status,
                    format_cents(line.pooled_cents),
                    format_cents(line.distributed_cents),
                    format_cents(line.held_cents),
                    line.contributions_count + line.held_contributions,
                    line.why,
                    explanations_words(line.explained_by_model, line.explainer_fallbacks),
                )
                for line in lines
            ),
        )
        return format_html(
            '<table class="run-summary"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
            head,
            body,
        )


@admin.register(Distribution)
class DistributionAdmin(ReadOnlyAdmin):
    list_display = ["week_start", "charity", "subscription", "amount_cents", "distribution_date"]
    list_filter = ["week_start"]
    search_fields = ["charity__name", "subscription__user__email", "reason"]
    list_select_related = ["charity", "subscription__user"]
    raw_id_fields = ["subscription", "charity", "run"]
    date_hierarchy = "week_start"


@admin.register(RunCity)
class RunCityAdmin(ReadOnlyAdmin):
    """Every place's line of every run, to filter across weeks (e.g. all held money)."""

    list_display = ["run", "place", "status", "pooled_cents", "distributed_cents", "held_cents",
                    "sentences"]  # fmt: skip
    list_filter = ["status", "run__week_start"]
    search_fields = ["city", "state", "why"]
    list_select_related = ["run"]

    @admin.display(description="Sentences", ordering="explained_by_model")
    def sentences(self, line):
        return explanations_words(line.explained_by_model, line.explainer_fallbacks)

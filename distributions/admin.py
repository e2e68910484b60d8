from django.contrib import admin
from django.db.models import Count, Q
from django.utils import timezone
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

    # Compact for a 1280 px screen (static/css/admin.css): dates without the year's
    # repetition of times, places and those holding money in one column.
    list_display = [
        "week",
        "status",
        "pooled",
        "distributed",
        "held",
        "places",
        "rows",
        "finished",
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

    @admin.display(description="Week", ordering="week_start")
    def week(self, run):
        return f"{run.week_start:%b} {run.week_start.day}, {run.week_start.year}"

    @admin.display(description="Places", ordering="city_count")
    def places(self, run):
        if not run.holding_count:
            return run.city_count
        return f"{run.city_count} ({run.holding_count} holding)"

    @admin.display(description="Rows", ordering="distributions_count")
    def rows(self, run):
        return f"{run.distributions_count:,}"

    @admin.display(description="Finished", ordering="finished_at")
    def finished(self, run):
        if run.finished_at is None:
            return "-"
        at = timezone.localtime(run.finished_at)
        return f"{at:%b} {at.day}, {at:%H:%M}"

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

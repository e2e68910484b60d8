from celery import current_app
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.commands import city_option, one_line, week_option
from core.templatetags.money import format_cents
from core.text import counted
from distributions.selectors import get_run_cities
from portfolio import services
from portfolio.cli import (
    explanations_line,
    invocation_line,
    outcome_line,
    plan_line,
    reports_line,
)

# The week's reports, written here after the run: the same reports services the weekly
# Celery chain runs after a distribution, reached by task name (reports sit above the
# engine in the layers) and run in this process, so the command can say what it wrote.
REPORTS_NOW_TASK = "reports.tasks.write_week_reports"


class Command(BaseCommand):
    help = (
        "Distribute a week's collected money to each city's charities (default: the last "
        "week that has ended), then write that week's donor reports and email them, as "
        "the Monday job does (--no-reports to skip, --no-email to write without "
        "emailing). Safe to rerun: money already given is never given again, a report is "
        "rewritten with the same figures and emailed once. A date inside a week means "
        "that week."
    )

    def add_arguments(self, parser):
        parser.add_argument("--week", help="YYYY-MM-DD, any day of the week to distribute.")
        parser.add_argument("--city", help='Only this city, as "City, ST".')
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would be given; write nothing."
        )
        parser.add_argument(
            "--no-reports",
            action="store_true",
            help="Do not write the week's reports after the run (generate_reports does later).",
        )
        parser.add_argument(
            "--no-email", action="store_true", help="Write the week's reports; email nobody."
        )

    def handle(self, *args, week=None, city=None, dry_run=False, **options):
        now = timezone.now()
        week_start, week_note = week_option(week, now=now)
        place = city_option(city)
        try:
            if dry_run:
                self._dry_run(week_start, week_note, place, now)
            else:
                self._run(week_start, week_note, place, now, **options)
        except ValidationError as exc:
            raise CommandError(one_line(exc)) from None

    def _dry_run(self, week_start, week_note, place, now):
        if place:
            plans = [services.calculate_distribution(*place, week_start, now=now)]
        else:
            plans = services.get_distribution_preview(week_start, now=now)
        self.stdout.write(f"{week_note} Dry run: nothing is written.")
        for plan in plans:
            self.stdout.write(f"  {plan_line(plan)}")
        given = sum(p.distributed_cents for p in plans)
        held = sum(p.held_cents for p in plans)
        self.stdout.write(
            f"Would give {format_cents(given)} and hold {format_cents(held)} "
            f"in {counted(len(plans), 'city')}."
        )

    def _run(self, week_start, week_note, place, now, *, no_reports, no_email, **options):
        city, state = place if place else (None, None)
        fees = services.read_fees_before_the_run(week_start, now=now)
        invocation = services.distribute_week(week_start, city=city, state=state, now=now)
        run = invocation.run
        self.stdout.write(week_note)
        if fees:
            self.stdout.write(fees)
        for outcome in sorted(invocation.places, key=lambda o: o.place):
            self.stdout.write(f"  {outcome_line(outcome)}")
        week_has_lines = bool(get_run_cities(run))
        self.stdout.write(invocation_line(invocation, week_has_lines=week_has_lines))
        explained = explanations_line(invocation)
        if explained:
            self.stdout.write(explained)
        # The week's totals count every invocation (an earlier one, another process):
        # said as the week's, after what this one did.
        self.stdout.write(
            f"The week so far (every run): {run.status}, {format_cents(run.distributed_cents)} "
            f"given, {format_cents(run.held_cents)} held, "
            f"{counted(run.distributions_count, 'row')}." + (f" {run.error}" if run.error else "")
        )
        # A partial run's reports are written too (as by the Celery chain): its other
        # places' donors get theirs, and a rerun that completes it revises them.
        if no_reports:
            self.stdout.write("Reports: not written (--no-reports); generate_reports writes them.")
        else:
            write = current_app.tasks[REPORTS_NOW_TASK]  # called: runs here, now
            written = write(week_start.isoformat(), email=not no_email)
            self.stdout.write(reports_line(written, emailing=not no_email))
        if run.status != run.Status.COMPLETED and not place:
            raise CommandError(
                f"The run for the week of {week_start} is {run.status}: {run.error}"
            )

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.commands import one_line, quiet_logs, week_option
from core.templatetags.money import format_cents
from core.text import counted
from core.weeks import is_week_over
from reports import services


class Command(BaseCommand):
    help = (
        "Write every donor's report for a week (default: the last week that has ended) "
        "from that week's distributions, then email each donor who wants it. Safe to "
        "rerun: a report is rewritten with the same figures and emailed only once. Prints "
        "the week, a line per city and the totals; the emails go out through EMAIL_URL "
        "(with the console backend each one is printed); -v 2 also prints the logs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--week", help="YYYY-MM-DD, any day of the week to report.")
        parser.add_argument(
            "--no-email", action="store_true", help="Write the reports; send no email."
        )

    def handle(self, *args, week=None, no_email=False, verbosity=1, **options):
        now = timezone.now()
        week_start, week_note = week_option(week, now=now)
        if not is_week_over(week_start, now):
            raise CommandError(f"--week: the week of Monday {week_start} has not ended yet.")
        try:
            with quiet_logs(verbosity):
                written = services.generate_reports(week_start)
                emailed = 0 if no_email else services.send_report_emails(week_start)
        except ValidationError as exc:
            raise CommandError(one_line(exc)) from None
        self.stdout.write(week_note)
        for place, count, cents, sent in services.reports_by_city(week_start):
            self.stdout.write(
                f"  {place}: {counted(count, 'report')}, {format_cents(cents)} given, "
                f"{sent} emailed so far."
            )
        self.stdout.write(
            f"Wrote {counted(written, 'report')}; emailed {counted(emailed, 'donor')}"
            f"{' (emails skipped)' if no_email else ''}."
        )

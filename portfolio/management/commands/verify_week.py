from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.commands import one_line, week_option
from core.text import counted
from core.weeks import require_ended_week
from portfolio.verify import verify_week


class Command(BaseCommand):
    help = (
        "Recompute a week's split from what its run recorded (each place's needs, weights "
        "and payments) and check it row by row against the Distribution ledger, the "
        "contributions marked as given, and the week's published checksum. Exits non-zero "
        "with the first difference. Writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("week", help="YYYY-MM-DD, any day of the week to verify.")

    def handle(self, *args, week, **options):
        now = timezone.now()
        week_start, week_note = week_option(week, now=now)
        try:
            require_ended_week(week_start, now=now)
        except ValidationError as exc:
            raise CommandError(one_line(exc)) from None
        result = verify_week(week_start)
        self.stdout.write(week_note)
        for line in result.places:
            self.stdout.write(f"  {line}")
        if not result.ok:
            more = len(result.problems) - 1
            raise CommandError(
                f"The week of {week_start} does not verify: {result.problems[0]}"
                + (f" (and {counted(more, 'more difference')})" if more else "")
            )
        self.stdout.write(
            f"The week of {week_start} verifies: {counted(result.rows, 'row')} recomputed from "
            "the recorded inputs, the contributions add up, and the checksum matches."
        )

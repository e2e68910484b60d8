from django.core.management.base import BaseCommand, CommandError

from needs import services


class Command(BaseCommand):
    help = (
        "Fetch every charity's needs feed (what the daily task does), record each feed's "
        "success or error on the charity, and print the needs per source, current and "
        "stale. Exits non-zero if any feed failed; the other feeds are still written."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--charity",
            type=int,
            action="append",
            dest="charity_ids",
            metavar="ID",
            help="Only this charity (repeatable).",
        )

    def handle(self, *args, charity_ids=None, **options):
        result = services.refresh_needs(charity_ids=charity_ids)
        for line in result.summary_lines():
            self.stdout.write(line)
        if result.failed:
            raise CommandError(f"{len(result.failed)} of {len(result.feeds)} feeds failed.")

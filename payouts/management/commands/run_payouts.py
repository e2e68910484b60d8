from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.commands import one_line
from core.months import parse_period
from payouts.services import run_payouts


class Command(BaseCommand):
    help = (
        "Pay each charity what it is owed for the weeks starting up to the end of a month "
        "that is over: one payout per eligible charity above PAYOUT_MINIMUM_CENTS, a Stripe "
        "transfer where its Connect account is ready, else a pending manual payout for "
        "staff. Safe to rerun; --dry-run writes nothing and moves no money."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="The month, YYYY-MM.")
        parser.add_argument("--dry-run", action="store_true", help="Say what would be paid.")

    def handle(self, *args, period, dry_run, **options):
        try:
            month = parse_period(period)
            result = run_payouts(month, dry_run=dry_run, now=timezone.now(), say=self.stdout.write)
        except ValidationError as exc:
            raise CommandError(one_line(exc)) from None
        self.stdout.write(("Dry run, nothing written: " if dry_run else "") + result.summary())
        if result.sends_with("failed") or result.sends_with("retry"):
            raise CommandError("Some transfers were not made; see the lines above.")

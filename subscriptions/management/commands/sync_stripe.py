import stripe
from django.core.management.base import BaseCommand, CommandError

from core.text import counted
from subscriptions.stripe_client import BillingNotConfigured
from subscriptions.sync import sync_stripe


class Command(BaseCommand):
    help = (
        "Reconcile local subscriptions and paid invoices with Stripe, printing each drift "
        "fixed. Exits non-zero if Stripe cannot be reached or anything could not be "
        "reconciled."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the drifts without fixing them."
        )

    def handle(self, *args, dry_run=False, **options):
        try:
            report = sync_stripe(dry_run=dry_run, say=self.stdout.write)
        except BillingNotConfigured as exc:
            raise CommandError(f"{exc} Nothing to sync.") from exc
        except stripe.StripeError as exc:
            raise CommandError(f"Stripe could not be reached or refused: {exc}") from exc
        self.stdout.write(report.summary())
        if report.errors:
            raise CommandError(f"{counted(len(report.errors), 'item')} could not be reconciled.")

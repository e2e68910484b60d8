from django.core.management.base import BaseCommand

from core.text import counted
from subscriptions.digest import send_failed_events_digest


class Command(BaseCommand):
    help = (
        "Mail ADMINS the digest of failed Stripe events not listed in an earlier digest "
        "(what the daily beat entry runs). Sends nothing when none failed."
    )

    def handle(self, *args, **options):
        listed = send_failed_events_digest()
        if listed:
            said = counted(listed, "failed Stripe event")
            self.stdout.write(f"Mailed ADMINS a digest of {said}.")
        else:
            self.stdout.write("No mail sent: no failed Stripe events to list (or no ADMINS).")

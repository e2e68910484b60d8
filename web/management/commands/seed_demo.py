from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from web.demo import (
    ADMIN_EMAIL,
    ALICE_EMAIL,
    APPLICANT_EMAIL,
    DEMO_PASSWORD,
    MEMBER_EMAIL,
    demo_counts,
    distribute_demo_weeks,
    pay_demo_month,
    seed_demo,
)


class Command(BaseCommand):
    help = (
        "Build the deterministic demo world on real IRS data: four cities (two of them "
        "named Springfield), vetted charities with missions, logos and needs, a few "
        "pending ones (one applied for), about 200 donors and a few weeks of payments. "
        "Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even with DEBUG off. Demo logins share a published password.",
        )

    def handle(self, *args, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to seed demo data with DEBUG off: its logins share a published "
                "password. Pass --force if this really is a demo site."
            )
        result = seed_demo()
        # After the seed's transaction: the engine works city by city in its own ones.
        distribute_demo_weeks(result.weeks, result)
        pay_demo_month(result)
        weeks = ", ".join(f"{w:%b %d}" for w in result.weeks)
        if result.changed:
            made = ", ".join(f"{n} {what}" for what, n in result.created.items() if n)
            self.stdout.write(f"Demo seeded: created {made}.")
        else:
            self.stdout.write("Demo already in place: nothing changed.")
        counts = demo_counts()
        self.stdout.write("Now: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
        self.stdout.write(f"Payments cover the weeks starting {weeks}.")
        self.stdout.write(
            f"Log in at /admin/ as {ADMIN_EMAIL}, at /accounts/login/ as {ALICE_EMAIL} (a "
            f"donor), {MEMBER_EMAIL} (a charity's owner: /portal/) or {APPLICANT_EMAIL} "
            f"(whose application waits in the admin), password {DEMO_PASSWORD!r}."
        )

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.commands import quiet_logs
from core.months import previous_period
from core.text import counted
from web.demo import (
    ADMIN_EMAIL,
    ALICE_EMAIL,
    APPLICANT_EMAIL,
    DEMO_PASSWORD,
    MEMBER_EMAIL,
    SeedResult,
    demo_counts,
    distribute_demo_weeks,
    email_destination,
    pay_demo_month,
    seed_demo,
)

# What the seed does, one line each as it goes (it takes a few seconds); then a summary.
STEPS = (
    "Charities, donors and payments",
    "Weekly runs and reports",
    "Payouts",
)


WORLD_NOUNS = (
    "user", "charity", "approval", "profile", "logo file", "logo", "need", "subscription",
    "contribution", "charity member", "application",
)  # fmt: skip


def _made(result: SeedResult, *nouns: str) -> str:
    made = [counted(result.created.get(n, 0), n) for n in nouns if result.created.get(n)]
    return ", ".join(made) or "nothing new"


class Command(BaseCommand):
    help = (
        "Build the deterministic demo world on real IRS data: four cities (two of them "
        "named Springfield), vetted charities with missions, logos and needs, a few "
        "pending ones (one applied for), about 200 donors and a few weeks of payments, "
        "distributed, reported and paid out. Running it again changes nothing. Prints a "
        "line per step and a summary; -v 2 also prints the logs (a money line per payment "
        "and per city)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even with DEBUG off. Demo logins share a published password.",
        )

    def handle(self, *args, force, verbosity, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to seed demo data with DEBUG off: its logins share a published "
                "password. Pass --force if this really is a demo site."
            )
        # With -v 2 the logs run between a step's title and its outcome: each on its own line.
        self.ending = "" if verbosity < 2 else "\n"
        with quiet_logs(verbosity):
            self._seed()

    def _step(self, title: str) -> None:
        self.stdout.write(f"{title}... ", ending=self.ending)
        self.stdout.flush()

    def _seed(self) -> None:
        world, weeks, payouts = STEPS
        self._step(world)
        result = seed_demo()
        made = _made(result, *WORLD_NOUNS)
        self.stdout.write(f"{made}.")
        when = ", ".join(f"{w:%b %d}" for w in result.weeks)
        self._step(f"{weeks} for the weeks starting {when}")
        # After the seed's transaction: the engine works city by city in its own ones.
        distribute_demo_weeks(result.weeks, result)
        self.stdout.write(_made(result, "distribution row", "report") + ".")
        self._step(f"{payouts} for {previous_period(timezone.now()):%B %Y}")
        pay_demo_month(result)
        self.stdout.write(_made(result, "payout") + ".")

        counts = ", ".join(counted(n, noun) for noun, n in demo_counts().items())
        said = "Demo seeded." if result.changed else "Demo already in place: nothing changed."
        self.stdout.write(f"{said} Now: {counts}.")
        self.stdout.write(
            f"Log in at /admin/ as {ADMIN_EMAIL}, at /accounts/login/ as {ALICE_EMAIL} (a "
            f"donor), {MEMBER_EMAIL} (a charity's owner: /portal/) or {APPLICANT_EMAIL} "
            f"(whose application waits in the admin), password {DEMO_PASSWORD!r}."
        )
        self.stdout.write(f"Emails the site sends {email_destination()}.")

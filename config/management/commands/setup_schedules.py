from django.core.management.base import BaseCommand

from config.schedules import SCHEDULES, install_schedules


class Command(BaseCommand):
    help = (
        "Install the Celery beat schedule (weekly distribution, weekly reports, daily "
        "needs refresh) into django-celery-beat. Missing entries are created; existing "
        "ones, perhaps edited in the admin, are kept unless --reset."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="Put the default times and tasks back."
        )

    def handle(self, *args, reset=False, **options):
        changed = install_schedules(reset=reset)
        for entry in SCHEDULES:
            state = ("reset" if reset else "created") if entry.name in changed else "kept"
            self.stdout.write(f"  {entry.name}: {entry.task}, {entry.description} ({state})")
        self.stdout.write(f"{len(changed)} of {len(SCHEDULES)} schedule entries written.")

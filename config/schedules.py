"""The beat schedule, defined once here and stored in django-celery-beat's tables, where
staff can edit it in the admin (Periodic tasks).

install_schedules() creates each entry that does not exist yet, by name, and leaves an
existing one alone, so an edit made in the admin survives deploys. It runs after every
`migrate` (post_migrate, see config.apps) and from `manage.py setup_schedules`,
whose --reset puts the defaults back.

Times are wall-clock times in settings.TIME_ZONE. The weekly job takes the week it
distributes from its argument, fixed when beat triggers it, never from the clock deep
inside the work (see portfolio.tasks), so a DST change cannot run a week twice.
"""

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction


@dataclass(frozen=True)
class Entry:
    name: str
    task: str
    minute: str
    hour: str
    day_of_week: str
    description: str
    day_of_month: str = "*"


SCHEDULES = [
    Entry(
        name="Weekly distribution",
        task="portfolio.tasks.weekly_distribution",
        minute="0",
        hour="6",
        day_of_week="1",
        description="Monday 06:00: distribute the week that just ended, city by city.",
    ),
    Entry(
        name="Weekly reports",
        task="reports.tasks.weekly_reports",
        minute="30",
        hour="6",
        day_of_week="1",
        description=(
            "Monday 06:30: write and email the reports of the week that just ended "
            "(the distribution also triggers this when it finishes; running twice is safe)."
        ),
    ),
    Entry(
        name="Daily needs refresh",
        task="needs.tasks.refresh_needs",
        minute="0",
        hour="3",
        day_of_week="*",
        description="Every day 03:00: fetch charities' needs feeds and recalculate gaps.",
    ),
    Entry(
        name="Daily stale-needs reminders",
        task="needs.tasks.remind_stale_needs",
        minute="0",
        hour="8",
        day_of_week="*",
        description=(
            "Every day 08:00: email charities' members about needs that go stale within a "
            "week (once per report; rerunning is safe)."
        ),
    ),
    Entry(
        name="Daily failed Stripe events digest",
        task="subscriptions.tasks.failed_events_digest",
        minute="0",
        hour="8",
        day_of_week="*",
        description=(
            "Every day 08:00: mail ADMINS the Stripe webhook events that failed since the "
            "last digest (each listed once; no mail when none failed)."
        ),
    ),
    Entry(
        name="Hourly read of pending Stripe fees",
        task="subscriptions.tasks.read_pending_fees",
        minute="17",
        hour="*",
        day_of_week="*",
        description=(
            "Every hour at :17: read from Stripe the processing fees still pending (each "
            "payment queues a read when it arrives; this catches any read that was lost, "
            "and payments Stripe had not settled yet). Safe to overlap."
        ),
    ),
    Entry(
        name="Monthly payouts",
        task="payouts.tasks.monthly_payouts",
        minute="0",
        hour="7",
        day_of_week="*",
        day_of_month="3",
        description=(
            "The 3rd of each month 07:00: pay charities what they are owed for the month "
            "before (run_payouts; the last weeks of that month were distributed by then)."
        ),
    ),
]


def install_schedules(*, reset: bool = False, using: str = "default") -> list[str]:
    """Create missing entries (reset=True: also restore the defaults of existing ones).
    Returns the names of entries created or reset."""
    # Not at the top: config.apps imports this module before the app registry is ready,
    # and models can only be imported once it is.
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    zone = ZoneInfo(settings.TIME_ZONE)
    changed = []
    with transaction.atomic(using=using):
        for entry in SCHEDULES:
            task = PeriodicTask.objects.using(using).filter(name=entry.name).first()
            if task is not None and not reset:
                continue
            crontab, _ = CrontabSchedule.objects.using(using).get_or_create(
                minute=entry.minute,
                hour=entry.hour,
                day_of_week=entry.day_of_week,
                day_of_month=entry.day_of_month,
                month_of_year="*",
                timezone=zone,
            )
            values = {
                "task": entry.task,
                "crontab": crontab,
                "interval": None,
                "args": "[]",
                "kwargs": "{}",
                "enabled": True,
                "description": entry.description,
            }
            if task is None:
                PeriodicTask.objects.using(using).create(name=entry.name, **values)
            else:
                for key, value in values.items():
                    setattr(task, key, value)
                task.save(using=using)
            changed.append(entry.name)
    return changed

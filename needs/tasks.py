"""Celery wrappers for needs. The daily schedule (Celery Beat) names the task
"needs.tasks.refresh_needs"; it calls the same service as `manage.py refresh_needs`."""

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(name="needs.tasks.refresh_needs")
def refresh_needs() -> dict:
    """Fetch every needs feed. No retry: a failed feed is recorded on its charity and the
    next daily run tries again; rerunning or overlapping runs writes the same values."""
    return services.refresh_needs().as_dict()


@shared_task(name="needs.tasks.remind_stale_needs")
def remind_stale_needs() -> int:
    """Email members about needs going stale within a week. No retry: the next daily run
    picks up whatever was not claimed; a claimed need is never mailed twice."""
    return services.remind_stale_needs(now=timezone.now())

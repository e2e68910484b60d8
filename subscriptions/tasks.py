"""Celery tasks of billing: thin wrappers around subscriptions' services."""

from celery import shared_task

from .digest import send_failed_events_digest


@shared_task(name="subscriptions.tasks.failed_events_digest")
def failed_events_digest() -> dict:
    """Daily (config/schedules.py): mail ADMINS the failed Stripe events not yet listed.
    Safe to rerun and to overlap: each event is listed once."""
    return {"listed": send_failed_events_digest()}

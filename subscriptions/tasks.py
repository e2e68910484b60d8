"""Celery tasks of billing: thin wrappers around subscriptions' services."""

from celery import shared_task

from . import fee_reads
from .digest import send_failed_events_digest


@shared_task(name="subscriptions.tasks.failed_events_digest")
def failed_events_digest() -> dict:
    """Daily (config/schedules.py): mail ADMINS the failed Stripe events not yet listed.
    Safe to rerun and to overlap: each event is listed once."""
    return {"listed": send_failed_events_digest()}


# Backoff while Stripe cannot answer: 30 s, 1, 2, 4, 8, 16 min, then every 30 min up to
# about 5 hours in all; after that beat's hourly read goes on trying.
FEE_READ_RETRIES = 12


def fee_read_backoff(retries: int) -> int:
    return min(30 * 2**retries, 30 * 60)


@shared_task(name="subscriptions.tasks.read_pending_fees", bind=True, max_retries=FEE_READ_RETRIES)
def read_pending_fees(self) -> dict:
    """Read the processor fees still pending from Stripe (subscriptions.fee_reads). Queued
    on commit by invoice.paid (one per burst: services.request_fee_read), and hourly by
    beat (config/schedules.py) so no pending fee is forgotten if a queued read is lost.
    Safe to rerun and to overlap."""
    try:
        report = fee_reads.read_pending_fees()
    except fee_reads.StripeUnavailable as exc:
        # In-process (no broker) nobody would run a retry later: beat's read will.
        if self.request.is_eager:
            raise
        raise self.retry(exc=exc, countdown=fee_read_backoff(self.request.retries)) from exc
    return report.as_dict()

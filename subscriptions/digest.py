"""The daily digest of failed Stripe events, mailed to settings.ADMINS.

A failed event (impossible data, or an error Stripe's retries did not fix) is answered
200 or retried by Stripe, and waits under the admin's "failed" filter; this mail makes
sure someone looks. One mail a day, never one per event: beat runs
subscriptions.tasks.failed_events_digest (config/schedules.py), and
`manage.py mail_failed_events` runs the same by hand.

Each event is listed once: the events a digest lists are stamped with digested_at in
the same transaction that sends it, so a rerun, a late beat or two overlapping runs
(skip_locked) never list one twice, and a mail that cannot be sent stamps nothing. An
event reprocessed successfully before the digest is no longer failed and is not listed.
"""

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.text import counted

from .models import StripeEvent, StripeEventStatus

logger = logging.getLogger(__name__)

# One mail stays readable; more wait for the next run (the subject says how many).
MAX_EVENTS_PER_DIGEST = 500


def send_failed_events_digest(*, now: dt.datetime | None = None) -> int:
    """Mail ADMINS the failed events no digest has listed yet; the number listed (0: no
    mail, also when ADMINS is empty: the events then wait for a digest that can reach
    someone)."""
    now = now or timezone.now()
    if not settings.ADMINS:
        logger.warning("No ADMINS configured: the failed Stripe events digest is not sent.")
        return 0
    with transaction.atomic():
        events = list(
            StripeEvent.objects.select_for_update(skip_locked=True)
            .filter(status=StripeEventStatus.FAILED, digested_at__isnull=True)
            .order_by("received_at", "id")
            .only("id", "stripe_event_id", "type", "error", "attempts", "received_at")[
                : MAX_EVENTS_PER_DIGEST + 1
            ]
        )
        more = len(events) > MAX_EVENTS_PER_DIGEST
        events = events[:MAX_EVENTS_PER_DIGEST]
        if not events:
            return 0
        waiting = " (more wait for the next digest)" if more else ""
        url = settings.SITE_URL + reverse("admin:subscriptions_stripeevent_changelist")
        lines = [
            f"{counted(len(events), 'Stripe event')} failed and "
            f"{'was' if len(events) == 1 else 'were'} not listed before{waiting}.",
            "Each is stored with its payload; fix the cause, then select it in the admin",
            f"and choose Reprocess: {url}?status__exact=failed",
            "",
        ]
        for event in events:
            lines.append(
                f"- {event.stripe_event_id} ({event.type}), received "
                f"{event.received_at:%Y-%m-%d %H:%M} UTC, {counted(event.attempts, 'attempt')}:"
            )
            lines.append(f"  {event.error or '(no error recorded)'}")
        subject = f"{counted(len(events), 'failed Stripe event')}{waiting}"
        mail_admins(subject, "\n".join(lines) + "\n")
        StripeEvent.objects.filter(pk__in=[e.pk for e in events]).update(digested_at=now)
    logger.info("Failed Stripe events digest: %s mailed to ADMINS.", counted(len(events), "event"))
    return len(events)

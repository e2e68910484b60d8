"""Celery task of the monthly payouts: a thin call of payouts.services.run_payouts.

    monthly_payouts()           beat, the 3rd of the month 07:00: fixes the period, once
      -> monthly_payouts(period) run_payouts(period): batch and send

The period (the month before the trigger, local time) is computed once, by the
beat-triggered call, and from then on travels as an argument, so a retried or late task
still pays that month. Running a period twice, or two at once, pays nothing twice.
"""

import logging

from celery import shared_task
from django.utils import timezone

from core.months import parse_period, previous_period

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="payouts.tasks.monthly_payouts")
def monthly_payouts(period: str | None = None) -> dict:
    if period is None:
        fixed = previous_period(timezone.now())
        monthly_payouts.delay(f"{fixed:%Y-%m}")
        return {"period": f"{fixed:%Y-%m}", "scheduled": True}
    result = services.run_payouts(
        parse_period(period, field="period"), now=timezone.now(), say=logger.info
    )
    logger.info("%s", result.summary())
    return {
        "period": period,
        "payouts_created": result.created_count,
        "created_cents": result.created_cents,
        "transfers_made": len(result.sends_with("paid")),
        "failed": len(result.sends_with("failed")),
    }

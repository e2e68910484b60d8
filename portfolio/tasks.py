"""Celery tasks of the weekly run: thin calls of portfolio.services.distribute_funds and
its steps. They take ISO dates and ids; the retry policy is theirs.

    weekly_distribution()            beat, Monday 06:00: fixes the week, once
      -> weekly_distribution(week)   distribute_funds(week, fan_out=...): checks, bills
                                     demo subscriptions, opens the run, then fans out:
           -> chord[distribute_city(week, city, state, run_id) ...]
                -> finish_week(week)           closes the run (services.finish_run)
                -> reports.tasks.weekly_reports(week)   the week's reports and emails

The week is computed once, by the beat-triggered call, from the clock at that moment
(core.weeks.last_completed_week) and from then on travels as an argument: a task retried
or redelivered later, or a beat entry that fires twice around a DST change, still works
on that one week, and running a week twice gives nothing twice (portfolio.services).

The reports task is reached by its registered name, as config reaches every task:
reports sits above portfolio in the layers (it reads what the engine wrote), so the
engine names it rather than imports it.

Every task is safe to run again and to overlap with itself. acks_late is on for all
tasks (settings), so a worker killed mid-task leaves the message to be redelivered.
"""

import logging

from celery import chord, shared_task, signature
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from core.weeks import last_completed_week, week_from_iso
from distributions.models import DistributionRun
from portfolio import services

logger = logging.getLogger(__name__)

REPORTS_TASK = "reports.tasks.weekly_reports"


def _fan_out(run: DistributionRun, places: list[tuple[str, str]]) -> None:
    """Step 4 as one task per place, then step 5 and the reports once all are done."""
    week = run.week_start.isoformat()
    then = finish_week.si(week) | signature(REPORTS_TASK, args=(week,), immutable=True)
    if places:
        chord(distribute_city.si(week, city, state, run.pk) for city, state in places)(then)
    else:
        then.delay()


@shared_task(name="portfolio.tasks.weekly_distribution")
def weekly_distribution(week_start: str | None = None) -> dict:
    if week_start is None:
        week = last_completed_week(timezone.now())
        # Re-enqueued with the week fixed: whatever happens later, this is the week.
        weekly_distribution.delay(week.isoformat())
        return {"week_start": week.isoformat(), "scheduled": True}
    week = week_from_iso(week_start)
    fees = services.read_fees_before_the_run(week)
    run = services.distribute_funds(week, fan_out=_fan_out)
    return {"week_start": week_start, "run_id": run.pk, "fees": fees}


@shared_task(
    name="portfolio.tasks.distribute_city",
    bind=True,
    max_retries=3,
    default_retry_delay=30,
)
def distribute_city(self, week_start: str, city: str, state: str, run_id: int) -> dict:
    week = week_from_iso(week_start)
    place = f"{city}, {state}"
    try:
        status = services.distribute_city(week, city, state, run_id=run_id)
    except (OperationalError, InterfaceError) as exc:
        # The database went away or a lock timed out: the city's transaction rolled back,
        # so trying again is safe. After the last try it is recorded like any failure;
        # in-process (no broker) there is no one to retry later, so it is recorded at once.
        if not self.request.is_eager and self.request.retries < self.max_retries:
            raise self.retry(exc=exc) from exc
        logger.exception("Distribution for %s failed after retries", place)
        services.record_city_failure(week, city, state, run_id=run_id, error=exc)
        return {"place": place, "status": "failed"}
    except Exception as exc:
        # Recorded in the run's line for the city (the run ends "partial"); not raised, so
        # the chord still closes the run and the other cities' donors get their reports.
        logger.exception("Distribution for %s failed", place)
        services.record_city_failure(week, city, state, run_id=run_id, error=exc)
        return {"place": place, "status": "failed"}
    return {"place": place, "status": status or "nothing"}


@shared_task(name="portfolio.tasks.finish_week")
def finish_week(week_start: str) -> dict:
    run = services.finish_run(week_from_iso(week_start))
    return {"week_start": week_start, "status": run.status}

"""Celery tasks of the weekly engine: thin, take ISO dates and ids, call services.

    weekly_distribution()            beat, Monday 06:00: fixes the week, once
      -> weekly_distribution(week)   opens the run, fans out one task per city
           -> chord[distribute_city(week, city, state, run_id) ...]
                -> finish_week(week) closes the run, then reports.tasks.weekly_reports

The week is computed once, by the beat-triggered call, from the clock at that moment
(core.weeks.last_completed_week) and from then on travels as an argument: a task retried
or redelivered later, or a beat entry that fires twice around a DST change, still works
on that one week, and running a week twice gives nothing twice (portfolio.services).

Every task is safe to run again and to overlap with itself. acks_late is on for all
tasks (settings), so a worker killed mid-task leaves the message to be redelivered.
"""

import datetime as dt
import logging

from celery import chord, shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from core.weeks import last_completed_week
from portfolio import services

logger = logging.getLogger(__name__)


def _week(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


@shared_task(name="portfolio.tasks.weekly_distribution")
def weekly_distribution(week_start: str | None = None) -> dict:
    if week_start is None:
        week = last_completed_week(timezone.now())
        # Re-enqueued with the week fixed: whatever happens later, this is the week.
        weekly_distribution.delay(week.isoformat())
        return {"week_start": week.isoformat(), "scheduled": True}
    week = _week(week_start)
    run = services.start_run(week)
    places = services.pending_places(week)
    callback = finish_week.si(week.isoformat())
    if places:
        chord(distribute_city.si(week.isoformat(), city, state, run.pk) for city, state in places)(
            callback
        )
    else:
        callback.delay()
    return {"week_start": week.isoformat(), "cities": len(places)}


@shared_task(
    name="portfolio.tasks.distribute_city",
    bind=True,
    max_retries=3,
    default_retry_delay=30,
)
def distribute_city(self, week_start: str, city: str, state: str, run_id: int) -> dict:
    week = _week(week_start)
    try:
        entry = services.distribute_city(week, city, state, run_id=run_id)
    except (OperationalError, InterfaceError) as exc:
        # The database went away or a lock timed out: the city's transaction rolled back,
        # so trying again is safe. After the last try it is recorded like any failure;
        # in-process (no broker) there is no one to retry later, so it is recorded at once.
        if not self.request.is_eager and self.request.retries < self.max_retries:
            raise self.retry(exc=exc) from exc
        logger.exception("Distribution for %s, %s failed after retries", city, state)
        services.record_city_failure(week, city, state, run_id=run_id, error=exc)
        return {"place": f"{city}, {state}", "status": "failed"}
    except Exception as exc:
        # Recorded in the run summary (the run ends "partial"); not raised, so the chord
        # still closes the run and the other cities' donors still get their reports.
        logger.exception("Distribution for %s, %s failed", city, state)
        services.record_city_failure(week, city, state, run_id=run_id, error=exc)
        return {"place": f"{city}, {state}", "status": "failed"}
    return {"place": f"{city}, {state}", "status": entry["status"] if entry else "nothing"}


@shared_task(name="portfolio.tasks.finish_week")
def finish_week(week_start: str) -> dict:
    from reports.tasks import weekly_reports

    run = services.finish_run(_week(week_start))
    weekly_reports.delay(week_start)
    return {"week_start": week_start, "status": run.status}

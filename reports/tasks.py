"""Celery tasks of the weekly reports: thin wrappers around reports.services.

weekly_reports(week) fans out report writing (services.report_batches: the whole week in
one task on PostgreSQL, chunks of donors elsewhere), then (chord) sends the emails. It
runs after each distribution run (the weekly run's chord, portfolio.tasks) and from beat
shortly after the Monday run as a safety net; both are safe to repeat: reports are
upserted and each is emailed once. write_week_reports(week) does the same in one go in
the calling process: run_distribution runs it after its run (by name, as reports sit
above the engine) to say how many it wrote. Before the week's run has closed there is
nothing to report yet (reports.services.reports_are_due says so), and the run's end
triggers it again.
"""

import logging

from celery import chord, shared_task
from django.utils import timezone

from core.weeks import last_completed_week, week_from_iso
from reports import services

logger = logging.getLogger(__name__)


@shared_task(name="reports.tasks.weekly_reports")
def weekly_reports(week_start: str | None = None) -> dict:
    if week_start is None:
        week_start = last_completed_week(timezone.now()).isoformat()
    week = week_from_iso(week_start)
    if not services.reports_are_due(week):
        logger.info("Reports for the week of %s wait for its distribution run.", week)
        return {"week_start": week_start, "skipped": True}
    batches = services.report_batches(week)
    callback = send_report_emails.si(week_start)
    if batches:
        chord(generate_reports_chunk.si(week_start, batch) for batch in batches)(callback)
    else:
        callback.delay()
    return {"week_start": week_start, "chunks": len(batches)}


@shared_task(name="reports.tasks.generate_reports_chunk")
def generate_reports_chunk(week_start: str, user_ids: list[int] | None) -> int:
    """One batch of the week's reports (None: the whole week; services.report_batches)."""
    return services.generate_reports(week_from_iso(week_start), user_ids=user_ids)


@shared_task(name="reports.tasks.send_report_emails")
def send_report_emails(week_start: str) -> int:
    return services.send_report_emails(week_from_iso(week_start))


@shared_task(name="reports.tasks.write_week_reports")
def write_week_reports(week_start: str, email: bool = True) -> dict:
    week = week_from_iso(week_start)
    if not services.reports_are_due(week):
        return {"week_start": week_start, "due": False, "written": 0, "emailed": 0}
    written = services.generate_reports(week)
    emailed = services.send_report_emails(week) if email else 0
    return {"week_start": week_start, "due": True, "written": written, "emailed": emailed}

"""Writes of the site as a whole: staff queue a week's distribution from the admin
(the "Preview week" page's "Run this week" button).

The run is queued on the same path as the Monday beat entry: the Celery task
portfolio.tasks.weekly_distribution with the week fixed (beat's call re-enqueues itself
with the week; this enqueues that second call directly), sent once the queueing
transaction commits. With no broker (CELERY_BROKER_URL unset) the task runs in-process
at that moment, so on a laptop the week is distributed before the page answers.

Queueing is refused, with a sentence and nothing written, when:
- the user is not active staff with distributions.run_distribution_week (PermissionDenied);
- the week is malformed or has not ended (core.weeks.require_ended_week);
- the week was already distributed: its run has closed and a run now would give nothing
  more (what is left would be held again, or nothing is left); or the week has no run and
  no money waits for it (a run would only record an empty week);
- its run is running now (started within RUNNING_FOR), or someone queued it within
  QUEUE_GUARD_SECONDS and that run has not finished since (a double click, two staff at
  once: an atomic cache.add). Past those limits a run still "running" is taken for one
  whose worker died, and queueing again completes it.
Whatever gets through, the engine itself never gives a cent twice (portfolio.services).

Each queueing is recorded twice: a LogEntry on the week's run (the admin's history,
naming the user) and a `run_queued` line on the hometown.money log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core.money_log import log_money_on_commit
from core.templatetags.money import format_cents
from core.weeks import require_ended_week
from distributions.models import DistributionRun, RunStatus
from distributions.selectors import get_run
from portfolio.services import CityPlan, get_distribution_preview
from portfolio.tasks import weekly_distribution

RUN_PERMISSION = "distributions.run_distribution_week"
QUEUE_GUARD_SECONDS = 15 * 60
RUNNING_FOR = dt.timedelta(hours=1)


def _day(day: dt.date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


def _moment(moment: dt.datetime) -> str:
    local = timezone.localtime(moment)
    return f"{_day(local.date())} {local:%H:%M}"


@dataclass(frozen=True)
class WeekPreview:
    """A finished week as a run started now would treat it: the plans per place
    (portfolio.services.get_distribution_preview) beside the week's run record."""

    week: dt.date
    run: DistributionRun | None
    plans: list[CityPlan]

    @property
    def pooled_cents(self) -> int:
        return sum(p.pooled_cents for p in self.plans)

    @property
    def distributed_cents(self) -> int:
        return sum(p.distributed_cents for p in self.plans)

    @property
    def held_cents(self) -> int:
        return sum(p.held_cents for p in self.plans)

    @property
    def charities(self) -> int:
        return sum(1 for p in self.plans for c in p.charities if c.amount_cents)

    @property
    def label(self) -> str:
        return _day(self.week)


def preview_week(week_start, *, now: dt.datetime) -> WeekPreview:
    """The checked, ended week with its plans and run; ValidationError (naming "week")
    for a week that is not a Monday or has not ended. Writes nothing."""
    try:
        week = require_ended_week(week_start, now=now, field="week")
    except OverflowError:  # the calendar's last week: its end is past year 9999
        raise ValidationError(
            {"week": f"The week of Monday {week_start} has not ended yet."}
        ) from None
    return WeekPreview(week=week, run=get_run(week), plans=get_distribution_preview(week, now=now))


def _guard_key(week: dt.date) -> str:
    return f"web:week-run-queued:{week.isoformat()}"


def run_refusal(preview: WeekPreview, *, now: dt.datetime) -> str:
    """Why the week may not be queued now, in one sentence, or "" (see the module
    docstring). Reads only."""
    run, label = preview.run, preview.label
    queued = cache.get(_guard_key(preview.week))
    if queued and not (run and run.finished_at and run.finished_at >= queued["at"]):
        return (
            f"The week of {label} was queued by {queued['by']} at {_moment(queued['at'])} "
            "and that run has not finished yet; see Distribution runs."
        )
    if run is None:
        if not preview.pooled_cents:
            return f"Nothing waits for the week of {label}: a run would give and hold nothing."
        return ""
    if run.status == RunStatus.RUNNING and now - run.started_at < RUNNING_FOR:
        return (
            f"The week of {label} is being distributed now (its run started "
            f"{_moment(run.started_at)}); wait for it to finish."
        )
    if run.status != RunStatus.RUNNING and not preview.distributed_cents:
        held = ""
        if preview.held_cents:
            held = f" ({format_cents(preview.held_cents)} would be held again)"
        finished = f" {_moment(run.finished_at)}" if run.finished_at else ""
        return (
            f"The week of {label} was already distributed (run {run.status}{finished}: "
            f"{format_cents(run.distributed_cents)} given, {format_cents(run.held_cents)} "
            f"held). A run now would give nothing more{held}."
        )
    return ""


@dataclass(frozen=True)
class QueuedRun:
    preview: WeekPreview
    log_entry: LogEntry


def queue_week_run(week_start, *, by, now: dt.datetime | None = None) -> QueuedRun:
    """Queue the distribution of an ended week, as the Monday beat entry does, after
    the checks of the module docstring; record who queued it. Returns the preview the
    decision was made on and the LogEntry."""
    now = timezone.now() if now is None else now
    if not (by.is_active and by.is_staff and by.has_perm(RUN_PERMISSION)):
        raise PermissionDenied("Only staff allowed to run a week may queue one.")
    preview = preview_week(week_start, now=now)
    refusal = run_refusal(preview, now=now)
    if refusal:
        raise ValidationError({"week": refusal})
    # Claimed atomically: of two clicks (or two staff) at once, one queues the week.
    key = _guard_key(preview.week)
    claim = {"at": now, "by": by.email}
    if not cache.add(key, claim, QUEUE_GUARD_SECONDS):
        # An older claim whose run has finished since (run_refusal let it through).
        cache.set(key, claim, QUEUE_GUARD_SECONDS)
    try:
        with transaction.atomic():
            entry = _log_queued(preview, by=by)
            log_money_on_commit(
                "run_queued",
                week=preview.week.isoformat(),
                user_id=by.pk,
                log_entry_id=entry.pk,
                pooled_cents=preview.pooled_cents,
                distributed_cents=preview.distributed_cents,
                held_cents=preview.held_cents,
            )
            week = preview.week.isoformat()
            # robust: in-process (no broker) the run happens here, and a failure in it is
            # logged (and recorded on the run) rather than answered as a server error.
            transaction.on_commit(lambda: weekly_distribution.delay(week), robust=True)
    except Exception:
        cache.delete(key)
        raise
    return QueuedRun(preview=preview, log_entry=entry)


def _log_queued(preview: WeekPreview, *, by) -> LogEntry:
    run = preview.run
    message = (
        f"Queued the distribution of the week of {preview.label} from the admin. "
        f"Preview: {format_cents(preview.pooled_cents)} pooled, "
        f"{format_cents(preview.distributed_cents)} to {preview.charities} charities, "
        f"{format_cents(preview.held_cents)} held."
    )
    return LogEntry.objects.create(
        user_id=by.pk,
        content_type=ContentType.objects.get_for_model(DistributionRun),
        object_id=str(run.pk) if run else None,
        object_repr=f"Run for week of {preview.week}",
        action_flag=CHANGE if run else ADDITION,
        change_message=message,
    )

"""The Celery tasks, run in-process (CELERY_BROKER_URL unset): fan-out per city, chord to
finish the run, reports after it; the week fixed once from the trigger's clock."""

import datetime as dt

import pytest
from django.core import mail

from distributions.models import Distribution, DistributionRun
from portfolio import services, tasks
from reports.models import Report
from tests.portfolio.scenario import NOW, WEEK, at, charity, donor, lines, paid

pytestmark = pytest.mark.django_db


def _clock(monkeypatch, moment):
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)


def test_the_beat_trigger_distributes_the_week_that_just_ended_then_reports_it(
    monkeypatch, django_capture_on_commit_callbacks
):
    _clock(monkeypatch, NOW)
    vt, ky = charity("Springfield", "VT"), charity("Springfield", "KY")
    paid(donor("Springfield", "VT", email="vt@example.org"), 1000)
    paid(donor("Springfield", "KY", email="ky@example.org"), 700)

    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.weekly_distribution.delay().get()

    assert result == {"week_start": WEEK.isoformat(), "scheduled": True}
    run = DistributionRun.objects.get()
    assert run.week_start == WEEK
    assert run.status == DistributionRun.Status.COMPLETED
    assert set(lines(run)) == {"Springfield, VT", "Springfield, KY"}
    assert {d.charity_id: d.amount_cents for d in Distribution.objects.all()} == {
        vt.pk: 1000,
        ky.pk: 700,
    }
    assert Report.objects.count() == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["ky@example.org", "vt@example.org"]


def test_a_trigger_that_fires_twice_across_a_dst_change_gives_the_week_once(monkeypatch):
    # Clocks went back on Sunday 2026-11-01; the Monday 06:00 trigger (and a duplicate an
    # hour later, as a confused scheduler might send) both mean the week of 2026-10-26.
    week = dt.date(2026, 10, 26)
    charity(updated=at(dt.date(2026, 10, 30)))
    paid(donor(), 1000, when=at(week + dt.timedelta(days=6), 23))

    for moment in (at(dt.date(2026, 11, 2), 6), at(dt.date(2026, 11, 2), 7)):
        _clock(monkeypatch, moment)
        tasks.weekly_distribution.delay()

    assert list(DistributionRun.objects.values_list("week_start", flat=True)) == [week]
    assert Distribution.objects.get().amount_cents == 1000


def test_the_week_comes_from_the_argument_not_the_clock(monkeypatch):
    _clock(monkeypatch, NOW + dt.timedelta(days=70))
    charity()
    paid(donor(), 1000)

    tasks.weekly_distribution.delay(WEEK.isoformat())

    assert DistributionRun.objects.get().week_start == WEEK


def test_a_failing_city_task_is_recorded_and_the_others_still_finish(monkeypatch):
    _clock(monkeypatch, NOW)
    charity("Springfield", "VT")
    charity("Springfield", "KY")
    paid(donor("Springfield", "VT"), 1000)
    paid(donor("Springfield", "KY"), 700)
    real = services.distribute_city

    def flaky(week, city, state, **kw):
        if state == "KY":
            raise ValueError("bad data")
        return real(week, city, state, **kw)

    monkeypatch.setattr(services, "distribute_city", flaky)
    tasks.weekly_distribution.delay(WEEK.isoformat())

    run = DistributionRun.objects.get()
    assert run.status == DistributionRun.Status.PARTIAL
    assert lines(run)["Springfield, KY"].status == "failed"
    assert run.distributed_cents == 1000
    # The VT donor still gets the report of their gift; the KY donor one that says the
    # money waits for the week to be run again.
    vt, ky = Report.objects.order_by("user__state").reverse()
    assert (vt.total_distributed_cents, vt.held_cents) == (1000, 0)
    assert (ky.total_distributed_cents, ky.held_cents, ky.hold_reason) == (0, 700, "failed")


def test_the_needs_refresh_task_runs_without_a_needs_service():
    from needs.tasks import refresh_needs

    assert refresh_needs.name == "needs.tasks.refresh_needs"
    refresh_needs.delay().get()


def test_reports_wait_while_the_distribution_is_still_running(monkeypatch):
    from reports.tasks import weekly_reports

    _clock(monkeypatch, NOW)
    DistributionRun.objects.create(week_start=WEEK, started_at=NOW)

    assert weekly_reports.delay().get() == {"week_start": WEEK.isoformat(), "skipped": True}


def test_a_city_whose_database_fails_in_process_is_recorded_for_a_rerun(monkeypatch):
    # With a broker the task retries (max_retries) first; in-process nobody would retry.
    from django.db import OperationalError

    _clock(monkeypatch, NOW)
    charity()
    paid(donor(), 1000)
    attempts = []

    def down(*args, **kwargs):
        attempts.append(1)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "distribute_city", down)
    tasks.weekly_distribution.delay(WEEK.isoformat())

    run = DistributionRun.objects.get()
    assert len(attempts) == 1
    assert run.status == DistributionRun.Status.PARTIAL
    assert "server closed the connection" in lines(run)["Springfield, VT"].why

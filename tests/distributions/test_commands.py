"""run_distribution, generate_reports and setup_schedules, called as staff would."""

import datetime as dt
import logging
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from distributions.models import Distribution, DistributionRun
from reports.models import Report
from subscriptions.models import Contribution
from tests.portfolio.scenario import NOW, WEEK, charity, donor, paid

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _setup(settings, monkeypatch):
    settings.DEMO_BILLING = False
    # The commands read the clock; pin it to the Monday after WEEK.
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_run_distribution_says_which_week_and_prints_a_line_per_city():
    charity(name="Food Shelf")
    charity("Burlington", "VT", urgency=None)
    paid(donor(), 1000)
    paid(donor("Burlington", "VT"), 300)

    out = run("run_distribution", "--week", "2026-11-12")

    assert "Week of Monday 2026-11-09 (2026-11-12 is in that week)." in out
    assert "Springfield, VT: $10.00 given in 1 row to 1 charity." in out
    assert (
        "Burlington, VT: $3.00 held, no approved charity in Burlington, VT has a current need"
        in out
    )
    assert "This run gave $10.00, held $3.00: Burlington, VT, Springfield, VT done here." in out
    assert "The week so far (every run): completed, $10.00 given, $3.00 held, 1 row." in out
    assert Distribution.objects.get().amount_cents == 1000


def test_without_week_it_distributes_the_last_week_that_ended():
    charity()
    paid(donor(), 1000)

    out = run("run_distribution")

    assert "Week of Monday 2026-11-09 (the last week that has ended)." in out
    assert DistributionRun.objects.get().week_start == WEEK


def test_a_dry_run_prints_the_plan_and_writes_nothing():
    charity(name="Food Shelf")
    paid(donor(), 1000)

    out = run("run_distribution", "--week", "2026-11-09", "--dry-run")
    city_out = run(
        "run_distribution", "--week", "2026-11-09", "--dry-run", "--city", "springfield, vt"
    )

    assert "Dry run: nothing is written." in out
    assert "Springfield, VT: $10.00 from 1 subscription to Food Shelf $10.00." in out
    assert "Would give $10.00 and hold $0.00 in 1 city." in out
    assert "Food Shelf $10.00" in city_out
    assert not Distribution.objects.exists()
    assert not DistributionRun.objects.exists()
    assert not Contribution.objects.filter(distributed_week__isnull=False).exists()


def test_the_city_option_runs_one_city():
    charity()
    charity("Springfield", "KY")
    paid(donor(), 1000)
    paid(donor("Springfield", "KY"), 500)

    out = run("run_distribution", "--week", "2026-11-09", "--city", "Springfield, KY")

    assert "Springfield, KY: $5.00 given" in out
    assert "Springfield, VT:" not in out
    assert "This run gave $5.00: Springfield, KY done here." in out
    assert "The week so far (every run): partial" in out
    assert "not yet run: Springfield, VT" in out
    assert Distribution.objects.get().amount_cents == 500


def test_a_rerun_of_a_distributed_week_says_it_gave_nothing():
    charity()
    paid(donor(), 1000)
    first = run("run_distribution", "--week", "2026-11-09")
    assert "This run gave $10.00: Springfield, VT done here." in first

    out = run("run_distribution", "--week", "2026-11-09")

    assert "This run gave $0.00: the week was already distributed." in out
    assert "$10.00 given in" not in out  # no city line claims the earlier run's money
    assert "This run gave $10.00" not in out
    assert Distribution.objects.get().amount_cents == 1000


def test_places_another_process_took_meanwhile_are_said_to_be_done_elsewhere(monkeypatch):
    from portfolio import services

    places = [("Cheyenne", "WY"), ("Springfield", "VT"), ("Burlington", "VT"), ("Laramie", "WY")]
    for city, state in places:
        charity(city, state)
        paid(donor(city, state), 1000)
    real = services._pending_places
    raced = []

    def another_process_takes_three(week_start):
        # Between this run's listing of the places and its locking of each, another
        # process distributes three of them (what a second shell does at the same time).
        listed = real(week_start)
        if not raced:
            raced.append(True)
            run_id = DistributionRun.objects.get(week_start=week_start).pk
            for city, state in listed:
                if city != "Cheyenne":
                    services.distribute_city(week_start, city, state, run_id=run_id, now=NOW)
        return listed

    monkeypatch.setattr(services, "_pending_places", another_process_takes_three)

    out = run("run_distribution", "--week", "2026-11-09")

    assert (
        "This run gave $10.00: Cheyenne, WY done here, 3 other places done by another process."
        in out
    )
    assert "Springfield, VT: nothing left to take, done by another process." in out
    assert "The week so far (every run): completed, $40.00 given" in out
    assert Distribution.objects.count() == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "2026-11-16"], "has not ended yet"),
        (["--week", "2026-13-01"], "is not a date of the form YYYY-MM-DD"),
        (["--week", "next monday"], "is not a date of the form YYYY-MM-DD"),
        (["--week", "2026-11-09", "--city", "Atlantis, VT"], "No donor or charity is in Atlantis"),
        (["--week", "2026-11-09", "--city", "Springfield"], "is not of the form 'City, ST'"),
        (["--week", "2026-11-09", "--city", "Springfield, XX"], "not a US state code"),
    ],
)
def test_bad_arguments_stop_with_one_clear_line_and_write_nothing(args, message):
    charity()
    paid(donor(), 1000)

    for extra in ([], ["--dry-run"]):
        with pytest.raises(CommandError) as err:
            run("run_distribution", *args, *extra)
        assert message in str(err.value)
        assert "\n" not in str(err.value)
    assert not Distribution.objects.exists()
    assert not DistributionRun.objects.exists()


def test_a_refused_week_exits_non_zero_from_the_shell():
    env = {**os.environ, "DATABASE_URL": "sqlite:///:memory:"}
    result = subprocess.run(
        [sys.executable, "manage.py", "run_distribution", "--week", "2999-01-02"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "CommandError: --week: The week of Monday 2998-12-31 has not ended yet "
        "(it ends 2999-01-07 00:00 America/New_York)."
    ]


def test_generate_reports_writes_and_emails_the_weeks_reports(django_capture_on_commit_callbacks):
    from django.core import mail

    charity()
    paid(donor(email="a@example.org"), 1000)
    paid(donor(email="b@example.org", wants_report_emails=False), 500)
    run("run_distribution", "--week", "2026-11-09", "--no-reports")
    assert not Report.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        out = run("generate_reports", "--week", "2026-11-10")

    assert "Week of Monday 2026-11-09 (2026-11-10 is in that week)." in out
    assert "Springfield, VT: 2 reports, $15.00 given" in out
    assert "Wrote 2 reports; emailed 1 donor." in out
    assert Report.objects.count() == 2
    assert [m.to for m in mail.outbox] == [["a@example.org"]]


def test_run_distribution_writes_and_emails_the_weeks_reports_after_the_run(
    django_capture_on_commit_callbacks,
):
    from django.core import mail

    charity()
    paid(donor(email="a@example.org"), 1000)
    paid(donor(email="b@example.org", wants_report_emails=False), 500)
    paid(donor("Laramie", "WY", email="c@example.org"), 700)  # held: reported too

    with django_capture_on_commit_callbacks(execute=True):
        out = run("run_distribution", "--week", "2026-11-09")

    assert out.splitlines()[-1] == "Reports: wrote 3 reports for the week; emailed 2 donors."
    reports = Report.objects.filter(week_start=WEEK)
    assert sorted(reports.values_list("user__email", "total_distributed_cents")) == [
        ("a@example.org", 1000), ("b@example.org", 500), ("c@example.org", 0),
    ]  # fmt: skip
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.org", "c@example.org"]

    # A rerun rewrites the same reports and emails nobody twice.
    with django_capture_on_commit_callbacks(execute=True):
        again = run("run_distribution", "--week", "2026-11-09")
    assert "Reports: wrote 3 reports for the week; emailed 0 donors." in again
    assert len(mail.outbox) == 2 and reports.count() == 3


def test_run_distribution_says_one_report_and_one_donor_in_the_singular(
    django_capture_on_commit_callbacks,
):
    charity()
    paid(donor(email="a@example.org"), 1000)
    with django_capture_on_commit_callbacks(execute=True):
        out = run("run_distribution", "--week", "2026-11-09")
    assert "Reports: wrote 1 report for the week; emailed 1 donor." in out


def test_run_distribution_without_reports_or_email_says_so():
    from django.core import mail

    charity()
    paid(donor(email="a@example.org"), 1000)

    out = run("run_distribution", "--week", "2026-11-09", "--no-reports")
    assert "Reports: not written (--no-reports); generate_reports writes them." in out
    assert not Report.objects.exists()

    out = run("run_distribution", "--week", "2026-11-09", "--no-email")
    assert "Reports: wrote 1 report for the week; emailed nobody." in out
    assert Report.objects.get().emailed_at is None
    assert mail.outbox == []


def test_a_dry_run_writes_no_report():
    charity()
    paid(donor(), 1000)
    out = run("run_distribution", "--week", "2026-11-09", "--dry-run")
    assert "Reports" not in out
    assert not Report.objects.exists()


def test_a_partial_run_still_writes_its_reports_then_exits_non_zero(monkeypatch):
    from portfolio import services

    charity()
    charity("Burlington", "VT")
    paid(donor(email="a@example.org"), 1000)
    paid(donor("Burlington", "VT", email="b@example.org"), 500)
    real = services._distribute_city_plan

    def burlington_fails(week_start, city, state, **kwargs):
        if city == "Burlington":
            raise RuntimeError("disk full")
        return real(week_start, city, state, **kwargs)

    monkeypatch.setattr(services, "_distribute_city_plan", burlington_fails)
    out = StringIO()
    with pytest.raises(CommandError, match="partial"):
        call_command("run_distribution", "--week", "2026-11-09", stdout=out)
    # Both donors are told: Springfield's what was given, Burlington's that it is held
    # (the city's run failed); the rerun that completes the week revises it.
    assert "Reports: wrote 2 reports for the week" in out.getvalue()
    assert sorted(Report.objects.values_list("user__email", "total_distributed_cents")) == [
        ("a@example.org", 1000), ("b@example.org", 0),
    ]  # fmt: skip


def test_run_distribution_help_says_it_writes_the_reports(capsys):
    from portfolio.management.commands.run_distribution import Command

    text = " ".join(Command().create_parser("manage.py", "run_distribution").format_help().split())
    assert "then write that week's donor reports and email them" in text
    assert "--no-reports" in text and "--no-email" in text


def test_generate_reports_prints_the_week_a_line_per_city_and_the_totals_only(caplog):
    places = [("Springfield", "VT"), ("Burlington", "VT"), ("Cheyenne", "WY")]
    for city, state in places:
        charity(city, state)
        paid(donor(city, state), 1000)
    run("run_distribution", "--week", "2026-11-09", "--no-reports")
    caplog.clear()

    lines = run("generate_reports", "--week", "2026-11-09").splitlines()

    assert len(lines) == 1 + len(places) + 1, lines
    assert lines[0].startswith("Week of Monday 2026-11-09")
    assert lines[-1] == "Wrote 3 reports; emailed 3 donors."
    assert [r for r in caplog.records if r.levelno < logging.WARNING] == []


def test_generate_reports_refuses_a_week_that_has_not_ended():
    with pytest.raises(CommandError, match="has not ended yet"):
        run("generate_reports", "--week", "2026-11-20")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run("generate_reports", "--week", "20261109")
    assert not Report.objects.exists()


class TestSchedules:
    def test_migrate_installs_the_weekly_and_daily_schedules_in_the_time_zone(self, settings):
        from django_celery_beat.models import PeriodicTask

        tasks = {t.name: t for t in PeriodicTask.objects.select_related("crontab")}
        weekly = tasks["Weekly distribution"]
        assert weekly.task == "portfolio.tasks.weekly_distribution"
        assert (weekly.crontab.minute, weekly.crontab.hour, weekly.crontab.day_of_week) == (
            "0", "6", "1",
        )  # fmt: skip
        assert str(weekly.crontab.timezone) == settings.TIME_ZONE
        reports = tasks["Weekly reports"]
        assert reports.task == "reports.tasks.weekly_reports"
        assert (reports.crontab.hour, reports.crontab.minute) == ("6", "30")
        needs = tasks["Daily needs refresh"]
        assert needs.task == "needs.tasks.refresh_needs"
        assert (needs.crontab.hour, needs.crontab.minute, needs.crontab.day_of_week) == (
            "3", "0", "*",
        )  # fmt: skip

    def test_setup_keeps_an_entry_edited_in_the_admin_and_reset_restores_it(self):
        from django_celery_beat.models import CrontabSchedule, PeriodicTask

        weekly = PeriodicTask.objects.get(name="Weekly distribution")
        weekly.crontab = CrontabSchedule.objects.create(minute="15", hour="7", day_of_week="1")
        weekly.save()

        from config.schedules import SCHEDULES

        out = run("setup_schedules")
        assert f"0 of {len(SCHEDULES)} schedule entries written." in out
        assert PeriodicTask.objects.get(name="Weekly distribution").crontab.hour == "7"
        assert PeriodicTask.objects.count() == len(SCHEDULES)

        run("setup_schedules", "--reset")
        assert PeriodicTask.objects.get(name="Weekly distribution").crontab.hour == "6"
        assert PeriodicTask.objects.count() == len(SCHEDULES)

    def test_a_deleted_entry_comes_back(self):
        from django_celery_beat.models import PeriodicTask

        PeriodicTask.objects.filter(name="Daily needs refresh").delete()
        out = run("setup_schedules")
        assert "Daily needs refresh: needs.tasks.refresh_needs" in out
        assert "(created)" in out
        assert PeriodicTask.objects.filter(name="Daily needs refresh").exists()


def test_week_option_in_the_past_is_fine():
    charity()
    paid(donor(), 1000, when=NOW - dt.timedelta(days=30))
    out = run("run_distribution", "--week", "2026-10-12")
    assert "Week of Monday 2026-10-12." in out

"""The admin's "Preview week" page and its "Run this week" button: the page shows
portfolio.services.get_distribution_preview for an ended week; the button is only for
staff with distributions.run_distribution_week, asks to confirm, queues the run on the
beat's path (portfolio.tasks.weekly_distribution, in-process here), records who queued
it, and refuses a week already distributed or already queued."""

import datetime as dt
import logging

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from core.templatetags.money import dollars
from core.weeks import last_completed_week, week_bounds
from distributions.models import Distribution, DistributionRun
from portfolio import tasks
from portfolio.services import get_distribution_preview
from subscriptions.models import Contribution
from tests.factories import CharityFactory, NeedFactory
from tests.portfolio.scenario import donor, paid

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_demo_billing")]
PREVIEW = reverse("admin_preview_week")
RUN = reverse("admin_run_week")


def last_week():
    return last_completed_week(timezone.now())


def during(week, days=2):
    return week_bounds(week)[0] + dt.timedelta(days=days, hours=12)


@pytest.fixture
def week():
    """The last ended week: Springfield, VT gives (two charities with current needs, two
    donors), Laramie, WY holds (no charity)."""
    week = last_week()
    for name, urgency, gap in (("Food Shelf", 90, 1_250_000), ("Warming Shelter", 40, 300_000)):
        NeedFactory(
            charity=CharityFactory(name=name), urgency_score=urgency, funding_gap_cents=gap
        )
    paid(donor("Springfield", "VT"), 2500, when=during(week))
    paid(donor("Springfield", "VT"), 1000, when=during(week, days=3))
    paid(donor("Laramie", "WY"), 700, when=during(week))
    return week


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- the preview ---------------------------------------------------------------------


def test_the_page_shows_the_engines_preview_of_the_last_ended_week(client, mona, week):
    client.force_login(mona)
    response = client.get(PREVIEW)
    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview.week == week  # the default: the last week that has ended

    engine = get_distribution_preview(week)
    assert [(p.place, p.pooled_cents, p.distributed_cents, p.held_cents, p.why) for p in
            preview.plans] == [(p.place, p.pooled_cents, p.distributed_cents, p.held_cents,
                                p.why) for p in engine]  # fmt: skip
    page = response.content.decode()
    for plan in engine:
        block = page.split(f'data-place="{plan.place}"', 1)[1].split("</table>", 1)[0]
        assert dollars(plan.pooled_cents) in block
        if plan.held_cents:
            assert dollars(plan.held_cents) in block and plan.why[1:] in block
        for share in plan.charities:
            if share.amount_cents:
                assert f"<th scope=\"row\">{share.name}</th><td class=\"num\">" \
                       f"{dollars(share.amount_cents)}</td>" in block  # fmt: skip
    totals = page.split('id="preview-totals"', 1)[1].split("</table>", 1)[0]
    assert dollars(sum(p.pooled_cents for p in engine)) in totals
    assert dollars(sum(p.distributed_cents for p in engine)) in totals
    assert dollars(sum(p.held_cents for p in engine)) in totals
    # Nothing was written.
    assert not DistributionRun.objects.exists() and not Distribution.objects.exists()


def test_any_day_of_a_week_means_that_week(client, mona, week):
    client.force_login(mona)
    thursday = week + dt.timedelta(days=3)
    assert client.get(PREVIEW, {"week": thursday.isoformat()}).context["preview"].week == week


@pytest.mark.parametrize(
    ("asked", "error"),
    [
        ("garbage", "is not a date of the form YYYY-MM-DD"),
        ("2026-02-30", "is not a date of the form YYYY-MM-DD"),
        ("x" * 5000, "is not a date of the form YYYY-MM-DD"),
        ("9999-12-31", "has not ended yet"),
        ("unended", "has not ended yet"),
    ],
)
def test_a_bad_or_unfinished_week_is_a_clear_error_not_a_500(client, mona, asked, error):
    if asked == "unended":
        asked = timezone.localdate().isoformat()
    client.force_login(mona)
    response = client.get(PREVIEW, {"week": asked})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert response.context["preview"] is None


def test_staff_without_the_view_permission_are_refused(client, sam):
    client.force_login(sam)
    assert client.get(PREVIEW).status_code == 403


# --- the button ----------------------------------------------------------------------


def test_the_run_button_is_only_for_staff_with_the_permission(client, mona, rick, week):
    client.force_login(mona)
    assert f'action="{RUN}"' not in client.get(PREVIEW).content.decode()
    client.force_login(rick)
    assert f'action="{RUN}"' in client.get(PREVIEW).content.decode()


def test_staff_without_the_permission_get_403_on_the_run_endpoint(client, mona, week):
    client.force_login(mona)
    data = {"week": week.isoformat(), "confirm": "yes"}
    assert client.post(RUN, data).status_code == 403
    assert not DistributionRun.objects.exists() and not LogEntry.objects.exists()


def test_the_permission_is_installed_by_a_migration():
    assert Permission.objects.filter(
        content_type__app_label="distributions", codename="run_distribution_week"
    ).exists()


def test_the_run_endpoint_takes_only_posts(client, rick, week):
    client.force_login(rick)
    assert client.get(RUN, {"week": week.isoformat(), "confirm": "yes"}).status_code == 405
    assert not DistributionRun.objects.exists()


def test_the_button_asks_to_confirm_before_anything_is_queued(
    client, rick, week, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(tasks.weekly_distribution, "delay", lambda *a: queued.append(a))
    client.force_login(rick)
    with django_capture_on_commit_callbacks(execute=True):
        confirm = client.post(RUN, {"week": week.isoformat()})
    assert confirm.status_code == 200
    page = confirm.content.decode()
    engine = get_distribution_preview(week)
    assert dollars(sum(p.distributed_cents for p in engine)) in page
    assert 'name="confirm" value="yes"' in page
    assert queued == [] and not LogEntry.objects.exists()


def test_confirming_queues_the_weeks_run_on_the_beats_path_and_logs_who(
    client, rick, week, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    sent = []
    real = tasks.weekly_distribution.delay
    monkeypatch.setattr(tasks.weekly_distribution, "delay", lambda *a: sent.append(a) or real(*a))
    before = {p.place: p.distributed_cents for p in get_distribution_preview(week)}
    client.force_login(rick)
    with (
        caplog.at_level(logging.INFO, logger="hometown.money"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(RUN, {"week": week.isoformat(), "confirm": "yes"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:distributions_distributionrun_changelist")
    assert sent == [(week.isoformat(),)]  # what the beat entry sends for the week

    run = DistributionRun.objects.get(week_start=week)
    assert run.status == DistributionRun.Status.COMPLETED
    assert run.distributed_cents == sum(before.values())
    assert not Contribution.objects.filter(
        distributed_week__isnull=True, subscription__user__city="Springfield"
    ).exists()

    entry = LogEntry.objects.get()
    assert entry.user == rick
    assert entry.get_change_message().startswith(
        f"Queued the distribution of the week of {week:%b} {week.day}, {week.year}"
    )
    queued_lines = [r for r in caplog.records if getattr(r, "money", {}).get("event") ==
                    "run_queued"]  # fmt: skip
    assert [r.money["week"] for r in queued_lines] == [week.isoformat()]
    assert queued_lines[0].money["user_id"] == rick.pk
    assert any("Queued the distribution" in m for m in messages_of(response))


def test_a_week_already_distributed_is_refused_with_a_clear_message(
    client, rick, week, django_capture_on_commit_callbacks
):
    client.force_login(rick)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(RUN, {"week": week.isoformat(), "confirm": "yes"})
    rows = Distribution.objects.count()
    assert rows and LogEntry.objects.count() == 1

    page = client.get(PREVIEW, {"week": week.isoformat()}).content.decode()
    assert "was already distributed" in page and f'action="{RUN}"' not in page
    for data in ({"week": week.isoformat()}, {"week": week.isoformat(), "confirm": "yes"}):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(RUN, data)
        assert response.status_code == 302
        assert any("was already distributed" in m for m in messages_of(response))
    assert Distribution.objects.count() == rows and LogEntry.objects.count() == 1


def test_a_week_queued_and_not_yet_run_is_not_queued_twice(
    client, rick, week, monkeypatch, django_capture_on_commit_callbacks
):
    """A worker has not taken the first message yet (or two staff click at once)."""
    sent = []
    monkeypatch.setattr(tasks.weekly_distribution, "delay", lambda *a: sent.append(a))
    client.force_login(rick)
    data = {"week": week.isoformat(), "confirm": "yes"}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(RUN, data)
        second = client.post(RUN, data)
    assert sent == [(week.isoformat(),)]
    assert any(f"was queued by {rick.email}" in m for m in messages_of(second))
    assert LogEntry.objects.count() == 1


def test_a_run_in_progress_is_not_queued_again(client, rick, week):
    DistributionRun.objects.create(
        week_start=week, started_at=timezone.now(), status=DistributionRun.Status.RUNNING
    )
    client.force_login(rick)
    response = client.post(RUN, {"week": week.isoformat(), "confirm": "yes"})
    assert any("is being distributed now" in m for m in messages_of(response))
    assert not LogEntry.objects.exists()


def test_a_run_left_running_long_ago_may_be_queued_again(
    client, rick, week, django_capture_on_commit_callbacks
):
    """A worker died mid-run: queueing the week again completes it (README: the
    documented retry after a lost broker)."""
    DistributionRun.objects.create(
        week_start=week,
        started_at=timezone.now() - dt.timedelta(hours=3),
        status=DistributionRun.Status.RUNNING,
    )
    client.force_login(rick)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(RUN, {"week": week.isoformat(), "confirm": "yes"})
    assert DistributionRun.objects.get().status == DistributionRun.Status.COMPLETED


def test_late_money_of_a_distributed_week_may_be_given_by_a_second_run(
    client, rick, week, django_capture_on_commit_callbacks
):
    client.force_login(rick)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(RUN, {"week": week.isoformat(), "confirm": "yes"})
    cache.clear()  # the first queueing's guard has lapsed
    late = paid(donor("Springfield", "VT"), 1200, when=during(week, days=5))
    assert client.get(PREVIEW, {"week": week.isoformat()}).context["refusal"] == ""
    with django_capture_on_commit_callbacks(execute=True):
        client.post(RUN, {"week": week.isoformat(), "confirm": "yes"})
    late.refresh_from_db()
    assert late.distributed_week == week
    assert LogEntry.objects.count() == 2


@pytest.mark.parametrize("asked", ["", "garbage", "2026-11-10", "9999-12-27", "x" * 300])
def test_a_bad_week_posted_queues_nothing_and_says_why(client, rick, asked):
    client.force_login(rick)
    response = client.post(RUN, {"week": asked, "confirm": "yes"})
    assert response.status_code == 302
    assert any(m.startswith("Nothing was queued:") for m in messages_of(response))
    assert not DistributionRun.objects.exists() and not LogEntry.objects.exists()


def test_an_unended_week_is_refused(client, rick):
    client.force_login(rick)
    this_week = last_week() + dt.timedelta(weeks=1)
    response = client.post(RUN, {"week": this_week.isoformat(), "confirm": "yes"})
    assert any("has not ended yet" in m for m in messages_of(response))
    assert not DistributionRun.objects.exists()


def test_a_week_with_nothing_to_give_is_not_run(client, rick):
    client.force_login(rick)
    response = client.post(RUN, {"week": last_week().isoformat(), "confirm": "yes"})
    assert any("Nothing waits for the week" in m for m in messages_of(response))
    assert not DistributionRun.objects.exists()


def test_others_are_sent_to_log_in(client, alice, week):
    for user in (None, alice):
        if user:
            client.force_login(user)
        response = client.post(RUN, {"week": week.isoformat(), "confirm": "yes"})
        assert response.status_code == 302 and "login" in response["Location"]
    assert not DistributionRun.objects.exists()

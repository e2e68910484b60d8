"""The daily refresh: every feed fetched from a real server on 127.0.0.1, each charity's
outcome recorded, one bad feed never stopping the others."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from charities.models import CharityStatus
from needs import services
from needs.models import Need, NeedChange
from needs.tasks import refresh_needs as refresh_needs_task
from tests.factories import CharityFactory, NeedFactory
from tests.local_http import bytes_route, endless_route, json_route, slow_route

pytestmark = pytest.mark.django_db


def feed(*items):
    return {
        "needs": [{"category": c, "urgency_score": u, "funding_gap_cents": g} for c, u, g in items]
    }


@pytest.fixture
def fast_limits(settings):
    settings.NEEDS_FEED_TIMEOUT = 0.5
    settings.NEEDS_FEED_MAX_BYTES = 50_000


def test_one_bad_feed_never_stops_the_others(server, fast_limits):
    server.routes["/good-1.json"] = json_route(feed(("food", 80, 1_250_000)))
    server.routes["/500.json"] = bytes_route(b"down", status=500)
    server.routes["/garbage.json"] = bytes_route(b"{{{ not json")
    server.routes["/types.json"] = json_route(feed(("food", "high", 5)))
    server.routes["/slow.json"] = slow_route(server, 30)
    server.routes["/huge.json"] = endless_route(server)
    server.routes["/good-2.json"] = json_route(feed(("housing", 40, 99)))
    paths = [
        "/good-1.json", "/500.json", "/garbage.json", "/types.json", "/slow.json",
        "/huge.json", "/good-2.json",
    ]  # fmt: skip
    charities = [CharityFactory(needs_feed_url=server.url(p)) for p in paths]

    result = services.refresh_needs()

    assert len(result.feeds) == 7
    assert [f.ok for f in result.feeds] == [True, False, False, False, False, False, True]
    for charity in charities:
        charity.refresh_from_db()
        assert charity.needs_feed_checked_at is not None
    good_1, bad_500, garbage, types, slow, huge, good_2 = charities
    for good in (good_1, good_2):
        assert good.needs_feed_error == ""
        assert good.needs_feed_succeeded_at == good.needs_feed_checked_at
    assert "HTTP 500" in bad_500.needs_feed_error
    assert "not valid JSON" in garbage.needs_feed_error
    assert "whole number" in types.needs_feed_error
    assert "timed out" in slow.needs_feed_error
    assert "larger than" in huge.needs_feed_error
    for bad in (bad_500, garbage, types, slow, huge):
        assert bad.needs_feed_succeeded_at is None
        assert not bad.needs.exists()
    need = Need.objects.get(charity=good_1)
    assert (need.source, need.category, need.urgency_score, need.funding_gap_cents) == (
        "api", "food", 80, 1_250_000,
    )  # fmt: skip
    assert need.metadata["url"] == server.url("/good-1.json")
    assert dt.datetime.fromisoformat(need.metadata["fetched_at"]) == need.last_updated
    assert Need.objects.get(charity=good_2).funding_gap_cents == 99


def test_a_good_fetch_clears_the_last_error(server):
    server.routes["/feed.json"] = json_route(feed(("food", 10, 10)))
    charity = CharityFactory(
        needs_feed_url=server.url("/feed.json"), needs_feed_error="HTTP 500 yesterday"
    )
    services.refresh_needs()
    charity.refresh_from_db()
    assert charity.needs_feed_error == ""
    assert charity.needs_feed_succeeded_at is not None


def test_a_failed_fetch_keeps_the_needs_and_the_last_success(server):
    server.routes["/feed.json"] = json_route(feed(("food", 10, 10)))
    charity = CharityFactory(needs_feed_url=server.url("/feed.json"))
    services.refresh_needs()
    charity.refresh_from_db()
    succeeded_at = charity.needs_feed_succeeded_at

    server.routes["/feed.json"] = bytes_route(b"", status=503)
    services.refresh_needs()

    charity.refresh_from_db()
    assert charity.needs_feed_succeeded_at == succeeded_at
    assert charity.needs_feed_checked_at > succeeded_at
    assert "HTTP 503" in charity.needs_feed_error
    assert Need.objects.get(charity=charity).funding_gap_cents == 10


def test_a_changed_feed_value_is_kept_in_the_history(server):
    server.routes["/feed.json"] = json_route(feed(("food", 50, 1000)))
    charity = CharityFactory(needs_feed_url=server.url("/feed.json"))
    services.refresh_needs()
    server.routes["/feed.json"] = json_route(feed(("food", 90, 400)))
    services.refresh_needs()

    need = Need.objects.get(charity=charity)
    latest = need.changes.first()
    assert latest.source == "api"
    assert latest.changed_by is None
    assert (latest.old_urgency_score, latest.new_urgency_score) == (50, 90)
    assert (latest.old_funding_gap_cents, latest.new_funding_gap_cents) == (1000, 400)
    assert server.url("/feed.json") in latest.note


def test_the_same_values_again_refresh_the_date_but_record_no_change(server):
    server.routes["/feed.json"] = json_route(feed(("food", 50, 1000)))
    charity = CharityFactory(needs_feed_url=server.url("/feed.json"))
    services.refresh_needs()
    first = Need.objects.get(charity=charity).last_updated
    result = services.refresh_needs()

    need = Need.objects.get(charity=charity)
    assert need.last_updated > first
    assert need.changes.count() == 1  # the creation only
    assert result.feeds[0].unchanged == 1


def test_a_category_the_feed_no_longer_lists_is_closed_not_deleted(server):
    server.routes["/feed.json"] = json_route(feed(("food", 50, 1000), ("youth", 30, 300)))
    charity = CharityFactory(needs_feed_url=server.url("/feed.json"))
    services.refresh_needs()
    server.routes["/feed.json"] = json_route(feed(("food", 50, 1000)))
    result = services.refresh_needs()

    youth = Need.objects.get(charity=charity, category="youth")
    assert (youth.urgency_score, youth.funding_gap_cents) == (0, 0)
    assert youth.changes.first().old_funding_gap_cents == 300
    assert result.feeds[0].closed == 1


def test_feeds_never_touch_needs_entered_by_staff(server):
    charity = CharityFactory(needs_feed_url="")
    manual = NeedFactory(charity=charity, category="food", funding_gap_cents=777)
    charity.needs_feed_url = server.url("/feed.json")
    charity.save()
    server.routes["/feed.json"] = json_route(feed(("food", 10, 10)))
    services.refresh_needs()
    manual.refresh_from_db()
    assert manual.funding_gap_cents == 777
    assert Need.objects.filter(charity=charity).count() == 2


def test_rejected_charities_and_charities_without_a_feed_are_not_fetched(server):
    server.routes["/feed.json"] = json_route(feed(("food", 10, 10)))
    CharityFactory(
        needs_feed_url=server.url("/feed.json"),
        verification_status=CharityStatus.REJECTED,
        approved_at=None,
    )
    CharityFactory(needs_feed_url="")
    assert services.refresh_needs().feeds == []
    assert server.requests == []


def test_needs_are_counted_per_source_current_and_stale(settings):
    old = timezone.now() - dt.timedelta(days=settings.NEEDS_MAX_AGE_DAYS + 1)
    NeedFactory(source="manual")
    NeedFactory(source="manual", last_updated=old)
    NeedFactory(source="api", last_updated=old)
    counts = services.count_needs_by_source(now=timezone.now())
    assert counts == {
        "manual": {"current": 1, "stale": 1},
        "api": {"current": 0, "stale": 1},
        "calculated": {"current": 0, "stale": 0},
    }


def test_the_command_prints_counts_per_source(server, capsys):
    server.routes["/feed.json"] = json_route(feed(("food", 10, 10)))
    CharityFactory(needs_feed_url=server.url("/feed.json"))
    NeedFactory(source="manual")
    call_command("refresh_needs")
    out = capsys.readouterr().out
    assert "Feeds: 1 checked, 1 succeeded, 0 failed." in out
    assert "api needs: 1 new" in out
    assert "manual          1 current" in out
    assert "api             1 current" in out


def test_the_command_fails_when_a_feed_failed_after_writing_the_others(server):
    server.routes["/good.json"] = json_route(feed(("food", 10, 10)))
    good = CharityFactory(needs_feed_url=server.url("/good.json"))
    bad = CharityFactory(name="Broken Feed Pantry", needs_feed_url=server.url("/missing.json"))
    with pytest.raises(CommandError, match="1 of 2 feeds failed"):
        call_command("refresh_needs")
    assert good.needs.count() == 1
    bad.refresh_from_db()
    assert "HTTP 404" in bad.needs_feed_error


def test_the_daily_task_runs_the_same_refresh(server):
    server.routes["/feed.json"] = json_route(feed(("food", 10, 10)))
    charity = CharityFactory(needs_feed_url=server.url("/feed.json"))
    summary = refresh_needs_task.delay().get()
    assert refresh_needs_task.name == "needs.tasks.refresh_needs"
    assert summary["feeds_checked"] == 1
    assert summary["feeds_succeeded"] == 1
    assert summary["needs_by_source"]["api"] == {"current": 1, "stale": 0}
    assert charity.needs.get().source == "api"
    assert NeedChange.objects.filter(need__charity=charity).count() == 1


def test_a_feed_that_cannot_be_saved_is_recorded_and_the_others_go_on(server, monkeypatch):
    server.routes["/a.json"] = json_route(feed(("food", 10, 10)))
    server.routes["/b.json"] = json_route(feed(("food", 20, 20)))
    a = CharityFactory(needs_feed_url=server.url("/a.json"))
    b = CharityFactory(needs_feed_url=server.url("/b.json"))
    real_apply = services.apply_feed

    def failing_for_a(charity, needs, **kwargs):
        if charity.pk == a.pk:
            raise RuntimeError("disk full")
        return real_apply(charity, needs, **kwargs)

    monkeypatch.setattr(services, "apply_feed", failing_for_a)
    services.refresh_needs()
    a.refresh_from_db()
    assert "disk full" in a.needs_feed_error
    assert b.needs.get().urgency_score == 20

"""Needs in the charity portal: members add, update, confirm and close their charity's own
needs in dollars; every write is a NeedChange naming the member; a feed's needs are
read-only; the page and a once-per-report email say when a need goes stale.

Who may see what (the walk in tests/web/test_portal_access.py covers strangers): `member`
is an editor of `charity`; nobody else here reaches its pages.
"""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from needs.forms import parse_dollars
from needs.models import Need, NeedChange
from needs.services import remind_stale_needs
from tests.factories import CharityMemberFactory, NeedFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(db):
    return CharityMemberFactory(role="editor", user__email="erin@pantry.example")


@pytest.fixture
def charity(member):
    return member.charity


@pytest.fixture
def signed_in(client, member):
    client.force_login(member.user)
    return client


def _snapshot():
    return sorted(
        Need.objects.values_list(
            "pk", "category", "source", "urgency_score", "funding_gap_cents", "description",
            "last_updated",
        )
    ), NeedChange.objects.count()  # fmt: skip


@pytest.mark.parametrize(
    ("text", "cents"),
    [("12,500.00", 1_250_000), ("12500", 1_250_000), ("$12,500.5", 1_250_050),
     ("0.01", 1), ("0", 0), (" 1,234,567.89 ", 123_456_789)],
)  # fmt: skip
def test_dollars_become_exact_cents(text, cents):
    assert parse_dollars(text) == cents


@pytest.mark.parametrize(
    "text", ["12.345", "-5", "abc", "1e5", "", "1,23", "12,5000", "NaN", "1.", "inf"]
)
def test_anything_but_a_plain_amount_is_refused(text):
    with pytest.raises(ValidationError):
        parse_dollars(text)


def test_a_member_adds_a_need_in_dollars_and_the_change_names_them(signed_in, charity, member):
    response = signed_in.post(
        reverse("portal:need_save", args=[charity.pk]),
        {"add-category": "food", "add-urgency_score": "85", "add-funding_gap": "12,500.00",
         "add-description": "Holiday meals for 200 families"},
    )  # fmt: skip
    assert response.status_code == 302
    need = Need.objects.get(charity=charity)
    assert (need.source, need.urgency_score, need.funding_gap_cents) == ("manual", 85, 1_250_000)
    assert need.description == "Holiday meals for 200 families"
    change = NeedChange.objects.get(need=need)
    assert change.changed_by == member.user
    assert change.new_funding_gap_cents == 1_250_000

    page = signed_in.get(reverse("portal:needs", args=[charity.pk])).content.decode()
    assert "$12,500.00" in page and "critical (85/100)" in page
    assert "Holiday meals for 200 families" in page
    assert "1250000" not in page  # cents are shown nowhere


def test_a_member_updates_confirms_and_closes_with_a_change_each(signed_in, charity, member):
    long_ago = timezone.now() - dt.timedelta(days=10)
    need = NeedFactory(
        charity=charity, category="youth", urgency_score=40, funding_gap_cents=5000,
        last_updated=long_ago, gap_set_at=long_ago,
    )  # fmt: skip
    save = reverse("portal:need_save", args=[charity.pk])
    p = f"need-{need.pk}"
    response = signed_in.post(save, {"need_id": need.pk, f"{p}-category": "food",
                                     f"{p}-urgency_score": "60", f"{p}-funding_gap": "75.5",
                                     f"{p}-description": "Books"})  # fmt: skip
    assert response.status_code == 302
    need.refresh_from_db()
    assert (need.category, need.urgency_score, need.funding_gap_cents) == ("youth", 60, 7550)

    before_confirm = need.last_updated
    response = signed_in.post(reverse("portal:need_confirm", args=[charity.pk]),
                              {"need_id": need.pk})  # fmt: skip
    assert response.status_code == 302
    need.refresh_from_db()
    assert need.last_updated > before_confirm
    assert (need.urgency_score, need.funding_gap_cents) == (60, 7550)
    assert need.gap_set_at == before_confirm  # a confirm does not restart the gap

    response = signed_in.post(reverse("portal:need_close", args=[charity.pk]),
                              {"need_id": need.pk})  # fmt: skip
    assert response.status_code == 302
    need.refresh_from_db()
    assert (need.urgency_score, need.funding_gap_cents) == (0, 0)

    changes = list(NeedChange.objects.filter(need=need).order_by("changed_at", "id"))
    assert [c.note for c in changes] == ["updated in the portal", "confirmed still current",
                                         "closed"]  # fmt: skip
    assert all(c.changed_by == member.user for c in changes)
    assert (changes[1].old_funding_gap_cents, changes[1].new_funding_gap_cents) == (7550, 7550)


@pytest.mark.parametrize("gap", ["12.345", "-5", "abc", "1e5", ""])
def test_bad_input_is_a_form_error_and_nothing_is_written(signed_in, charity, gap):
    need = NeedFactory(charity=charity, category="food", urgency_score=40, funding_gap_cents=5000)
    before = _snapshot()
    save = reverse("portal:need_save", args=[charity.pk])
    response = signed_in.post(save, {"add-category": "youth", "add-urgency_score": "50",
                                     "add-funding_gap": gap})  # fmt: skip
    assert response.status_code == 400
    assert "funding_gap" in response.context["add_form"].errors
    p = f"need-{need.pk}"
    response = signed_in.post(save, {"need_id": need.pk, f"{p}-urgency_score": "101",
                                     f"{p}-funding_gap": gap})  # fmt: skip
    assert response.status_code == 400
    assert _snapshot() == before


def test_feed_needs_are_shown_read_only(signed_in, charity):
    feed = NeedFactory(charity=charity, category="food", source="api", funding_gap_cents=9900)
    page = signed_in.get(reverse("portal:needs", args=[charity.pk])).content.decode()
    assert "your needs feed (read-only)" in page and "$99.00" in page
    before = _snapshot()
    for name in ("need_confirm", "need_close"):
        url = reverse(f"portal:{name}", args=[charity.pk])
        assert signed_in.post(url, {"need_id": feed.pk}).status_code == 404
    p = f"need-{feed.pk}"
    response = signed_in.post(reverse("portal:need_save", args=[charity.pk]),
                              {"need_id": feed.pk, f"{p}-urgency_score": "1",
                               f"{p}-funding_gap": "1"})  # fmt: skip
    assert response.status_code == 404
    assert _snapshot() == before


def test_another_charitys_need_cannot_be_touched(signed_in, charity):
    theirs = NeedFactory(category="food")  # another charity's
    before = _snapshot()
    for name in ("need_confirm", "need_close"):
        url = reverse(f"portal:{name}", args=[charity.pk])
        assert signed_in.post(url, {"need_id": theirs.pk}).status_code == 404
        assert signed_in.post(url, {"need_id": "x"}).status_code == 404
    assert _snapshot() == before


def test_the_page_says_which_need_the_engine_uses(signed_in, charity):
    older = timezone.now() - dt.timedelta(days=2)
    NeedFactory(charity=charity, category="food", source="manual", last_updated=older)
    NeedFactory(charity=charity, category="food", source="api")
    page = signed_in.get(reverse("portal:needs", args=[charity.pk]))
    used = {row.need.source: row.used for row, _ in page.context["rows"]}
    assert used == {"manual": False, "api": True}
    assert "a newer report in this category is used" in page.content.decode()


def test_the_page_warns_a_week_before_and_says_stale_since(signed_in, charity, settings):
    settings.NEEDS_MAX_AGE_DAYS = 30
    now = timezone.now()
    NeedFactory(charity=charity, category="food", last_updated=now - dt.timedelta(days=10))
    soon = NeedFactory(charity=charity, category="youth",
                       last_updated=now - dt.timedelta(days=25))  # fmt: skip
    stale = NeedFactory(charity=charity, category="health",
                        last_updated=now - dt.timedelta(days=31))  # fmt: skip
    response = signed_in.get(reverse("portal:needs", args=[charity.pk]))
    states = {row.need.category: row.state for row, _ in response.context["rows"]}
    assert states == {"food": "current", "youth": "soon", "health": "stale"}
    page = response.content.decode()
    soon_date = timezone.localtime(soon.last_updated + dt.timedelta(days=30))
    stale_date = timezone.localtime(stale.last_updated + dt.timedelta(days=30))
    assert f"goes stale on {soon_date:%b} {soon_date.day}, {soon_date.year}" in page
    assert f"stale since {stale_date:%b} {stale_date.day}, {stale_date.year}" in page
    assert page.count("goes stale on") == 1


def test_the_reminder_is_sent_once_per_report(charity, member, mailoutbox, settings,
                                              django_capture_on_commit_callbacks):  # fmt: skip
    settings.NEEDS_MAX_AGE_DAYS = 30
    now = timezone.now()
    due = NeedFactory(charity=charity, category="food", last_updated=now - dt.timedelta(days=24))
    NeedFactory(charity=charity, category="youth", last_updated=now - dt.timedelta(days=10))
    NeedFactory(charity=charity, category="health", source="api",
                last_updated=now - dt.timedelta(days=24))  # fmt: skip
    NeedFactory(charity=charity, category="seniors", urgency_score=0, funding_gap_cents=0,
                last_updated=now - dt.timedelta(days=24))  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        assert remind_stale_needs(now=now) == 1
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["erin@pantry.example"]
    assert "Food" in mail.body and f"/portal/{charity.pk}/needs/" in mail.body
    due.refresh_from_db()
    assert due.stale_reminder_sent_at == now

    with django_capture_on_commit_callbacks(execute=True):
        assert remind_stale_needs(now=now + dt.timedelta(days=1)) == 0
    assert len(mailoutbox) == 1

    # A confirm is a new report: when it nears staleness again, one more reminder.
    from needs.services import confirm_need

    confirmed_at = now + dt.timedelta(days=2)
    confirm_need(due, changed_by=member.user, at=confirmed_at)
    due.refresh_from_db()
    assert due.stale_reminder_sent_at is None
    with django_capture_on_commit_callbacks(execute=True):
        assert remind_stale_needs(now=confirmed_at + dt.timedelta(days=10)) == 0
        assert remind_stale_needs(now=confirmed_at + dt.timedelta(days=24)) == 1
    assert len(mailoutbox) == 2


def test_the_overview_links_to_the_needs_page(signed_in, charity):
    page = signed_in.get(reverse("portal:overview", args=[charity.pk])).content.decode()
    assert reverse("portal:needs", args=[charity.pk]) in page

"""Manage from any email: the signed link (subscriptions.links) and the page it opens.

The token names one gift and nothing more; it is refused when altered, expired, or once
its gift is cancelled, and a refused link changes nothing. GET never changes anything;
every action is a CSRF-protected POST, through the same billing functions as the
dashboard, and each change is confirmed by email with a fresh link.
"""

import datetime as dt
import re

import pytest
from django.contrib.messages import get_messages
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.weeks import week_start_for
from subscriptions import links
from subscriptions.links import LinkRefused, make_token, manage_url, read_token
from subscriptions.models import Subscription
from subscriptions.selectors import long_date
from tests.factories import ContributionFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver(/manage/[^/\s]+/)")


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run what waits for the commit (the receipts) as the test's transaction cannot."""
    return django_capture_on_commit_callbacks


@pytest.fixture
def gift(alice):
    return SubscriptionFactory(
        user=alice, amount_cents=1000, stripe_subscription_id="demo_alice", stripe_status=""
    )


def page_of(sub) -> str:
    return reverse("subscriptions:manage", args=[make_token(sub)])


def action_of(sub, action: str) -> str:
    return reverse(f"subscriptions:manage_{action}", args=[make_token(sub)])


def reload(sub) -> Subscription:
    return Subscription.objects.get(pk=sub.pk)


def state(sub) -> tuple:
    sub = reload(sub)
    return sub.status, sub.amount_cents, sub.covers_fees, sub.paused_until


def today() -> dt.date:
    return timezone.localdate()


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def signed_days_ago(monkeypatch, sub, days: float) -> str:
    """A token whose timestamp is `days` old (Django's signer reads time.time())."""
    then = signing.time.time() - days * 86400
    monkeypatch.setattr(signing.time, "time", lambda: then)
    token = make_token(sub)
    monkeypatch.undo()
    return token


# --- the token ------------------------------------------------------------------------


def test_a_token_names_its_own_gift(gift, bob):
    other = SubscriptionFactory(user=bob)
    assert read_token(make_token(gift)) == gift
    assert read_token(make_token(other)) == other
    assert make_token(gift) != make_token(other)


def test_the_token_does_not_show_the_stripe_id(gift):
    payload = signing.b64_decode(make_token(gift).split(":")[0].encode()).decode()
    assert "demo_alice" not in payload


@pytest.mark.parametrize(
    "spoil",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature
        lambda t: ("e" if t[0] != "e" else "f") + t[1:],  # payload
        lambda t: t.split(":")[0],  # no signature
        lambda t: "",
        lambda t: "not-a-token",
        lambda t: t * 10,  # far too long
    ],
)
def test_an_altered_token_is_refused(gift, spoil):
    with pytest.raises(LinkRefused) as refused:
        read_token(spoil(make_token(gift)))
    assert (refused.value.reason, refused.value.status) == ("tampered", 400)


def test_a_token_signed_for_something_else_is_refused(gift):
    other_use = signing.dumps({"s": gift.pk, "v": "x"}, salt="hometown.other-use")
    not_a_link = signing.dumps([gift.pk], salt=links.SALT)
    for token in (other_use, not_a_link):
        with pytest.raises(LinkRefused) as refused:
            read_token(token)
        assert refused.value.reason == "tampered"


def test_a_token_expires_after_the_setting(monkeypatch, settings, gift):
    settings.MANAGE_LINK_MAX_AGE_DAYS = 60
    assert read_token(signed_days_ago(monkeypatch, gift, 59.9)) == gift
    with pytest.raises(LinkRefused) as refused:
        read_token(signed_days_ago(monkeypatch, gift, 60.1))
    assert (refused.value.reason, refused.value.status) == ("expired", 410)
    settings.MANAGE_LINK_MAX_AGE_DAYS = 90
    assert read_token(signed_days_ago(monkeypatch, gift, 60.1)) == gift


def test_a_cancelled_gift_refuses_its_links(gift):
    token = make_token(gift)
    gift.status = "cancelled"
    gift.save()
    with pytest.raises(LinkRefused) as refused:
        read_token(token)
    assert (refused.value.reason, refused.value.status) == ("cancelled", 410)


def test_a_row_recreated_under_the_same_id_refuses_older_links(gift):
    token = make_token(gift)
    Subscription.objects.filter(pk=gift.pk).update(stripe_subscription_id="demo_someone_else")
    with pytest.raises(LinkRefused) as refused:
        read_token(token)
    assert refused.value.reason == "gone"
    Subscription.objects.filter(pk=gift.pk).delete()
    with pytest.raises(LinkRefused):
        read_token(token)


# --- the page -------------------------------------------------------------------------


def test_the_page_shows_the_gift_and_signs_nobody_in(client, gift):
    response = client.get(page_of(gift))
    assert response.status_code == 200
    html = response.content.decode()
    assert "$10.00" in html and "Alice" in html
    assert "alice@example.org" not in html
    assert "_auth_user_id" not in client.session
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["X-Robots-Tag"].startswith("noindex")
    # The token never leaves the site in a Referer (the site-wide policy).
    assert response["Referrer-Policy"] == "same-origin"
    # Every form posts with a CSRF token.
    assert html.count('method="post"') == html.count('name="csrfmiddlewaretoken"') >= 4


def test_get_changes_nothing_whatever_is_opened(client, gift, on_commit):
    before = state(gift)
    for action in ("", "pause", "resume", "skip", "pause_until", "amount", "cancel"):
        url = page_of(gift) if not action else action_of(gift, action)
        with on_commit(execute=True):
            response = client.get(url)
        assert response.status_code in (200, 405), action
    assert state(gift) == before
    assert mail.outbox == []


def test_the_page_names_the_next_payment_and_what_skipping_does(client, gift):
    this_week = week_start_for(today())
    html = client.get(page_of(gift)).content.decode()
    assert f"Next payment: for the week of {long_date(this_week)}." in html
    # The week already paid: the next one is the week after.
    ContributionFactory(subscription=gift)
    html = client.get(page_of(gift)).content.decode()
    assert f"for the week of {long_date(this_week + dt.timedelta(days=7))}" in html


@pytest.mark.parametrize(
    ("make_bad", "status", "words"),
    [
        (lambda sub, mp: make_token(sub)[:-3] + "!!!", 400, "This link does not work"),
        (lambda sub, mp: signed_days_ago(mp, sub, 61), 410, "This link has expired"),
    ],
)
def test_a_refused_link_gets_a_plain_page_and_changes_nothing(
    client, monkeypatch, on_commit, gift, make_bad, status, words
):
    token = make_bad(gift, monkeypatch)
    before = state(gift)
    response = client.get(reverse("subscriptions:manage", args=[token]))
    assert response.status_code == status
    assert words in response.content.decode()
    assert "Sign in" in response.content.decode()
    for action, data in [
        ("pause", {}),
        ("skip", {}),
        ("pause_until", {"until": (today() + dt.timedelta(days=30)).isoformat()}),
        ("amount", {"amount": "25"}),
        ("cancel", {}),
    ]:
        url = reverse(f"subscriptions:manage_{action}", args=[token])
        with on_commit(execute=True):
            assert client.post(url, data).status_code == status, action
    assert state(gift) == before
    assert mail.outbox == []


def test_a_post_without_a_csrf_token_is_refused(gift):
    strict = Client(enforce_csrf_checks=True)
    for action in ("pause", "skip", "cancel"):
        assert strict.post(action_of(gift, action)).status_code == 403
    assert state(gift) == ("active", 1000, False, None)


# --- the actions (demo billing: local) -------------------------------------------------


def test_pause_and_resume_from_the_link(client, gift):
    response = client.post(action_of(gift, "pause"))
    assert response.status_code == 302 and response["Location"].startswith("/manage/")
    assert state(gift)[0] == "paused"
    page = client.get(response["Location"]).content.decode()
    assert "Your weekly gift is paused." in page and "Resume now" in page
    client.post(action_of(gift, "resume"))
    assert state(gift)[0] == "active"


def test_skip_next_week_pauses_until_the_monday_after_the_next_payment(client, gift):
    this_week = week_start_for(today())
    response = client.post(action_of(gift, "skip"))
    sub = reload(gift)
    assert (sub.status, sub.paused_until) == ("paused", this_week + dt.timedelta(days=7))
    assert "Next week's payment is skipped" in messages_of(response)[0]
    page = client.get(response["Location"]).content.decode()
    assert f"Paused until {long_date(sub.paused_until)}" in page


def test_pause_until_a_date(client, gift):
    until = today() + dt.timedelta(days=40)
    response = client.post(action_of(gift, "pause_until"), {"until": until.isoformat()})
    assert response.status_code == 302
    assert state(gift) == ("paused", 1000, False, until)
    # A new date replaces it; "pause with no end date" drops it.
    later = until + dt.timedelta(days=10)
    client.post(action_of(gift, "pause_until"), {"until": later.isoformat()})
    assert reload(gift).paused_until == later
    client.post(action_of(gift, "pause"))
    assert state(gift) == ("paused", 1000, False, None)


@pytest.mark.parametrize(
    ("until", "error"),
    [
        (lambda: today().isoformat(), "Choose a date after today."),
        (lambda: (today() - dt.timedelta(days=3)).isoformat(), "Choose a date after today."),
        (lambda: (today() + dt.timedelta(days=366)).isoformat(), "Choose a date within a year"),
        (lambda: "next tuesday", "Enter a date"),
        (lambda: "2027-02-30", "Enter a date"),
        (lambda: "99999-01-01", "Enter a date"),
        (lambda: "\x00", "Enter a date"),
        (lambda: "", "Choose the date"),
    ],
)
def test_a_bad_date_is_a_form_error_and_changes_nothing(client, on_commit, gift, until, error):
    with on_commit(execute=True):
        response = client.post(action_of(gift, "pause_until"), {"until": until()})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert state(gift) == ("active", 1000, False, None)
    assert mail.outbox == []


def test_change_the_amount(client, gift):
    response = client.post(action_of(gift, "amount"), {"amount": "25.50"})
    assert response.status_code == 302
    assert state(gift)[1] == 2550
    assert "$25.50" in messages_of(response)[0]


@pytest.mark.parametrize("amount", ["0", "0.99", "5000.01", "ten", "", "1e3", "-5"])
def test_a_bad_amount_is_a_form_error_and_changes_nothing(client, gift, amount):
    response = client.post(action_of(gift, "amount"), {"amount": amount})
    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    assert state(gift) == ("active", 1000, False, None)


def test_covering_the_fees_asks_to_confirm_first(client, gift):
    url = action_of(gift, "amount")  # one token: a second's difference makes another
    response = client.post(url, {"amount": "10", "covers_fees": "on"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "$10.00 + $0.61 fees = $10.61 a week" in html
    assert f'action="{url}"' in html
    assert state(gift) == ("active", 1000, False, None)
    client.post(url, {"amount": "10", "covers_fees": "on", "confirmed_charge": "1061"})
    sub = reload(gift)
    assert (sub.amount_cents, sub.covers_fees, sub.gift_cents) == (1061, True, 1000)


def test_cancel_asks_first_then_the_link_is_refused(client, gift):
    token = make_token(gift)
    confirm = client.get(reverse("subscriptions:manage_cancel", args=[token]))
    assert confirm.status_code == 200 and "Yes, cancel my gift" in confirm.content.decode()
    assert state(gift)[0] == "active"
    response = client.post(reverse("subscriptions:manage_cancel", args=[token]))
    assert state(gift)[0] == "cancelled"
    after = client.get(response["Location"])
    assert after.status_code == 410
    assert "This gift is cancelled" in after.content.decode()
    assert "Your weekly gift is cancelled." in after.content.decode()
    again = client.post(reverse("subscriptions:manage_pause", args=[token]))
    assert again.status_code == 410
    assert state(gift)[0] == "cancelled"


# --- the receipts of changes -----------------------------------------------------------


def test_each_change_is_confirmed_by_email_with_a_fresh_link(client, gift, on_commit):
    with on_commit(execute=True):
        client.post(action_of(gift, "skip"))
    [email] = mail.outbox
    assert email.to == ["alice@example.org"]
    assert "skips its payment" in email.body
    assert "with the manage link from one of our emails" in email.body
    assert "If you did not make this change" in email.body
    link = LINK.search(email.body).group(1)
    assert client.get(link).status_code == 200
    assert read_token(link.split("/")[2]) == gift


def test_the_cancel_receipt_offers_to_start_again_instead_of_a_link(client, gift, on_commit):
    with on_commit(execute=True):
        client.post(action_of(gift, "cancel"))
    [email] = mail.outbox
    assert email.subject == "Your weekly gift is cancelled"
    assert LINK.search(email.body) is None
    assert "http://testserver/subscribe/" in email.body


def test_a_dashboard_change_is_confirmed_too_and_says_where(alice_client, gift, on_commit):
    with on_commit(execute=True):
        alice_client.post(f"/subscriptions/{gift.pk}/pause/")
    [email] = mail.outbox
    assert "on your dashboard, signed in" in email.body
    assert LINK.search(email.body)


def test_a_refused_action_sends_no_receipt(client, gift, on_commit):
    with on_commit(execute=True):
        client.post(action_of(gift, "resume"))  # not paused: refused with a message
    assert mail.outbox == []
    assert state(gift)[0] == "active"


def test_the_demo_subscribe_receipt_carries_a_working_link(alice_client, alice, on_commit):
    with on_commit(execute=True):
        alice_client.post("/subscribe/", {"amount": "12"})
    sub = Subscription.objects.get(user=alice)
    [email] = mail.outbox
    assert email.subject == "Your weekly gift of $12.00 has started"
    link = LINK.search(email.body).group(1)
    assert read_token(link.split("/")[2]) == sub
    assert Client().get(link).status_code == 200


def test_manage_url_is_absolute_for_emails(gift):
    assert manage_url(gift).startswith("http://testserver/manage/")

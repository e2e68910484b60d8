"""Generated input for the manage link (subscriptions.links, /manage/<token>/): any token
text, any date typed into "pause until", any amount. Never a 500 (the test client
re-raises what a view lets through), never a change from a token that is not the gift's,
and a date is only ever accepted after today and within a year.

Examples: 60 tokens, 80 dates, 60 amounts in CI (ten times as many when thorough).
"""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from subscriptions.links import make_token
from subscriptions.models import Subscription
from tests.factories import SubscriptionFactory
from tests.trust.budget import examples

pytestmark = pytest.mark.django_db

ACTIONS = ["manage", "manage_pause", "manage_skip", "manage_pause_until", "manage_amount",
           "manage_cancel", "manage_resume"]  # fmt: skip


def _gift(user) -> Subscription:
    return Subscription.objects.filter(user=user).first() or SubscriptionFactory(
        user=user, stripe_subscription_id=f"demo_gen_{user.pk}", stripe_status=""
    )


def _rows() -> list:
    return sorted(Subscription.objects.values_list("pk", "status", "amount_cents", "paused_until"))


def _mutations(token: str):
    return st.one_of(
        st.text(max_size=200),
        st.integers(min_value=0, max_value=len(token) - 1).flatmap(
            lambda i: st.characters(codec="ascii", categories=["L", "N"]).map(
                lambda c: token[:i] + c + token[i + 1 :]
            )
        ),
        st.integers(min_value=1, max_value=len(token) - 1).map(lambda n: token[:n]),
        st.just(token + "A"),
    )


@examples(60)
@given(data=st.data(), action=st.sampled_from(ACTIONS))
def test_a_token_that_is_not_the_gifts_changes_nothing(client, alice, data, action):
    token = make_token(_gift(alice))
    candidate = data.draw(_mutations(token))
    candidate = candidate.replace("/", "_") or "x"  # a path segment
    before = _rows()
    url = reverse(f"subscriptions:{action}", args=[candidate])
    method = client.get if action == "manage" else client.post
    response = method(url, {"until": "2099-01-01", "amount": "20"})
    if candidate == token:
        return
    assert response.status_code in (400, 404, 410), (candidate, response.status_code)
    assert _rows() == before


date_like = st.one_of(
    # Around today, where the bounds are (read when drawn, so a run at midnight agrees).
    st.integers(min_value=-3, max_value=370).map(
        lambda n: (timezone.localdate() + dt.timedelta(days=n)).isoformat()
    ),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1)).map(str),
    st.dates().map(lambda d: d.strftime("%m/%d/%Y")),
    st.sampled_from(
        ["", " ", "0", "2027-02-30", "2027-13-01", "99999-01-01", "tomorrow", "\x00",
         "2027-01-01T00:00", "1/1/27", "Jan 5 2027", "9" * 40,
         "\uff12\uff10\uff12\uff17-\uff10\uff11-\uff10\uff15"]
    ),
    st.text(max_size=30),
)  # fmt: skip


@examples(80)
@given(until=date_like)
def test_pause_until_accepts_only_a_date_after_today_within_a_year(client, alice, until):
    gift = _gift(alice)
    Subscription.objects.filter(pk=gift.pk).update(status="active", paused_until=None)
    response = client.post(
        reverse("subscriptions:manage_pause_until", args=[make_token(gift)]), {"until": until}
    )
    gift.refresh_from_db()
    today = timezone.localdate()
    if response.status_code == 302:
        assert gift.status == "paused"
        assert today < gift.paused_until <= today + dt.timedelta(days=365)
    else:
        assert response.status_code == 400
        assert b"errorlist" in response.content
        assert (gift.status, gift.paused_until) == ("active", None)


@examples(60)
@given(
    amount=st.one_of(
        st.text(max_size=30),
        st.sampled_from(["0", "1", "5000", "5000.01", "1e3", "-5", "10.999", "\x00", "9" * 30]),
    ),
    covers=st.sampled_from(["", "on"]),
)
def test_the_amount_on_the_manage_page_is_checked_like_the_dashboards(
    client, alice, amount, covers
):
    gift = _gift(alice)
    before = _rows()
    response = client.post(
        reverse("subscriptions:manage_amount", args=[make_token(gift)]),
        {"amount": amount, "covers_fees": covers},
    )
    assert response.status_code in (200, 302, 400)
    if response.status_code != 302:  # a form error, or the fee confirm step
        assert _rows() == before
    gift.refresh_from_db()
    assert 100 <= gift.amount_cents <= 500_000

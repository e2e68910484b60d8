"""Privacy of the donor's pages.

- Every URL pattern that takes an object id is listed in ID_ROUTES, with how another
  donor's object is made and what the answer must be; a new id route that is not listed
  fails test_every_id_route_is_covered, so nobody adds one without a privacy check.
- Every URL pattern that takes a text parameter is listed too: a signed token route
  (TOKEN_ROUTES: the manage link, whose token is the credential) or a public one
  (PUBLIC_TEXT_ROUTES); a new one fails test_every_text_route_is_covered. A token route
  refuses a token that is not ours and changes nothing, and shows only the gift its
  token names.
- Anonymous visitors are sent to log in; every form posts a CSRF token and a post without
  one is refused; user-supplied text is escaped everywhere it is shown.
"""

import datetime as dt

import pytest
from django.core import signing
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from charities.models import CharityStatus
from subscriptions.links import make_token
from tests.factories import (
    CharityFactory,
    DistributionFactory,
    ReportFactory,
    SubscriptionFactory,
    UserFactory,
    make_giving_history,
)

pytestmark = pytest.mark.django_db


def _walk(resolver, namespace=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            yield from _walk(entry, f"{namespace}{ns}:" if ns else namespace)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", entry


def id_routes() -> set[str]:
    """Names of the site's own URL patterns with an integer parameter (admin excluded:
    it is staff-only and guarded by Django's permissions; the charity portal excluded:
    tests/web/test_portal_access.py walks every one of its URLs the same way)."""
    names = set()
    for name, pattern in _walk(get_resolver()):
        if name.startswith(("admin:", "portal:")):
            continue
        converters = getattr(pattern.pattern, "converters", {})
        if any(type(c).__name__ == "IntConverter" for c in converters.values()):
            names.add(name)
    return names


def _bob_subscription(bob):
    return SubscriptionFactory(user=bob).pk


# name -> (HTTP method, make bob's object id, status alice must get, POST data)
ID_ROUTES = {
    "subscriptions:pause": ("post", _bob_subscription, 404, {}),
    "subscriptions:resume": ("post", _bob_subscription, 404, {}),
    "subscriptions:cancel": ("post", _bob_subscription, 404, {}),
    "subscriptions:change_amount": ("post", _bob_subscription, 404, {"amount": "20"}),
    "subscriptions:skip": ("post", _bob_subscription, 404, {}),
    "subscriptions:pause_until": ("post", _bob_subscription, 404, {"until": "2099-01-05"}),
    "reports:detail": ("get", lambda bob: ReportFactory(user=bob).pk, 404, {}),
    # Public by design: an approved charity is for everyone; an unapproved one for no one.
    "charities:detail": (
        "get",
        lambda bob: CharityFactory(verification_status=CharityStatus.PENDING, approved_at=None).pk,
        404,
        {},
    ),
    # Staff only: a donor is sent to log in (as to the admin), whatever the charity.
    "payouts:statement": ("get", lambda bob: CharityFactory().pk, 302, {}),
}
# Integer parameters that are not object ids: the page only ever reads the signed-in
# donor's own rows (test_the_statement_shows_only_my_money checks it).
NOT_OBJECT_IDS = {"reports:statement"}


def test_every_id_route_is_covered():
    assert id_routes() == set(ID_ROUTES) | NOT_OBJECT_IDS


@pytest.mark.parametrize("name", sorted(ID_ROUTES))
def test_another_donors_object_id_gives_404(client, alice, bob, name):
    method, make, expected, data = ID_ROUTES[name]
    pk = make(bob)
    client.force_login(alice)
    response = getattr(client, method)(reverse(name, args=[pk]), data)
    assert response.status_code == expected


def test_another_donors_subscription_is_left_unchanged(client, alice, bob):
    sub = SubscriptionFactory(user=bob, amount_cents=1000)
    client.force_login(alice)
    for name in ("subscriptions:pause", "subscriptions:skip", "subscriptions:cancel"):
        client.post(reverse(name, args=[sub.pk]))
    client.post(reverse("subscriptions:change_amount", args=[sub.pk]), {"amount": "99"})
    until = (timezone.localdate() + dt.timedelta(days=20)).isoformat()
    client.post(reverse("subscriptions:pause_until", args=[sub.pk]), {"until": until})
    sub.refresh_from_db()
    assert (sub.status, sub.amount_cents, sub.paused_until) == ("active", 1000, None)


# --- routes with a text parameter ------------------------------------------------------


def text_routes() -> set[str]:
    """Names of the site's own URL patterns with a parameter that is not an integer
    (admin and portal excluded, as for id_routes)."""
    names = set()
    for name, pattern in _walk(get_resolver()):
        if name.startswith(("admin:", "portal:")):
            continue
        converters = getattr(pattern.pattern, "converters", {})
        if any(type(c).__name__ != "IntConverter" for c in converters.values()):
            names.add(name)
    return names


# The manage link (subscriptions.links): the signed token is the only credential, so
# these answer anyone holding it, signed in or not, and nobody else.
# name -> (HTTP method, POST data)
TOKEN_ROUTES = {
    "subscriptions:manage": ("get", {}),
    "subscriptions:manage_pause": ("post", {}),
    "subscriptions:manage_resume": ("post", {}),
    "subscriptions:manage_skip": ("post", {}),
    "subscriptions:manage_pause_until": ("post", {"until": "2099-01-05"}),
    "subscriptions:manage_amount": ("post", {"amount": "20"}),
    "subscriptions:manage_cancel": ("post", {}),
}
# Public by design: a week of the public ledger, named by its Monday.
PUBLIC_TEXT_ROUTES = {
    "web:transparency_week",
    "web:transparency_json",
    "web:transparency_needs_csv",
    "web:transparency_rows",
}


def test_every_text_route_is_covered():
    assert text_routes() == set(TOKEN_ROUTES) | PUBLIC_TEXT_ROUTES


def _not_ours(token: str) -> list[str]:
    """Tokens a visitor could try: altered, cut short, another salt's, garbage."""
    payload, rest = token.split(":", 1)
    flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    return [
        f"{flipped}:{rest}",
        token[:-2],
        signing.dumps({"s": 1, "v": "0" * 16}, salt="another.salt"),
        "1",
        "x" * 600,
    ]


@pytest.mark.parametrize("name", sorted(TOKEN_ROUTES))
def test_a_token_route_refuses_a_token_that_is_not_ours_and_changes_nothing(client, alice, name):
    sub = SubscriptionFactory(user=alice, amount_cents=1111)
    method, data = TOKEN_ROUTES[name]
    for token in _not_ours(make_token(sub)):
        response = getattr(client, method)(reverse(name, args=[token]), data)
        assert response.status_code == 400, (name, token)
        assert "11.11" not in response.content.decode()
    sub.refresh_from_db()
    assert (sub.status, sub.amount_cents, sub.paused_until) == ("active", 1111, None)


def test_a_token_shows_its_own_gift_and_nothing_else(client, alice, bob):
    mine = SubscriptionFactory(user=alice, amount_cents=1111)
    SubscriptionFactory(user=alice, amount_cents=3333)  # alice's other gift
    SubscriptionFactory(user=bob, amount_cents=2222)
    make_giving_history(alice, weeks=2, charities=1, amount_cents=4444)
    client.force_login(bob)  # whoever holds the link, signed in as anyone
    html = client.get(reverse("subscriptions:manage", args=[make_token(mine)])).content.decode()
    assert "$11.11" in html
    for other in ("33.33", "22.22", "44.44", "alice@example.org", "bob@example.org"):
        assert other not in html


def test_the_statement_shows_only_my_money(client, alice, bob):
    make_giving_history(bob, weeks=2, charities=1)
    client.force_login(alice)
    response = client.get(reverse("reports:statement", args=[2026]))
    assert response.context["rows"] == []


def test_my_pages_show_none_of_another_donors_giving(client, alice, bob):
    make_giving_history(alice, weeks=1, charities=1, amount_cents=1111)
    _, bobs = make_giving_history(bob, weeks=2, charities=1, amount_cents=2222)
    client.force_login(alice)
    for url in ("/dashboard/", "/reports/", "/dashboard/history.csv"):
        response = client.get(url)
        body = (
            b"".join(response.streaming_content) if response.streaming else response.content
        ).decode()
        assert "22.22" not in body and bobs[0].name not in body, url


DONOR_GETS = [
    "/dashboard/",
    "/dashboard/history.csv",
    "/dashboard/statement/2026/",
    "/reports/",
    "/reports/1/",
    "/accounts/profile/",
    "/accounts/profile/zip/?zip=05401",
    "/subscribe/",
]
DONOR_POSTS = [
    "/subscriptions/1/pause/",
    "/subscriptions/1/resume/",
    "/subscriptions/1/cancel/",
    "/subscriptions/1/amount/",
    "/subscriptions/1/skip/",
    "/subscriptions/1/pause-until/",
    "/billing/portal/",
]


@pytest.mark.parametrize("url", DONOR_GETS)
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", DONOR_POSTS)
def test_anonymous_posts_change_nothing_and_ask_to_log_in(client, url):
    sub = SubscriptionFactory(pk=1, amount_cents=1000)
    response = client.post(url, {"amount": "20"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    sub.refresh_from_db()
    assert (sub.status, sub.amount_cents) == ("active", 1000)


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/accounts/profile/", {"name": "X", "zip_code": "05401"}),
        ("/subscribe/", {"amount": "10"}),
        ("/subscriptions/{pk}/pause/", {}),
        ("/subscriptions/{pk}/amount/", {"amount": "20"}),
        ("/accounts/logout/", {}),
    ],
)
def test_a_post_without_a_csrf_token_is_refused(alice, url, data):
    sub = SubscriptionFactory(user=alice)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(url.format(pk=sub.pk), data)
    assert response.status_code == 403


def test_every_form_on_the_donor_pages_carries_a_csrf_token(client, alice):
    SubscriptionFactory(user=alice, status="active")
    SubscriptionFactory(user=alice, status="paused")
    client.force_login(alice)
    for url in (
        "/dashboard/",
        "/accounts/profile/",
        "/subscribe/",
        "/accounts/email/",
        "/accounts/password/change/",
    ):
        html = client.get(url).content.decode()
        posts = html.count('method="post"')
        assert posts > 0, url
        assert html.count('name="csrfmiddlewaretoken"') >= posts, url


PAYLOAD = "<script>alert('xss')</script>"
ESCAPED = "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;"


def test_user_supplied_text_is_escaped_everywhere(client):
    donor = UserFactory(name=PAYLOAD)
    charity = CharityFactory(
        name=f"Pantry {PAYLOAD}", description=f"We feed {PAYLOAD}", ein="123456789"
    )
    sub = SubscriptionFactory(user=donor)
    DistributionFactory(
        subscription=sub,
        charity=charity,
        reason=f"Because {PAYLOAD}",
        distribution_date=dt.date(2026, 11, 23),
    )
    report = ReportFactory(
        user=donor,
        distribution_breakdown=[
            {
                "charity_id": charity.pk,
                "charity_name": charity.name,
                "amount_cents": 500,
                "reason": f"Because {PAYLOAD}",
            }
        ],
    )
    client.force_login(donor)
    urls = [
        "/",
        "/charities/",
        f"/charities/{charity.pk}/",
        "/charities/map/",
        "/dashboard/",
        f"/reports/{report.pk}/",
        "/reports/",
        "/dashboard/statement/2026/",
        "/accounts/profile/",
    ]
    for url in urls:
        html = client.get(url).content.decode()
        assert PAYLOAD not in html, url
    assert ESCAPED in client.get(f"/charities/{charity.pk}/").content.decode()
    assert ESCAPED in client.get("/dashboard/").content.decode()
    assert ESCAPED in client.get(f"/reports/{report.pk}/").content.decode()
    assert ESCAPED in client.get("/dashboard/statement/2026/").content.decode()


def test_the_pages_send_a_strict_content_security_policy(client):
    response = client.get("/charities/map/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy

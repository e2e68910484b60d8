"""Privacy of the donor's pages.

- Every URL pattern that takes an object id is listed in ID_ROUTES, with how another
  donor's object is made and what the answer must be; a new id route that is not listed
  fails test_every_id_route_is_covered, so nobody adds one without a privacy check.
- Anonymous visitors are sent to log in; every form posts a CSRF token and a post without
  one is refused; user-supplied text is escaped everywhere it is shown.
"""

import datetime as dt

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from charities.models import CharityStatus
from tests.factories import (
    CharityFactory,
    CharityMemberFactory,
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
    it is staff-only and guarded by Django's permissions)."""
    names = set()
    for name, pattern in _walk(get_resolver()):
        if name.startswith("admin:"):
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
    # Members only (tests/web/test_portal_access.py walks every portal URL).
    "portal:overview": ("get", lambda bob: CharityMemberFactory(user=bob).charity_id, 404, {}),
    "portal:profile": (
        "post",
        lambda bob: CharityMemberFactory(user=bob).charity_id,
        404,
        {"gift_line": "x"},
    ),
    "portal:members": ("get", lambda bob: CharityMemberFactory(user=bob).charity_id, 404, {}),
    "portal:member_invite": (
        "post",
        lambda bob: CharityMemberFactory(user=bob).charity_id,
        404,
        {"email": "x@example.org"},
    ),
    "portal:member_role": (
        "post",
        lambda bob: CharityMemberFactory(user=bob).charity_id,
        404,
        {"member": "1", "role": "owner"},
    ),
    "portal:member_remove": (
        "post",
        lambda bob: CharityMemberFactory(user=bob).charity_id,
        404,
        {"member": "1"},
    ),
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
    for name in ("subscriptions:pause", "subscriptions:cancel"):
        client.post(reverse(name, args=[sub.pk]))
    client.post(reverse("subscriptions:change_amount", args=[sub.pk]), {"amount": "99"})
    sub.refresh_from_db()
    assert (sub.status, sub.amount_cents) == ("active", 1000)


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

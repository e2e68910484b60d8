"""The charity portal is for a charity's members only (charities.portal).

Every URL of the `portal` namespace that takes a charity id is walked: an anonymous
visitor is sent to log in, a signed-in stranger (and a member of another charity) gets
404 for every method, whatever the id (another charity's, one that does not exist), and a
member gets the page. A new portal route is walked without being listed; one that takes
more than the charity id must be listed in EXTRA_ARGS.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.factories import CharityFactory, CharityMemberFactory, UserFactory

pytestmark = pytest.mark.django_db

# route name -> extra kwargs beyond charity_id (none yet)
EXTRA_ARGS: dict[str, dict] = {}


def portal_routes() -> list[str]:
    def walk(resolver, namespace=""):
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                ns = entry.namespace or ""
                yield from walk(entry, f"{namespace}{ns}:" if ns else namespace)
            elif isinstance(entry, URLPattern):
                yield f"{namespace}{entry.name}", entry

    return sorted(
        name
        for name, pattern in walk(get_resolver())
        if name.startswith("portal:") and "charity_id" in pattern.pattern.converters
    )


def url(name, charity_id):
    return reverse(name, kwargs={"charity_id": charity_id, **EXTRA_ARGS.get(name, {})})


def test_the_walk_finds_the_portal():
    assert "portal:overview" in portal_routes()


@pytest.fixture
def member(db):
    return CharityMemberFactory(role="editor")


@pytest.mark.parametrize("name", portal_routes())
def test_anonymous_visitors_are_sent_to_log_in(client, member, name):
    response = client.get(url(name, member.charity_id))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("name", portal_routes())
@pytest.mark.parametrize("method", ["get", "post"])
def test_anyone_but_a_member_gets_404_for_every_method(client, member, name, method):
    other_members_charity = CharityMemberFactory(role="owner")
    client.force_login(other_members_charity.user)  # a member, but of another charity
    for charity_id in (member.charity_id, 999_999):
        assert getattr(client, method)(url(name, charity_id)).status_code == 404
    stranger = UserFactory()
    client.force_login(stranger)
    assert getattr(client, method)(url(name, member.charity_id)).status_code == 404


@pytest.mark.parametrize("name", portal_routes())
def test_a_member_gets_the_page(client, member, name):
    client.force_login(member.user)
    response = client.get(url(name, member.charity_id))
    assert response.status_code in (200, 405)  # 405: a route that only takes POST
    assert response.status_code != 404


def test_the_portal_lists_only_my_charities(client):
    mine = CharityMemberFactory(role="editor", charity=CharityFactory(name="Mine Food Shelf"))
    CharityMemberFactory(charity=CharityFactory(name="Theirs Library"))
    client.force_login(mine.user)
    page = client.get(reverse("portal:home")).content.decode()
    assert "Mine Food Shelf" in page and "Theirs Library" not in page
    assert reverse("portal:overview", args=[mine.charity_id]) in page


def test_a_user_of_no_charity_is_told_how_to_join(client):
    client.force_login(UserFactory())
    page = client.get(reverse("portal:home")).content.decode()
    assert "You do not work for a charity" in page


def test_a_user_may_belong_to_several_charities(client):
    user = UserFactory()
    first = CharityMemberFactory(user=user, charity=CharityFactory(name="First Shelf"))
    second = CharityMemberFactory(user=user, role="editor",
                                  charity=CharityFactory(name="Second Library"))  # fmt: skip
    client.force_login(user)
    for m in (first, second):
        assert client.get(reverse("portal:overview", args=[m.charity_id])).status_code == 200

"""The menu ({% site_nav %}, templates/nav.html) is kept rendered per kind of visitor and
current page: each kind sees its own links, the current page is marked, and the log-out
form carries the response's own CSRF token (it logs out)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def menu(response) -> str:
    html = response.content.decode()
    return re.search(r'<ul class="nav-links">(.*?)</ul>', html, re.DOTALL).group(1)


def links(html: str) -> dict[str, bool]:
    """href -> marked as the current page."""
    return {
        href: bool(current)
        for href, current in re.findall(r'<a href="([^"]*)"( aria-current="page")?', html)
    }


SIGNED_IN = ["reports:dashboard", "reports:list", "accounts:profile", "portal:home"]
EVERYONE = ["charities:list", "charities:map", "web:transparency"]


def test_each_kind_of_visitor_sees_its_own_menu_whichever_came_first(client, alice, carol):
    staff = Client()
    staff.force_login(carol)
    donor = Client()
    donor.force_login(alice)
    # Staff first, so a kept copy that ignored the kind would show the donor "Admin".
    staff_menu = links(menu(staff.get("/charities/")))
    donor_menu = links(menu(donor.get("/charities/")))
    visitor_menu = links(menu(client.get("/charities/")))

    admin = reverse("admin:index")
    assert admin in staff_menu and admin not in donor_menu and admin not in visitor_menu
    for name in EVERYONE:
        assert reverse(name) in visitor_menu and reverse(name) in donor_menu
    for name in SIGNED_IN:
        assert reverse(name) in donor_menu and reverse(name) not in visitor_menu
    assert reverse("account_login") in visitor_menu
    assert reverse("account_login") not in donor_menu


@pytest.mark.parametrize("name", [*EVERYONE, "reports:dashboard", "reports:list"])
def test_the_current_page_and_only_it_is_marked(client, alice, name):
    client.force_login(alice)
    client.get("/")  # a page that is none of the menu's links, rendered first
    marked = [href for href, current in links(menu(client.get(reverse(name)))).items() if current]
    assert marked == [reverse(name)]
    assert not any(links(menu(client.get("/"))).values())


def test_the_log_out_form_has_this_responses_token_and_logs_out(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    tokens = []
    for _ in range(2):
        html = menu(client.get("/charities/"))
        tokens.append(re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1))
    assert tokens[0] != tokens[1]  # masked afresh per response, never a kept one
    response = client.post(reverse("account_logout"), {"csrfmiddlewaretoken": tokens[1]})
    assert response.status_code == 302
    assert not client.get("/charities/").wsgi_request.user.is_authenticated


def test_a_signed_out_visitor_and_an_inactive_users_session_get_the_visitor_menu(client, alice):
    client.force_login(alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert reverse("account_login") in links(menu(client.get("/charities/")))


def test_every_pages_assets_have_staticfiles_urls_that_follow_the_settings(client, settings):
    from django.templatetags.static import static

    html = client.get("/charities/").content.decode()
    for path in ("css/site.css", "favicon.svg", "js/scroll-regions.js"):
        assert f'"{static(path)}"' in html
    settings.STATIC_URL = "/assets-elsewhere/"
    html = client.get("/charities/").content.decode()
    assert '"/assets-elsewhere/css/site.css' in html

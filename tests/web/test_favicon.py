"""The site's icon: an SVG linked from every page (the site's and the admin's), and
/favicon.ico, which some clients ask for whatever a page says, finds it instead of a 404."""

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_the_icon_is_a_static_svg():
    path = finders.find("favicon.svg")
    assert path, "static/favicon.svg is missing"
    with open(path, encoding="utf-8") as stream:
        svg = stream.read()
    assert svg.startswith("<svg") and 'viewBox="0 0 32 32"' in svg
    assert "<script" not in svg


@pytest.mark.parametrize("path", ["/", "/charities/", "/accounts/login/", "/no/such/page/"])
def test_every_page_links_the_icon(client, path):
    html = client.get(path).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html


def test_the_admin_links_the_icon_too(client, carol):
    client.force_login(carol)
    html = client.get("/admin/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    assert "Hometown Fund administration" in html  # Django's own base_site still renders


def test_favicon_ico_leads_to_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.svg"
    assert "max-age=86400" in response["Cache-Control"]
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert icon["Content-Type"].startswith("image/svg+xml")
    assert client.post("/favicon.ico").status_code == 405

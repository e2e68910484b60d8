"""The profile page: a ZIP fills city and state offline; a bad ZIP is a form error."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/accounts/profile/"


def post(client, **data):
    fields = {"name": "", "zip_code": "", "city": "", "state": "", "wants_report_emails": "on"}
    fields.update(data)
    return client.post(URL, fields)


def test_it_has_the_name_accounts_profile():
    assert reverse("accounts:profile") == URL


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/accounts/profile/")


def test_a_zip_alone_fills_city_and_state(client):
    user = UserFactory(city="", state="", zip_code="")
    client.force_login(user)
    response = post(client, name="Dana", zip_code="05401")
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.name, user.city, user.state, user.zip_code) == (
        "Dana",
        "Burlington",
        "VT",
        "05401",
    )
    page = client.get(response["Location"])
    assert "Profile saved" in page.content.decode()


def test_a_new_zip_moves_a_donor_whose_old_city_is_still_in_the_form(client, alice):
    client.force_login(alice)
    response = post(client, zip_code="40069", city="Springfield", state="VT")
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.city, alice.state, alice.zip_code) == ("Springfield", "KY", "40069")


def test_an_unknown_zip_is_a_form_error(client, alice):
    client.force_login(alice)
    response = post(client, name="Someone else", zip_code="00000")
    assert response.status_code == 200
    assert "is not a US ZIP code" in str(response.context["form"].errors["zip_code"])
    alice.refresh_from_db()
    assert (alice.name, alice.zip_code) == ("Alice", "05156")


def test_a_state_that_does_not_match_the_zip_is_a_form_error(client, alice):
    client.force_login(alice)
    response = post(client, zip_code="05401", city="Burlington", state="KY")
    assert response.status_code == 200
    assert "is in VT, not KY" in str(response.context["form"].errors["zip_code"])
    alice.refresh_from_db()
    assert alice.state == "VT"


def test_city_without_state_is_a_form_error(client):
    user = UserFactory(city="", state="", zip_code="")
    client.force_login(user)
    response = post(client, city="Burlington")
    assert response.status_code == 200
    assert "state" in response.context["form"].errors


def test_report_emails_can_be_switched_off(client, alice):
    client.force_login(alice)
    post(client, name="Alice", zip_code="05156", city="Springfield", state="VT",
         wants_report_emails="")  # fmt: skip
    alice.refresh_from_db()
    assert alice.wants_report_emails is False


def test_the_form_has_labels_and_csrf(client, alice):
    client.force_login(alice)
    html = client.get(URL).content.decode()
    assert "csrfmiddlewaretoken" in html
    for field in ("name", "zip_code", "city", "state", "wants_report_emails"):
        assert f'for="id_{field}"' in html


def test_the_zip_lookup_answers_city_and_state_offline(client, alice):
    client.force_login(alice)
    response = client.get("/accounts/profile/zip/", {"zip": "05401"})
    assert response.json() == {"zip_code": "05401", "city": "Burlington", "state": "VT"}
    assert client.get("/accounts/profile/zip/", {"zip": "00000"}).status_code == 404
    assert client.get("/accounts/profile/zip/", {"zip": "abc"}).status_code == 404

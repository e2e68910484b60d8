"""allauth's pages wear the site's layout; sign-up needs a verified email (DEBUG off)."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]
)
def test_the_account_pages_use_the_site_layout(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="site-header"' in html
    assert "css/site.css" in html
    assert 'class="card auth-form"' in html
    assert "csrfmiddlewaretoken" in html


def test_sign_up_then_verify_the_email_then_land_on_the_dashboard(client):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "New.Donor@Example.org",
            "password1": "a long walk home 42",
            "password2": "a long walk home 42",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get()
    assert user.email == "new.donor@example.org"
    # Mandatory verification: no session yet.
    assert client.get("/dashboard/").status_code == 302
    assert "Hometown Fund" in mail.outbox[0].body
    link = re.search(r"https?://testserver(/accounts/confirm-email/[^\s]+/)", mail.outbox[0].body)
    confirm = client.post(link.group(1))
    assert confirm.status_code == 302
    assert client.get("/dashboard/").status_code == 200


def test_log_in_and_log_out(client, alice):
    EmailAddress.objects.create(user=alice, email=alice.email, verified=True, primary=True)
    response = client.post(
        "/accounts/login/", {"login": "ALICE@example.org", "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/dashboard/").status_code == 302

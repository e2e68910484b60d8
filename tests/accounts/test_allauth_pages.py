"""allauth's pages wear the site's layout and words ("Log in", "Log out", "Sign up", as
the menu says; locale/en/); sign-up needs a verified email (DEBUG off)."""

import ast
import gettext
import re
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
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


# allauth's own words for what the menu calls "Log in", "Log out" and "Sign up".
NOT_OUR_WORDS = re.compile(r"sign[ -]?in|sign[ -]?out|signed (?:in|out)|signup\b", re.I)


def visible(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize(
    ("url", "heading"),
    [
        ("/accounts/login/", "Log in"),
        ("/accounts/signup/", "Sign up"),
        ("/accounts/password/reset/", "Reset your password"),
    ],
)
def test_the_account_pages_say_log_in_and_sign_up_like_the_menu(client, url, heading):
    html = client.get(url).content.decode()
    text = visible(html)
    assert "Sign In" not in html and "Sign Up" not in html
    assert NOT_OUR_WORDS.findall(text) == []
    # The site's own navigation, then the page's heading in the site's sentence case.
    assert '<nav class="nav" aria-label="Main">' in html
    assert '<li><a href="/accounts/login/">Log in</a></li>' in html
    assert re.search(rf"<h1>\s*{re.escape(heading)}\s*</h1>", html), html
    assert f"<title>{heading} · Hometown Fund</title>" in " ".join(html.split()).replace(
        "<title> ", "<title>"
    )


def test_the_login_button_and_links_use_the_sites_words(client):
    text = visible(client.get("/accounts/login/").content.decode())
    assert "New here? Sign up first." in text
    assert text.endswith("Log in") or "Keep me logged in" in text
    signup = visible(client.get("/accounts/signup/").content.decode())
    assert "Already have an account? Log in ." in signup


def test_logging_out_and_in_says_so_in_the_sites_words(client, alice):
    EmailAddress.objects.create(user=alice, email=alice.email, verified=True, primary=True)
    client.force_login(alice)
    page = visible(client.get("/accounts/logout/").content.decode())
    assert "Are you sure you want to log out?" in page
    assert NOT_OUR_WORDS.findall(page) == []
    out = client.post("/accounts/logout/", follow=True)
    assert "You have logged out." in visible(out.content.decode())
    back = client.post(
        "/accounts/login/",
        {"login": alice.email, "password": "correct horse battery"},
        follow=True,
    )
    assert f"Logged in as {alice.email}." in visible(back.content.decode())


def _po_entries(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a .po file (the few forms ours uses: no plurals, no contexts)."""
    entries, key, current = {}, None, {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith(("msgid ", "msgstr ")):
            key, _, literal = line.partition(" ")
            current[key] = ast.literal_eval(literal)
        elif line.startswith('"') and key:
            current[key] += ast.literal_eval(line)
        if key == "msgstr" and not line:
            entries[current["msgid"]], key, current = current["msgstr"], None, {}
    if current:
        entries[current["msgid"]] = current["msgstr"]
    entries.pop("", None)  # the header
    return entries


def test_the_compiled_catalogue_is_the_po_file():
    folder = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as stream:
        compiled = gettext.GNUTranslations(stream)._catalog
    compiled.pop("", None)
    assert compiled == _po_entries(folder / "django.po"), (
        "locale/en/LC_MESSAGES/django.mo is not django.po compiled: run "
        "`.venv/bin/python manage.py compilemessages -l en --ignore=.venv`"
    )


def test_every_word_we_change_is_one_allauth_says():
    """An allauth upgrade that rewords a string would leave our line unused: each msgid
    must still be in allauth's own catalogue."""
    import allauth

    theirs = _po_entries(Path(allauth.__file__).parent / "locale/en/LC_MESSAGES/django.po")
    ours = _po_entries(Path(settings.BASE_DIR) / "locale/en/LC_MESSAGES/django.po")
    assert sorted(set(ours) - set(theirs)) == []


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

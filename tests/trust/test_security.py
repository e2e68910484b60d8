"""Security hardening, proven on the running code:

- production settings pass `check --deploy --fail-level WARNING`;
- a page served with those settings carries HSTS, Referrer-Policy, nosniff, a CSP with no
  inline script, and sets its cookies secure and (session) httponly;
- no template of ours holds inline script, inline event handlers or style attributes
  (the CSP would block them, so they would be bugs as well as holes);
- guessing passwords is throttled by allauth, and the admin has no login form of its own
  (GET /admin/login/ redirecting to allauth's login is tested in tests/core/test_health.py;
  here a POST to it is shown not to check a password at all);
- behind a reverse proxy (TRUSTED_PROXY_COUNT or TRUSTED_CLIENT_IP_HEADER) the login
  limits count each client, not the proxy; without one, forwarding headers (client
  address, X-Forwarded-Proto) are not believed;
- walking the whole URL configuration: the Stripe webhook is the only CSRF-exempt view,
  and every donor page sends an anonymous visitor to the login page.
"""

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.conf import settings as django_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

PRODUCTION_ENV = {
    "PATH": os.environ.get("PATH", ""),
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "READ_DOT_ENV_FILE": "0",
    "DEBUG": "0",
    "SECRET_KEY": "production-like-secret-for-tests-0123456789-abcdefghijklmnop",
    "ALLOWED_HOSTS": "fund.example.org",
    # A production site bills through Stripe (it refuses to start with neither Stripe nor
    # DEMO_BILLING=1); these keys are never sent anywhere by these tests.
    "STRIPE_SECRET_KEY": "sk_test_production_like_0123456789",
    "STRIPE_WEBHOOK_SECRET": "whsec_production_like_0123456789",
}
SECURITY_SETTINGS = [
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD", "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY",
    "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_SECURE",
    "X_FRAME_OPTIONS", "CONTENT_SECURITY_POLICY", "SECURE_PROXY_SSL_HEADER",
]  # fmt: skip


def _run(code_or_args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *code_or_args],
        cwd=django_settings.BASE_DIR,
        env=PRODUCTION_ENV,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


@pytest.fixture(scope="module")
def production():
    """The security settings as config/settings.py computes them with DEBUG off and
    nothing else set: the defaults a deployment gets (the test suite's own environment
    switches HTTPS off, so it cannot be read in this process)."""
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {SECURITY_SETTINGS!r}}}))"
    )
    result = _run(["-c", code])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_finds_nothing_in_production_settings():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.fixture
def production_settings(settings, production):
    for name, value in production.items():
        setattr(settings, name, tuple(value) if isinstance(value, list) else value)
    assert settings.SECURE_HSTS_SECONDS >= 31536000  # a year, what preload lists ask
    return settings


def _directives(header: str) -> dict:
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/charities/", "/accounts/login/"])
def test_pages_carry_the_security_headers_in_production(client, production_settings, url):
    response = client.get(url, secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == (
        f"max-age={production_settings.SECURE_HSTS_SECONDS}; includeSubDomains; preload"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    csp = _directives(response["Content-Security-Policy"])
    for directive in ("script-src", "style-src"):
        assert csp[directive] == ["'self'"], csp
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in value for values in csp.values() for value in values)


@pytest.mark.django_db
def test_plain_http_is_sent_to_https_in_production(client, production_settings):
    response = client.get("/charities/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/charities/"


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_secure_and_the_session_is_httponly(
    client, production_settings, alice
):
    EmailAddress.objects.create(user=alice, email=alice.email, verified=True, primary=True)
    login_page = client.get("/accounts/login/", secure=True)
    csrf = login_page.cookies["csrftoken"]
    assert csrf["secure"]
    response = client.post(
        "/accounts/login/",
        {"login": alice.email, "password": "correct horse battery"},
        secure=True,
    )
    assert response.status_code == 302
    session = response.cookies[production_settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"]
    assert session["samesite"] == "Lax"


# --- templates --------------------------------------------------------------------------

DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


class InlineCodeFinder(HTMLParser):
    """Finds what a strict CSP (script-src/style-src 'self') would block: <script>
    without src holding code, <style> blocks, on* handler attributes, style=
    attributes and javascript: URLs."""

    def __init__(self, *, allow_style_attributes=False):
        super().__init__(convert_charrefs=True)
        self.allow_style_attributes = allow_style_attributes
        self.problems: list[str] = []
        self._inline_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        line = self.getpos()[0]
        if tag == "script":
            self._inline_script = "src" not in names and (
                (names.get("type") or "").lower() not in DATA_SCRIPT_TYPES
            )
        if tag == "style":
            self.problems.append(f"line {line}: <style> block")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"line {line}: inline handler {name}=")
            if name == "style" and not self.allow_style_attributes:
                self.problems.append(f"line {line}: style= attribute")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"line {line}: javascript: URL")

    def handle_data(self, data):
        if self._inline_script and data.strip():
            self.problems.append(f"line {self.getpos()[0]}: inline <script> code")

    def handle_endtag(self, tag):
        if tag == "script":
            self._inline_script = False


def _inline_code(text: str, *, allow_style_attributes=False) -> list[str]:
    # Template tags are not HTML: blank them so {% if %} inside a tag cannot hide a
    # handler from the parser or invent one.
    text = re.sub(r"{%.*?%}|{#.*?#}", "", text, flags=re.S)
    finder = InlineCodeFinder(allow_style_attributes=allow_style_attributes)
    finder.feed(text)
    finder.close()
    return finder.problems


def our_templates() -> list[Path]:
    base = Path(django_settings.BASE_DIR)
    dirs = [base / "templates"] + [
        Path(app.path) / "templates"
        for app in apps.get_app_configs()
        # Our apps only: a virtualenv inside the checkout (.venv) holds third-party ones.
        if Path(app.path).is_relative_to(base) and "site-packages" not in Path(app.path).parts
    ]
    return sorted(p for d in dirs if d.is_dir() for p in d.rglob("*.html"))


def test_the_checker_finds_each_kind_of_inline_code():
    bad = (
        '<script>alert(1)</script><a onclick="x()">a</a><p style="color:red">b</p>'
        '<style>p{}</style><a href="javascript:void(0)">c</a>'
    )
    assert len(_inline_code(bad)) == 5
    fine = (
        '<script src="/static/js/a.js"></script>'
        '<script type="application/json" id="d">{"a": 1}</script>'
    )
    assert _inline_code(fine) == []


def test_no_template_holds_inline_script_handlers_or_styles():
    templates = our_templates()
    assert len(templates) > 15, templates  # the walk found the site's templates
    problems = {}
    for path in templates:
        # Email bodies are not pages: no CSP applies to them, and mail clients drop
        # <style> blocks, so inline style= is the norm there. Script is still banned.
        is_email = "email" in path.parts
        found = _inline_code(path.read_text(), allow_style_attributes=is_email)
        if found:
            problems[str(path.relative_to(django_settings.BASE_DIR))] = found
    assert problems == {}


# --- guessing passwords -----------------------------------------------------------------


@pytest.mark.django_db
def test_guessing_one_donors_password_is_locked_even_for_the_right_password(client, alice):
    EmailAddress.objects.create(user=alice, email=alice.email, verified=True, primary=True)
    limit = 5  # ACCOUNT_RATE_LIMITS["login_failed"]: 5 per 5 minutes per account
    assert f"{limit}/5m/key" in django_settings.ACCOUNT_RATE_LIMITS["login_failed"]
    for i in range(limit):
        wrong = client.post("/accounts/login/", {"login": alice.email, "password": f"guess{i}"})
        assert wrong.status_code == 200 and b"Too many" not in wrong.content
    right = client.post(
        "/accounts/login/", {"login": alice.email, "password": "correct horse battery"}
    )
    assert right.status_code == 200
    assert b"Too many failed login attempts" in right.content
    assert client.get("/dashboard/").status_code == 302  # still anonymous


@pytest.mark.django_db
def test_one_address_trying_many_accounts_is_throttled(client):
    answers = [
        client.post(
            "/accounts/login/", {"login": f"donor{i}@example.org", "password": "guess"}
        ).status_code
        for i in range(31)
    ]
    # login_failed: 10 per minute per IP, then a form error; login: 30 per minute, then 429.
    assert answers[-1] == 429
    assert 429 not in answers[:30]


@pytest.mark.django_db
def test_the_admin_has_no_password_form_to_guess_against(client, carol):
    carol.set_password("staff password 123")
    carol.save()
    response = client.post(
        "/admin/login/", {"username": carol.email, "password": "staff password 123"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.get("/admin/").status_code == 302  # the password was never checked


# --- behind a reverse proxy -------------------------------------------------------------

PROXY_SETTINGS = [
    "ALLAUTH_TRUSTED_PROXY_COUNT", "ALLAUTH_TRUSTED_CLIENT_IP_HEADER", "SECURE_PROXY_SSL_HEADER",
]  # fmt: skip
PROXY = "10.0.0.2"  # the TLS proxy: every request reaches gunicorn from this address


def _proxy_settings(**env) -> dict:
    """What config/settings.py makes of the proxy variables in a fresh production process
    (settings are read once per process). A name the settings do not define is left out,
    so the test then runs with the library's default."""
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {PROXY_SETTINGS!r} if hasattr(s, n)}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=django_settings.BASE_DIR,
        env={**PRODUCTION_ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def no_proxy_env():
    return _proxy_settings()


@pytest.fixture(scope="module")
def one_proxy_env():
    return _proxy_settings(TRUSTED_PROXY_COUNT="1")


@pytest.fixture(scope="module")
def real_ip_env():
    return _proxy_settings(TRUSTED_CLIENT_IP_HEADER="X-Real-IP")


def _apply(settings, values: dict):
    for name, value in values.items():
        setattr(settings, name, tuple(value) if isinstance(value, list) else value)


def _failed_logins(client, count: int, **headers) -> list[int]:
    # Different accounts each time: this is one address guessing, not one account locked.
    return [
        client.post(
            "/accounts/login/",
            {"login": f"donor{i}@example.org", "password": "guess"},
            REMOTE_ADDR=PROXY,
            **headers,
        ).status_code
        for i in range(count)
    ]


def _alice_logs_in(client, alice, **headers) -> int:
    EmailAddress.objects.get_or_create(
        user=alice, email=alice.email, defaults={"verified": True, "primary": True}
    )
    return client.post(
        "/accounts/login/",
        {"login": alice.email, "password": "correct horse battery"},
        REMOTE_ADDR=PROXY,
        **headers,
    ).status_code


@pytest.mark.django_db
def test_behind_a_trusted_proxy_one_clients_failures_do_not_lock_out_another(
    client, settings, alice, one_proxy_env
):
    _apply(settings, one_proxy_env)
    # The client's own claim (left) is ignored; the proxy appended the real address.
    answers = _failed_logins(client, 31, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7")
    assert answers[-1] == 429 and 429 not in answers[:30]  # that client is throttled
    assert _failed_logins(client, 1, HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.7") == [429]
    # A donor behind the same proxy, from another address, logs in.
    assert _alice_logs_in(client, alice, HTTP_X_FORWARDED_FOR="198.51.100.9") == 302


@pytest.mark.django_db
def test_behind_a_proxy_setting_a_client_ip_header_only_that_header_counts(
    client, settings, alice, real_ip_env
):
    _apply(settings, real_ip_env)
    answers = _failed_logins(client, 31, HTTP_X_REAL_IP="203.0.113.7")
    assert answers[-1] == 429 and 429 not in answers[:30]
    assert _alice_logs_in(client, alice, HTTP_X_REAL_IP="198.51.100.9") == 302


@pytest.mark.django_db
def test_without_a_trusted_proxy_a_forged_forwarded_for_is_ignored(
    client, settings, alice, no_proxy_env
):
    _apply(settings, no_proxy_env)
    # Each guess claims another address; all of them are counted against the one peer.
    answers = [
        _failed_logins(client, 1, HTTP_X_FORWARDED_FOR=f"203.0.113.{i}", HTTP_X_REAL_IP="1.1.1.1")
        for i in range(31)
    ]
    assert answers[-1] == [429] and [429] not in answers[:30]


@pytest.mark.django_db
def test_x_forwarded_proto_is_ignored_unless_a_proxy_is_trusted(
    client, settings, no_proxy_env, one_proxy_env
):
    _apply(settings, no_proxy_env)
    settings.SECURE_SSL_REDIRECT = True
    forged = client.get("/charities/", HTTP_X_FORWARDED_PROTO="https")
    assert forged.status_code == 301  # still plain http: sent to https
    assert forged["Location"] == "https://testserver/charities/"

    _apply(settings, one_proxy_env)
    settings.SECURE_SSL_REDIRECT = True
    proxied = client.get(
        "/charities/", HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="203.0.113.7"
    )
    assert proxied.status_code == 200


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TRUSTED_PROXY_COUNT": "-1"}, "TRUSTED_PROXY_COUNT"),
        ({"TRUSTED_PROXY_COUNT": "one"}, "TRUSTED_PROXY_COUNT"),
        ({"TRUSTED_CLIENT_IP_HEADER": "X-Real-IP: 1.2.3.4"}, "TRUSTED_CLIENT_IP_HEADER"),
    ],
)
def test_a_bad_proxy_setting_stops_the_start(env, message):
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=django_settings.BASE_DIR,
        env={**PRODUCTION_ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


# --- the URL configuration --------------------------------------------------------------


def walk(resolver=None, prefix="", namespace=""):
    """(route, namespaced name, view callback) for every URL pattern, recursively."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            yield from walk(
                entry,
                prefix + str(entry.pattern),
                f"{namespace}:{ns}".strip(":") if ns else namespace,
            )
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}".strip(":") if entry.name else ""
            yield prefix + str(entry.pattern), name, entry.callback


def _is_csrf_exempt(callback) -> bool:
    seen = callback
    while seen is not None:  # decorators that keep __wrapped__ may hide the flag
        if getattr(seen, "csrf_exempt", False):
            return True
        seen = getattr(seen, "__wrapped__", None)
    return False


# Third-party views that are CSRF-exempt by design, with the reason. Empty today: neither
# Django's admin nor allauth's account views are exempt (allauth's exempt views belong
# to its headless and OAuth callback apps, which this site does not install).
THIRD_PARTY_CSRF_EXEMPT: dict[str, str] = {}


def test_the_stripe_webhook_is_the_only_csrf_exempt_view():
    patterns = list(walk())
    names = {name for _, name, _ in patterns}
    # The walk reached every part of the site, third-party apps included.
    assert {"subscriptions:webhook", "account_login", "admin:index", "reports:dashboard"} <= names
    assert len(patterns) > 60
    exempt = {name or route for route, name, cb in patterns if _is_csrf_exempt(cb)}
    assert exempt - set(THIRD_PARTY_CSRF_EXEMPT) == {"subscriptions:webhook"}


DONOR_NAMESPACES = ("accounts", "reports", "subscriptions")
PUBLIC_EXCEPTIONS = {
    "subscriptions:webhook": "Stripe's server, verified by signature",
    # The manage link from a donor's email: the signed token is the credential, and a
    # token that is not ours is refused (tests/core/test_privacy.py, TOKEN_ROUTES).
    **{
        f"subscriptions:{name}": "the signed manage link, without a password"
        for name in (
            "manage", "manage_pause", "manage_resume", "manage_skip", "manage_pause_until",
            "manage_amount", "manage_cancel",
        )
    },
}  # fmt: skip


def _sample_url(name: str, route: str) -> str:
    kwargs = {key: 1 for key in re.findall(r"<(?:\w+:)?(\w+)>", route)}
    if "year" in kwargs:
        kwargs["year"] = 2026
    return reverse(name, kwargs=kwargs)


@pytest.mark.django_db
def test_every_donor_page_sends_an_anonymous_visitor_to_the_login(client):
    donor_pages = [
        (route, name)
        for route, name, _ in walk()
        if name.split(":")[0] in DONOR_NAMESPACES and name not in PUBLIC_EXCEPTIONS
    ]
    names = {name for _, name in donor_pages}
    assert {
        "reports:dashboard", "accounts:profile", "reports:history_csv", "reports:statement",
        "reports:list", "reports:detail", "subscriptions:subscribe", "subscriptions:pause",
        "subscriptions:resume", "subscriptions:cancel", "subscriptions:change_amount",
        "subscriptions:billing_portal",
    } <= names  # fmt: skip
    login = reverse("account_login")
    for route, name in donor_pages:
        url = _sample_url(name, route)
        for method in (client.get, client.post):
            response = method(url)
            if response.status_code == 405:  # e.g. GET of a POST-only button: no content
                continue
            assert response.status_code == 302, (name, method.__name__, response.status_code)
            assert response["Location"].startswith(f"{login}?next="), (name, response["Location"])


@pytest.mark.django_db
def test_a_request_that_skipped_the_proxies_is_answered_never_a_500(client, settings, alice):
    """Two trusted proxies, but a request reaches gunicorn with one X-Forwarded-For entry
    (or none): allauth would raise ImproperlyConfigured; it is counted under its own
    address instead (accounts.adapter)."""
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    for headers in ({"HTTP_X_FORWARDED_FOR": "203.0.113.7"}, {}):
        assert _failed_logins(client, 1, **headers) == [200]
    assert _alice_logs_in(client, alice, HTTP_X_FORWARDED_FOR="198.51.100.9") == 302

"""Production (DEBUG off) must refuse to start without its secrets. Each case starts a
fresh interpreter, since settings are read once per process."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

BASE = {"READ_DOT_ENV_FILE": "0", "PATH": os.environ.get("PATH", "")}
GOOD_KEY = "k" * 50


def _start(*, show: str = "DEBUG", **env) -> subprocess.CompletedProcess:
    code = (
        f"import django; django.setup(); from django.conf import settings; print(settings.{show})"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={**BASE, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "0", "ALLOWED_HOSTS": "example.org"}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": "example.org"}, "SECRET_KEY"),  # DEBUG is off by default
        ({"DEBUG": "0", "SECRET_KEY": GOOD_KEY}, "ALLOWED_HOSTS"),
        ({"DEBUG": "0", "SECRET_KEY": "short", "ALLOWED_HOSTS": "example.org"}, "32"),
        ({"DEBUG": "0", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_to_start_without_its_secrets(env, message):
    result = _start(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


PRODUCTION = {"DEBUG": "0", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "example.org"}
STRIPE = {"STRIPE_SECRET_KEY": "sk_test_0123456789", "STRIPE_WEBHOOK_SECRET": "whsec_0123"}


def test_production_starts_with_them():
    result = _start(**PRODUCTION, **STRIPE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def _demo_billing(**env) -> subprocess.CompletedProcess:
    return _start(show="DEMO_BILLING", **env)


def test_production_without_a_stripe_key_refuses_unless_demo_billing_is_asked_for():
    lost_key = _demo_billing(**PRODUCTION)
    assert lost_key.returncode != 0
    last_line = lost_key.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert "STRIPE_SECRET_KEY is not set" in last_line
    assert "DEMO_BILLING=1" in last_line

    asked = _demo_billing(**PRODUCTION, DEMO_BILLING="1")
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.strip() == "True"

    with_stripe = _demo_billing(**PRODUCTION, **STRIPE)
    assert with_stripe.returncode == 0, with_stripe.stderr
    assert with_stripe.stdout.strip() == "False"


def test_demo_billing_and_a_stripe_key_together_are_refused():
    both = _demo_billing(**PRODUCTION, **STRIPE, DEMO_BILLING="1")
    assert both.returncode != 0
    assert "choose Stripe or demo billing" in both.stderr.strip().splitlines()[-1]


def test_development_bills_in_demo_mode_without_a_stripe_key():
    result = _demo_billing(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_development_starts_with_nothing_set():
    result = _start(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_a_short_health_token_is_refused():
    short = _start(**PRODUCTION, **STRIPE, HEALTH_TOKEN="guessable")
    assert short.returncode != 0
    assert "HEALTH_TOKEN must be at least 32 characters" in short.stderr
    good = _start(show="HEALTH_TOKEN", **PRODUCTION, **STRIPE, HEALTH_TOKEN="t" * 32)
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == "t" * 32


def _email(**env) -> list[str]:
    result = _start(show="EMAIL_BACKEND, getattr(settings, 'EMAIL_FILE_PATH', '')", **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_a_laptop_writes_emails_to_files_in_sent_emails_unless_email_url_says_otherwise():
    backend, folder = _email(DEBUG="1")
    assert backend == "django.core.mail.backends.filebased.EmailBackend"
    assert folder == str(settings.BASE_DIR / "sent-emails")

    assert _email(DEBUG="1", EMAIL_URL="consolemail://") == [
        "django.core.mail.backends.console.EmailBackend"
    ]
    assert _email(**PRODUCTION, **STRIPE) == ["django.core.mail.backends.console.EmailBackend"]
    assert _email(**PRODUCTION, **STRIPE, EMAIL_URL="smtp+tls://u:p@mail.example.org:587") == [
        "django.core.mail.backends.smtp.EmailBackend"
    ]


def _connections(**env) -> str:
    show = (
        "DATABASES['default']['CONN_MAX_AGE'], settings.DATABASES['default']['CONN_HEALTH_CHECKS']"
    )
    result = _start(show=show, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("env", "shown"),
    [
        # Production keeps a connection a minute and checks it before each request.
        ({**PRODUCTION, **STRIPE}, "60 True"),
        # A laptop (DEBUG) opens one per request.
        ({"DEBUG": "1"}, "0 True"),
        # Both can be set (a pooler in front: CONN_MAX_AGE=0).
        ({**PRODUCTION, **STRIPE, "CONN_MAX_AGE": "0", "CONN_HEALTH_CHECKS": "0"}, "0 False"),
    ],
)
def test_database_connections_are_kept_in_production_and_checked_before_use(env, shown):
    assert _connections(**env) == shown


PG = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/none_needed"}


@pytest.mark.parametrize(
    ("env", "shown"),
    [
        # PostgreSQL: statements that ask to be prepared are (core.db.prepared_raw).
        ({**PRODUCTION, **STRIPE, **PG}, "5"),
        # Behind a pooler that cannot keep them: none is.
        ({**PRODUCTION, **STRIPE, **PG, "DB_PREPARED_STATEMENTS": "0"}, "None"),
        # SQLite has no such thing.
        ({**PRODUCTION, **STRIPE}, "'absent'"),
    ],
)
def test_prepared_statements_are_on_for_postgresql_unless_turned_off(env, shown):
    show = "DATABASES['default'].get('OPTIONS', {}).get('prepare_threshold', 'absent')"
    result = _start(show=f"{show}.__repr__()", **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == shown

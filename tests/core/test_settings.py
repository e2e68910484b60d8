"""Production (DEBUG off) must refuse to start without its secrets. Each case starts a
fresh interpreter, since settings are read once per process."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

BASE = {"READ_DOT_ENV_FILE": "0", "PATH": os.environ.get("PATH", "")}
GOOD_KEY = "k" * 50


def _start(**env) -> subprocess.CompletedProcess:
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
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


def test_production_starts_with_them():
    result = _start(DEBUG="0", SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="example.org")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_development_starts_with_nothing_set():
    result = _start(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"

"""Shared fixtures.

Who may see what:
- alice: a donor in Springfield, VT. Sees only her own subscriptions, giving and reports.
- bob: another donor in Springfield, KY (same city name, another city). Alice must never
  see bob's objects and the other way round.
- carol: staff with the charities.vet_charity permission and the charities and needs model
  permissions: may approve and reject charities and edit needs in the admin.
- dave: staff who may view and edit charities but not vet them.

Services: a test marked ``postgres`` needs DATABASE_URL to point at PostgreSQL and one
marked ``redis`` needs TEST_REDIS_URL (default redis://127.0.0.1:6379/15). Without the
service such a test is skipped on a laptop, but with REQUIRE_SERVICES=1 (CI) it fails.
"""

import os
import socket
from urllib.parse import urlparse

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.factories import UserFactory

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") not in ("", "0")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_is_up(url: str) -> bool:
    parts = urlparse(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _missing_service(item) -> str | None:
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if item.get_closest_marker("redis") and not _redis_is_up(TEST_REDIS_URL):
        return f"needs Redis at {TEST_REDIS_URL}"
    return None


@pytest.fixture(autouse=True)
def _require_services(request):
    missing = _missing_service(request.node)
    if missing:
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 and this test {missing}")
        pytest.skip(missing)


@pytest.fixture
def redis_url():
    return TEST_REDIS_URL


@pytest.fixture
def alice(db):
    return UserFactory(
        email="alice@example.org", name="Alice", city="Springfield", state="VT", zip_code="05156"
    )


@pytest.fixture
def bob(db):
    return UserFactory(
        email="bob@example.org", name="Bob", city="Springfield", state="KY", zip_code="40069"
    )


@pytest.fixture
def carol(db):
    user = UserFactory(
        email="carol@example.org", name="Carol", is_staff=True, city="", state="", zip_code=""
    )
    user.user_permissions.add(
        Permission.objects.get(codename="vet_charity", content_type__app_label="charities"),
        *Permission.objects.filter(content_type__app_label__in=["charities", "needs"]),
    )
    return user


@pytest.fixture
def dave(db):
    """Staff without the vetting permission: may log in to the admin, may not vet."""
    user = UserFactory(email="dave@example.org", is_staff=True, city="", state="", zip_code="")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="charities", codename__in=["view_charity", "change_charity"]
        )
    )
    return user


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Production hashes with PBKDF2 at a million rounds; tests need speed, not strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# Hypothesis: no per-example deadline and no "too slow" health check (CI shares two cores
# with PostgreSQL, Redis and a Celery worker, and a slow example is not a wrong one).
# Properties build their preconditions into the strategies rather than filtering with
# assume(), so the filter health check stays on. HYPOTHESIS_PROFILE=thorough runs ten
# times the examples, for a longer search by hand.
hypothesis_settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.register_profile(
    "thorough", deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

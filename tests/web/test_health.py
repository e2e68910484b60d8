import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from core.weeks import last_completed_week
from distributions.models import DistributionRun
from tests.factories import ContributionFactory

pytestmark = pytest.mark.django_db


def _run(week_start, status="completed"):
    return DistributionRun.objects.create(
        week_start=week_start, started_at=timezone.now(), status=status
    )


TOKEN = "health-token-for-the-monitor-0123456789"


@pytest.fixture
def staff_client(client, carol):
    # The components' details are for staff (and a monitor holding HEALTH_TOKEN) only.
    client.force_login(carol)
    return client


def test_healthy_with_no_money_waiting(staff_client):
    response = staff_client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["components"]) == {"database", "broker", "weekly_run"}


def test_failing_when_money_waits_and_no_run_happened(staff_client):
    ContributionFactory()
    response = staff_client.get("/health/")
    assert response.status_code == 503
    assert response.json()["components"]["weekly_run"]["status"] == "failing"


def test_an_anonymous_caller_learns_the_status_and_nothing_else(client, alice, settings):
    settings.CELERY_BROKER_URL = ""
    healthy = client.get("/health/")
    assert healthy.status_code == 200
    assert healthy.json() == {"status": "ok"}
    for word in (b"sqlite", b"postgresql", b"broker", b"in-process", b"database"):
        assert word not in healthy.content.lower()

    ContributionFactory()  # money waits and no run happened
    failing = client.get("/health/")
    assert failing.status_code == 503
    assert failing.json() == {"status": "failing"}

    client.force_login(alice)  # a donor is not staff
    assert client.get("/health/").json() == {"status": "failing"}


def test_a_monitor_with_the_token_sees_each_component(client, settings):
    settings.HEALTH_TOKEN = TOKEN
    body = client.get("/health/", HTTP_X_HEALTH_TOKEN=TOKEN).json()
    assert body["components"]["database"] == {
        "status": "ok",
        "detail": connection.vendor,
    }
    for wrong in (TOKEN[:-1], TOKEN + "x", "", TOKEN.upper()):
        assert client.get("/health/", HTTP_X_HEALTH_TOKEN=wrong).json() == {"status": "ok"}


def test_without_a_configured_token_no_token_opens_the_details(client, settings):
    settings.HEALTH_TOKEN = ""
    assert client.get("/health/", HTTP_X_HEALTH_TOKEN="").json() == {"status": "ok"}
    assert client.get("/health/", HTTP_X_HEALTH_TOKEN="anything").json() == {"status": "ok"}


def test_healthy_when_last_weeks_run_exists(client):
    ContributionFactory()
    _run(last_completed_week(timezone.now()))
    assert client.get("/health/").status_code == 200


def test_a_run_two_weeks_behind_is_failing(client):
    ContributionFactory()
    _run(last_completed_week(timezone.now()) - dt.timedelta(weeks=2))
    assert client.get("/health/").status_code == 503


def test_a_down_broker_is_failing(staff_client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = staff_client.get("/health/")
    assert response.status_code == 503
    assert response.json()["components"]["broker"]["status"] == "failing"


@pytest.mark.redis
def test_a_live_broker_is_ok(staff_client, settings, redis_url):
    settings.CELERY_BROKER_URL = redis_url
    assert staff_client.get("/health/").json()["components"]["broker"]["status"] == "ok"


def test_the_admin_login_goes_through_allauths_rate_limited_login(client):
    response = client.get("/admin/login/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")

import datetime as dt

import pytest
from django.utils import timezone

from core.weeks import last_completed_week
from distributions.models import DistributionRun
from tests.factories import ContributionFactory

pytestmark = pytest.mark.django_db


def _run(week_start, status="completed"):
    return DistributionRun.objects.create(
        week_start=week_start, started_at=timezone.now(), status=status
    )


def test_healthy_with_no_money_waiting(client):
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["components"]) == {"database", "broker", "weekly_run"}


def test_failing_when_money_waits_and_no_run_happened(client):
    ContributionFactory()
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["components"]["weekly_run"]["status"] == "failing"


def test_healthy_when_last_weeks_run_exists(client):
    ContributionFactory()
    _run(last_completed_week(timezone.now()))
    assert client.get("/health/").status_code == 200


def test_a_run_two_weeks_behind_is_failing(client):
    ContributionFactory()
    _run(last_completed_week(timezone.now()) - dt.timedelta(weeks=2))
    assert client.get("/health/").status_code == 503


def test_a_down_broker_is_failing(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["components"]["broker"]["status"] == "failing"


@pytest.mark.redis
def test_a_live_broker_is_ok(client, settings, redis_url):
    settings.CELERY_BROKER_URL = redis_url
    assert client.get("/health/").json()["components"]["broker"]["status"] == "ok"


def test_the_admin_login_goes_through_allauths_rate_limited_login(client):
    response = client.get("/admin/login/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")

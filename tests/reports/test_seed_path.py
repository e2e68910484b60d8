"""The report pages find a donor's report through the seed-named selectors."""

import datetime as dt

import pytest

import reports.views
from tests.factories import ReportFactory

pytestmark = pytest.mark.django_db


def test_the_report_page_is_get_report(client, alice, monkeypatch):
    mine = ReportFactory(user=alice, week_start=dt.date(2026, 11, 9))
    client.force_login(alice)
    assert client.get(f"/reports/{mine.pk}/").status_code == 200
    monkeypatch.setattr(reports.views, "get_report", lambda user, report_id: None)
    assert client.get(f"/reports/{mine.pk}/").status_code == 404


def test_the_report_list_is_get_user_reports(client, alice, monkeypatch):
    ReportFactory(user=alice, week_start=dt.date(2026, 11, 9))
    client.force_login(alice)
    assert len(client.get("/reports/").context["page"]) == 1
    real = reports.views.get_user_reports
    monkeypatch.setattr(reports.views, "get_user_reports", lambda user: real(user).none())
    assert len(client.get("/reports/").context["page"]) == 0

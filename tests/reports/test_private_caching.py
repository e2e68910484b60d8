"""Pages that show someone's own money must not be kept by a shared cache (a proxy, a
CDN) or by the browser's disk cache: the donor's dashboard, reports, history CSV and
yearly statement, and the staff's payout statement and money summary all answer
`Cache-Control: private, no-store`."""

import pytest
from django.urls import reverse

from reports import urls as reports_urls
from tests.factories import CharityFactory, ContributionFactory, ReportFactory, UserFactory

pytestmark = pytest.mark.django_db


def _assert_private(response, name):
    assert response.status_code == 200, (name, response.status_code)
    header = response.get("Cache-Control", "")
    directives = {part.strip() for part in header.split(",")}
    assert {"private", "no-store"} <= directives, (name, header)
    assert "public" not in directives, name


def test_every_donor_money_page_is_private_and_not_stored(client, alice):
    ContributionFactory(subscription__user=alice)
    report = ReportFactory(user=alice)
    client.force_login(alice)
    urls = {
        "reports:dashboard": reverse("reports:dashboard"),
        "reports:history_csv": reverse("reports:history_csv"),
        "reports:statement": reverse("reports:statement", args=[2026]),
        "reports:list": reverse("reports:list"),
        "reports:detail": reverse("reports:detail", args=[report.pk]),
    }
    # Every page of the donor's area is here: a new one must be added (and be private).
    assert {f"reports:{p.name}" for p in reports_urls.urlpatterns} == set(urls)
    for name, url in urls.items():
        _assert_private(client.get(url), name)


def test_the_staff_money_pages_are_private_and_not_stored(client):
    charity = CharityFactory()
    client.force_login(UserFactory(is_staff=True, is_superuser=True, email="root@example.org"))
    statement = client.get(reverse("payouts:statement", args=[charity.pk]) + "?period=2026-11")
    _assert_private(statement, "payouts:statement")
    _assert_private(client.get("/admin/payouts/summary/"), "payouts_money_summary")

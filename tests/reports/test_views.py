"""/reports/ and /reports/<pk>/: a donor's own weekly reports, with reasons and a chart."""

import datetime as dt

import pytest
from django.urls import reverse

from tests.factories import ReportFactory

pytestmark = pytest.mark.django_db


def test_the_url_names():
    assert reverse("reports:list") == "/reports/"
    assert reverse("reports:detail", args=[7]) == "/reports/7/"


def test_the_list_shows_my_reports_newest_first(client, alice, bob):
    ReportFactory(user=alice, week_start=dt.date(2026, 11, 9))
    ReportFactory(user=alice, week_start=dt.date(2026, 11, 16))
    ReportFactory(user=bob, week_start=dt.date(2026, 11, 2))
    client.force_login(alice)
    response = client.get("/reports/")
    weeks = [r.week_start for r in response.context["page"].object_list]
    assert weeks == [dt.date(2026, 11, 16), dt.date(2026, 11, 9)]


def test_the_detail_shows_every_charity_with_its_reason(client, alice):
    report = ReportFactory(
        user=alice,
        total_distributed_cents=1000,
        distribution_breakdown=[
            {
                "charity_id": 1,
                "charity_name": "Food Shelf",
                "amount_cents": 600,
                "reason": "60% of your $10.00: urgency 90/100.",
            },
            {
                "charity_id": 2,
                "charity_name": "Youth Club",
                "amount_cents": 400,
                "reason": "40% of your $10.00: urgency 60/100.",
            },
        ],
    )
    client.force_login(alice)
    response = client.get(f"/reports/{report.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "60% of your $10.00: urgency 90/100." in html
    assert "40% of your $10.00: urgency 60/100." in html
    assert "$6.00" in html and "$10.00" in html
    assert "<svg" in html
    assert html.index("Food Shelf") < html.index("Youth Club")


def test_another_donors_report_is_not_found(client, alice, bob):
    report = ReportFactory(user=bob)
    client.force_login(alice)
    assert client.get(f"/reports/{report.pk}/").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client):
    assert client.get("/reports/")["Location"].startswith("/accounts/login/")


def test_the_detail_shows_each_charitys_own_line_about_a_gift(client, alice):
    from tests.factories import CharityFactory

    shelf = CharityFactory(name="Food Shelf", gift_line="$25 feeds a family for a week.")
    club = CharityFactory(name="Youth Club")  # wrote no line
    report = ReportFactory(
        user=alice,
        total_distributed_cents=1000,
        distribution_breakdown=[
            {"charity_id": c.pk, "charity_name": c.name, "amount_cents": cents,
             "reason": f"{c.name} got a share."}
            for c, cents in ((shelf, 600), (club, 400))
        ],
    )  # fmt: skip
    client.force_login(alice)
    page = client.get(f"/reports/{report.pk}/").content.decode()
    assert page.count("In its words:") == 1
    assert "In its words: $25 feeds a family for a week." in page

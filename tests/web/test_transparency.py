"""The public weekly ledger: anyone can read each week and place (pooled, given, held, the
needs the split was worked out from, the totals per charity), download exactly those
inputs and the rows, and check the rows against the published SHA-256. No donor is named
or can be followed from week to week."""

import csv
import datetime as dt
import hashlib
import io
import json

import pytest

from distributions.models import DistributionRun
from portfolio.services import distribute_funds
from reports.services import generate_reports
from tests.portfolio.scenario import NOW, WEEK, at, charity, donor, paid

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_weeks():
    food = charity(name="Food Shelf", urgency=90, gap=1_000_000, updated=at(WEEK))
    alice = donor(email="alice.private@example.org", name="Alice Private")
    subscription = paid(alice, 1000).subscription
    paid(donor("Casper", "WY", email="casey.private@example.org"), 500)
    distribute_funds(WEEK, now=NOW)
    next_week = WEEK + dt.timedelta(weeks=1)
    paid(alice, 1000, when=at(next_week + dt.timedelta(days=2)), subscription=subscription)
    distribute_funds(next_week, now=NOW + dt.timedelta(weeks=1))
    return food, subscription, next_week


def test_the_ledger_lists_weeks_and_shows_each_place_with_its_inputs(client, two_weeks):
    _food, _, _ = two_weeks
    index = client.get("/transparency/")
    assert index.status_code == 200
    assert f"/transparency/{WEEK.isoformat()}/" in index.text

    page = client.get(f"/transparency/{WEEK.isoformat()}/").text
    run = DistributionRun.objects.get(week_start=WEEK)
    assert run.rows_sha256 in page
    assert "Springfield, VT" in page and "Casper, WY" in page
    assert "no approved charity in Casper, WY yet" in page
    assert "Food Shelf" in page and "$10,000.00" in page  # the gap reported
    for private in ("alice.private", "casey.private", "Alice Private"):
        assert private not in page


def test_the_rows_file_hashes_to_the_published_checksum(client, two_weeks):
    response = client.get(f"/transparency/{WEEK.isoformat()}-rows.csv")
    body = b"".join(response.streaming_content)
    assert (
        hashlib.sha256(body).hexdigest()
        == DistributionRun.objects.get(week_start=WEEK).rows_sha256
    )
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows and all(len(r) == 3 and len(r[0]) == 16 for r in rows)


def test_the_json_has_the_inputs_the_totals_and_only_tokens(client, two_weeks):
    food, subscription, next_week = two_weeks
    data = json.loads(client.get(f"/transparency/{WEEK.isoformat()}.json").content)
    assert data["rows_sha256"] == DistributionRun.objects.get(week_start=WEEK).rows_sha256
    vt = next(p for p in data["places"] if p["place"] == "Springfield, VT")
    [first] = vt["passes"]
    [(token, paid_cents)] = first["subscriptions"]
    assert paid_cents == 1000 and token != str(subscription.pk)
    [need] = first["charities"][0]["needs"]
    assert (need["urgency"], need["reported_gap_cents"], need["source"]) == (90, 1_000_000,
                                                                             "manual")  # fmt: skip
    assert need["credited_cents"] == 1000
    assert data["charity_totals"]["Springfield, VT"] == [
        {"charity_id": food.pk, "name": "Food Shelf", "amount_cents": 1000}
    ]
    # The same subscription has another token the next week: nobody can follow it.
    later = json.loads(client.get(f"/transparency/{next_week.isoformat()}.json").content)
    later_vt = next(p for p in later["places"] if p["place"] == "Springfield, VT")
    assert later_vt["passes"][0]["subscriptions"][0][0] != token
    assert "private" not in json.dumps(data)


def test_the_needs_csv_has_one_line_per_need_and_pass(client, two_weeks):
    body = client.get(f"/transparency/{WEEK.isoformat()}-needs.csv").content.decode()
    lines = list(csv.DictReader(io.StringIO(body)))
    assert [(r["place"], r["charity"], r["urgency"], r["credited_cents"]) for r in lines] == [
        ("Springfield, VT", "Food Shelf", "90", "1000")
    ]


def test_a_week_that_is_not_published_is_not_found(client, two_weeks):
    for url in ("/transparency/2026-11-10/", "/transparency/2026-13-01/",
                "/transparency/2026-11-02/", "/transparency/nonsense.json"):  # fmt: skip
        assert client.get(url).status_code == 404, url


def test_a_donors_report_links_to_its_week(client, two_weeks):
    generate_reports(WEEK)
    alice = two_weeks[1].user
    client.force_login(alice)
    report = alice.reports.get(week_start=WEEK)
    assert f"/transparency/{WEEK.isoformat()}/" in client.get(f"/reports/{report.pk}/").text

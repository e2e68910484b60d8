"""One place, one name (DESIGN.md, "Place"): labels, run lines and sentences spell a city
as its charities do, or in title case when it has none, whatever donors typed."""

import datetime as dt

import pytest

from core.places import title_city
from distributions.models import Distribution, RunCity
from portfolio.services import distribute_funds
from reports.services import generate_reports, reports_by_city
from tests.portfolio.scenario import NOW, WEEK, at, charity, donor, lines, paid

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "label"),
    [
        ("SPRINGFIELD", "Springfield"),
        ("springfield", "Springfield"),
        ("  south   burlington ", "South Burlington"),
        ("WINSTON-SALEM", "Winston-Salem"),
        ("o'fallon", "O'Fallon"),
        ("McAllen", "McAllen"),  # typed with care: kept
    ],
)
def test_a_city_typed_in_one_case_is_titled(typed, label):
    assert title_city(typed) == label


def test_donors_typing_capitals_never_rename_a_city_with_charities(client):
    food = charity(name="Food Shelf")
    loud, quiet = donor("SPRINGFIELD", "VT"), donor("springfield", "VT")
    paid(loud, 1000)
    paid(quiet, 500)

    run = distribute_funds(WEEK, now=NOW)

    assert list(lines(run)) == ["Springfield, VT"]
    assert RunCity.objects.count() == 1
    reasons = set(Distribution.objects.values_list("reason", flat=True))
    assert all("in Springfield, VT" in r and "SPRINGFIELD" not in r for r in reasons)
    assert Distribution.objects.filter(charity=food).count() == 2
    generate_reports(WEEK)
    assert [row[0] for row in reports_by_city(WEEK)] == ["Springfield, VT"]
    client.force_login(loud)
    assert "Springfield, VT" in client.get("/dashboard/").text
    assert "SPRINGFIELD" not in client.get("/").text


def test_a_place_with_no_charity_is_named_in_title_case_once(settings):
    first = donor("CASPER", "WY")
    paid(first, 2000)
    run = distribute_funds(WEEK, now=NOW)
    assert list(lines(run)) == ["Casper, WY"]
    assert lines(run)["Casper, WY"].held_cents == 2000

    # Another spelling joins and pays late in the week; the rerun adds to the same line
    # and counts what is held once.
    paid(donor("casper", "WY"), 700, when=at(WEEK + dt.timedelta(days=6)))
    again = distribute_funds(WEEK, now=NOW)
    assert list(lines(again)) == ["Casper, WY"]
    line = lines(again)["Casper, WY"]
    assert (line.pooled_cents, line.held_cents, line.distributed_cents) == (2700, 2700, 0)
    assert (again.pooled_cents, again.held_cents) == (2700, 2700)


def test_a_line_takes_the_charities_spelling_once_a_charity_is_approved():
    paid(donor("SPRINGFIELD", "KY"), 900)
    run = distribute_funds(WEEK, now=NOW)
    assert list(lines(run)) == ["Springfield, KY"]  # title case while there is no charity
    charity("Springfield", "KY", name="Kentucky Kitchen")
    paid(donor("springfield", "KY"), 100, when=at(WEEK + dt.timedelta(days=6)))
    again = distribute_funds(WEEK, now=NOW)
    line = lines(again)["Springfield, KY"]
    assert line.distributed_cents == 1000
    assert RunCity.objects.count() == 1

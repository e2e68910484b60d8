"""The public charity pages: only approved charities, filters, search, pagination, the
detail page with needs and weekly totals, and the map's markers."""

import datetime as dt
import json

import pytest
from django.urls import reverse

from charities.models import CharityStatus
from tests.factories import CharityFactory, DistributionFactory, NeedFactory

pytestmark = pytest.mark.django_db


def names(response):
    return [c.name for c in response.context["listing"]["page"].object_list]


def test_the_list_shows_approved_charities_only(client):
    CharityFactory(name="Approved Pantry")
    CharityFactory(name="Pending Pantry", verification_status=CharityStatus.PENDING,
                   approved_at=None)  # fmt: skip
    CharityFactory(name="Rejected Pantry", verification_status=CharityStatus.REJECTED,
                   approved_at=None)  # fmt: skip
    response = client.get(reverse("charities:list"))
    assert response.status_code == 200
    assert names(response) == ["Approved Pantry"]
    assert b"Pending Pantry" not in response.content


def test_the_list_filters_by_city_state_category_and_name(client):
    CharityFactory(name="VT Food", city="Springfield", state="VT", category="food")
    CharityFactory(name="KY Food", city="Springfield", state="KY", category="food")
    CharityFactory(name="VT Arts", city="Burlington", state="VT", category="arts")
    url = reverse("charities:list")
    assert names(client.get(url, {"place": "Springfield, KY"})) == ["KY Food"]
    assert names(client.get(url, {"state": "VT"})) == ["VT Arts", "VT Food"]
    assert names(client.get(url, {"category": "food"})) == ["KY Food", "VT Food"]
    assert names(client.get(url, {"q": "arts"})) == ["VT Arts"]
    assert names(client.get(url, {"q": "food", "state": "VT"})) == ["VT Food"]


def test_the_list_is_paginated_and_keeps_the_filters(client):
    for n in range(25):
        CharityFactory(name=f"Pantry {n:02d}", category="food")
    first = client.get(reverse("charities:list"), {"category": "food"})
    assert len(names(first)) == 20
    assert b"category=food&amp;page=2" in first.content
    second = client.get(reverse("charities:list"), {"category": "food", "page": 2})
    assert names(second) == [f"Pantry {n:02d}" for n in range(20, 25)]
    assert client.get(reverse("charities:list"), {"page": "99"}).status_code == 200


def test_the_detail_page_shows_needs_and_weekly_totals(client):
    charity = CharityFactory(name="Food Shelf", ein="123456789")
    NeedFactory(charity=charity, category="food", urgency_score=90, funding_gap_cents=1_250_000)
    DistributionFactory(charity=charity, amount_cents=700, week_start=dt.date(2026, 11, 9))
    DistributionFactory(charity=charity, amount_cents=300, week_start=dt.date(2026, 11, 16))
    DistributionFactory(charity=charity, amount_cents=200, week_start=dt.date(2026, 11, 16))
    response = client.get(reverse("charities:detail", args=[charity.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "90/100" in html
    assert "$12,500" in html
    assert "12-3456789" in html
    assert "$12.00" in html  # all time
    assert response.context["weeks"] == [(dt.date(2026, 11, 16), 500), (dt.date(2026, 11, 9), 700)]
    assert "<svg" in html
    assert 'id="charity-map"' in html


def test_the_detail_page_hides_stale_needs(client):
    from django.utils import timezone

    charity = CharityFactory()
    NeedFactory(charity=charity, urgency_score=77,
                last_updated=timezone.now() - dt.timedelta(days=90))  # fmt: skip
    response = client.get(reverse("charities:detail", args=[charity.pk]))
    assert "77/100" not in response.content.decode()
    assert "no current needs" in response.content.decode()


@pytest.mark.parametrize("status", [CharityStatus.PENDING, CharityStatus.REJECTED])
def test_an_unapproved_charity_is_not_found(client, status):
    charity = CharityFactory(verification_status=status, approved_at=None)
    assert client.get(reverse("charities:detail", args=[charity.pk])).status_code == 404


def test_the_map_carries_every_approved_charity_with_coordinates(client):
    a = CharityFactory(name="On the map", latitude=43.3, longitude=-72.5)
    CharityFactory(name="No coordinates", latitude=None, longitude=None, coordinates_source=None)
    CharityFactory(name="Pending", verification_status=CharityStatus.PENDING, approved_at=None)
    response = client.get(reverse("charities:map"))
    assert response.status_code == 200
    html = response.content.decode()
    markers = response.context["markers"]
    assert [m["id"] for m in markers] == [a.pk]
    assert 'id="map-markers"' in html
    assert "leaflet/leaflet.js" in html
    assert "js/charities-map.js" in html
    assert '<option value="Springfield, VT">' in html
    config = response.context["map_config"]
    assert config["detailUrl"] == "/charities/0/"
    assert config["centre"] is None


def test_the_map_centres_on_a_signed_in_donors_city(client, alice):
    CharityFactory(latitude=43.0, longitude=-72.0)
    CharityFactory(latitude=44.0, longitude=-73.0)
    CharityFactory(city="Springfield", state="KY", latitude=10.0, longitude=10.0)
    client.force_login(alice)
    centre = client.get(reverse("charities:map")).context["map_config"]["centre"]
    assert centre["lat"] == pytest.approx(43.5)
    assert centre["lng"] == pytest.approx(-72.5)


def test_the_map_json_is_script_safe(client):
    CharityFactory(name="</script><script>alert(1)</script>")
    html = client.get(reverse("charities:map")).content.decode()
    payload = html.split('id="map-markers" type="application/json">')[1].split("</script>")[0]
    assert json.loads(payload)[0]["name"] == "</script><script>alert(1)</script>"
    assert "<script>alert(1)" not in html


def test_a_newly_approved_charity_is_listed_at_once_although_the_list_is_cached(
    client, carol, django_capture_on_commit_callbacks
):
    from charities.services import approve_charity

    CharityFactory(name="Old Friends Pantry")
    assert "Old Friends Pantry" in client.get("/charities/").content.decode()
    newcomer = CharityFactory(
        name="Newcomer Shelter", verification_status="pending", approved_at=None
    )
    with django_capture_on_commit_callbacks(execute=True):
        approve_charity(newcomer, by=carol)
    assert "Newcomer Shelter" in client.get("/charities/").content.decode()


def test_a_repeated_question_is_answered_from_the_cache(client, django_assert_num_queries):
    CharityFactory(name="Cached Pantry")
    client.get("/charities/?category=human_services")
    with django_assert_num_queries(0):
        response = client.get("/charities/?category=human_services")
    assert "Cached Pantry" in response.content.decode()


def test_the_map_tells_a_place_it_has_no_charity_in_and_shows_every_city(client):
    CharityFactory(name="VT Food", city="Springfield", state="VT")
    CharityFactory(name="KY Food", city="Springfield", state="KY", latitude=37.7, longitude=-85.2)
    response = client.get(reverse("charities:map"), {"place": "springfield, ky"})
    assert response.context["chosen"] == "Springfield, KY"
    assert response.context["shown_count"] == 1
    assert 'data-place="Springfield, VT" hidden' in response.content.decode()
    response = client.get(reverse("charities:map"), {"place": "Springfield, NY"})
    problem = response.context["problem"]
    assert problem["message"] == (
        "We list no charities in Springfield, NY: Springfield is in Kentucky and Vermont."
    )
    assert [label for label, _ in problem["links"]] == ["Springfield, KY", "Springfield, VT"]
    assert response.context["chosen"] == "" and response.context["shown_count"] == 2
    # A city with no charity, in a state that has some: the map has no state filter, so
    # it offers no link to one.
    response = client.get(reverse("charities:map"), {"place": "Nowhere, VT"})
    assert response.context["problem"] == {
        "message": "We list no charities in Nowhere, VT.",
        "links": [],
    }

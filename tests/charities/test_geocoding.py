"""Geocoding against a Nominatim-compatible server on 127.0.0.1 (never the internet)."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command

from charities.geocoding import geocode_charities
from charities.models import Charity
from core import zips
from tests.factories import CharityFactory, UserFactory
from tests.local_http import send

pytestmark = pytest.mark.django_db

# ZIP 05156 (Springfield, VT): the zipcodes package's centroid.
SPRINGFIELD_ZIP = (zips.lookup("05156").latitude, zips.lookup("05156").longitude)
NEAR_SPRINGFIELD = (43.2995, -72.4790)  # a street in town
SAN_DIEGO = (32.7157, -117.1611)


class FakeNominatim:
    """/search answers like Nominatim: a JSON list of {lat, lon, display_name}."""

    def __init__(self, server):
        self.server = server
        self.answer = [NEAR_SPRINGFIELD]
        self.status = 200
        self.queries = []
        self.user_agents = []
        server.routes["/search"] = self.search

    def search(self, handler):
        self.queries.append(parse_qs(urlsplit(handler.path).query))
        self.user_agents.append(handler.headers.get("User-Agent"))
        if self.status != 200:
            send(handler, self.status, b"overloaded", "text/plain")
            return
        body = [
            {"lat": str(lat), "lon": str(lon), "display_name": "Somewhere, Vermont, USA"}
            for lat, lon in self.answer
        ]
        send(handler, 200, json.dumps(body).encode())


@pytest.fixture
def nominatim(server, settings):
    settings.GEOCODER_PROVIDER = "nominatim"
    settings.GEOCODER_DOMAIN = "{}:{}".format(*server.httpd.server_address[:2])
    settings.GEOCODER_SCHEME = "http"
    settings.GEOCODER_USER_AGENT = "hometown-tests/1.0"
    settings.GEOCODER_MIN_DELAY_SECONDS = 0
    settings.GEOCODER_TIMEOUT = 2
    return FakeNominatim(server)


def unlocated(**kwargs):
    return CharityFactory(latitude=None, longitude=None, coordinates_source=None, **kwargs)


def coords(charity):
    charity.refresh_from_db()
    return charity.latitude, charity.longitude, charity.coordinates_source


def test_it_fills_missing_coordinates_from_the_geocoder(nominatim, capsys):
    charity = unlocated(name="Springfield Food Shelf")
    call_command("geocode_charities")
    assert coords(charity) == (*NEAR_SPRINGFIELD, "geocoder")
    query = nominatim.queries[0]
    assert query["q"] == ["Springfield Food Shelf, Springfield, VT 05156"]
    assert query["countrycodes"] == ["us"]
    assert nominatim.user_agents == ["hometown-tests/1.0"]
    assert "1  geocoded" in capsys.readouterr().out


def test_it_falls_back_to_the_zip_centroid_when_nothing_is_found(nominatim):
    nominatim.answer = []
    charity = unlocated()
    call_command("geocode_charities")
    assert coords(charity) == (*SPRINGFIELD_ZIP, "zip")


def test_it_falls_back_to_the_zip_centroid_when_the_geocoder_fails(nominatim):
    nominatim.status = 503
    charities = [unlocated() for _ in range(5)]
    result = geocode_charities(charities)
    assert result.counts["zip"] == 5
    for charity in charities:
        assert coords(charity) == (*SPRINGFIELD_ZIP, "zip")
    # After a few errors in a row the run stops asking the geocoder.
    assert len(nominatim.queries) < 5 * 2


def test_an_answer_far_from_the_zip_is_another_place(nominatim):
    nominatim.answer = [SAN_DIEGO]
    charity = unlocated()
    call_command("geocode_charities")
    assert coords(charity) == (*SPRINGFIELD_ZIP, "zip")


def test_offline_uses_the_zip_centroid_and_never_calls_the_geocoder(nominatim):
    charity = unlocated()
    call_command("geocode_charities", "--offline")
    assert coords(charity) == (*SPRINGFIELD_ZIP, "zip")
    assert nominatim.server.requests == []


def test_coordinates_set_by_hand_are_never_overwritten(nominatim):
    charity = CharityFactory(latitude=44.0, longitude=-73.0, coordinates_source="manual")
    call_command("geocode_charities", "--all")
    call_command("geocode_charities", "--all", "--offline")
    assert coords(charity) == (44.0, -73.0, "manual")
    assert nominatim.queries == []


def test_by_default_located_charities_are_skipped_and_all_redoes_them(nominatim):
    charity = CharityFactory(coordinates_source="zip")  # the factory's ZIP-ish point
    call_command("geocode_charities")
    assert coords(charity)[2] == "zip"
    call_command("geocode_charities", "--all")
    assert coords(charity) == (*NEAR_SPRINGFIELD, "geocoder")


def test_a_zip_centroid_never_replaces_geocoded_coordinates(nominatim):
    charity = CharityFactory(latitude=43.3, longitude=-72.48, coordinates_source="geocoder")
    call_command("geocode_charities", "--all", "--offline")
    assert coords(charity) == (43.3, -72.48, "geocoder")


def test_a_charity_with_no_known_zip_is_reported_not_located(nominatim, capsys):
    nominatim.answer = []
    charity = unlocated(zip_code="")
    call_command("geocode_charities")
    assert coords(charity) == (None, None, None)
    assert "not located" in capsys.readouterr().out


def test_an_unknown_provider_is_a_clear_error(nominatim, settings):
    from django.core.management import CommandError

    settings.GEOCODER_PROVIDER = "no-such-geocoder"
    unlocated()
    with pytest.raises(CommandError, match="GEOCODER_PROVIDER"):
        call_command("geocode_charities")


# --- the admin action --------------------------------------------------------------------


@pytest.fixture
def staff_client(client):
    user = UserFactory(email="sam@example.org", is_staff=True, city="", state="", zip_code="")
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="charities"))
    client.force_login(user)
    return client


def run_action(client, charities):
    return client.post(
        "/admin/charities/charity/",
        {"action": "geocode_selected", "_selected_action": [c.pk for c in charities]},
        follow=True,
    )


def test_the_admin_action_geocodes_the_selected_charities(nominatim, staff_client):
    chosen = unlocated(name="Chosen")
    manual = CharityFactory(latitude=44.0, longitude=-73.0, coordinates_source="manual")
    other = unlocated(name="Not chosen")
    response = run_action(staff_client, [chosen, manual])
    assert response.status_code == 200
    assert coords(chosen) == (*NEAR_SPRINGFIELD, "geocoder")
    assert coords(manual) == (44.0, -73.0, "manual")
    assert coords(other) == (None, None, None)
    messages = [str(m) for m in response.context["messages"]]
    assert messages == ["Geocoded 2 charities: 1 geocoded, 1 kept (set by hand)."]


def test_the_admin_action_refuses_too_many_and_changes_nothing(nominatim, staff_client):
    from charities.admin import GEOCODE_ACTION_LIMIT

    charities = [unlocated() for _ in range(GEOCODE_ACTION_LIMIT + 1)]
    response = run_action(staff_client, charities)
    assert response.status_code == 200
    assert "Nothing changed" in " ".join(str(m) for m in response.context["messages"])
    assert not Charity.objects.filter(latitude__isnull=False).exists()
    assert nominatim.queries == []

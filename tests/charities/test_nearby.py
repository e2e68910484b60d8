"""charities.selectors.get_charities_near: approved charities within N km, nearest first."""

import pytest
from django.core.exceptions import ValidationError
from geopy.distance import geodesic

from charities.models import CharityStatus
from charities.selectors import get_charities_near
from tests.factories import CharityFactory

pytestmark = pytest.mark.django_db

CENTRE = (43.2984, -72.4823)


def at(km, bearing=45, origin=CENTRE, **kwargs):
    point = geodesic(kilometers=km).destination(origin, bearing=bearing)
    return CharityFactory(latitude=point.latitude, longitude=point.longitude, **kwargs)


def test_it_returns_approved_charities_within_the_radius_nearest_first():
    far = at(9.0, name="Far")
    near = at(1.0, bearing=200, name="Near")
    middle = at(5.0, bearing=300, name="Middle")
    at(10.5, name="Outside")
    at(2.0, name="Pending", verification_status=CharityStatus.PENDING, approved_at=None)
    at(2.0, name="Rejected", verification_status=CharityStatus.REJECTED, approved_at=None)
    CharityFactory(latitude=None, longitude=None, coordinates_source=None, name="Unplaced")

    found = get_charities_near(*CENTRE, 10)

    assert [c.name for c in found] == [near.name, middle.name, far.name]
    assert [round(c.distance_km, 3) for c in found] == [1.0, 5.0, 9.0]


def test_the_bounding_box_never_cuts_off_a_charity_inside_the_radius():
    # Due east and due north at just under the radius: the corners of the SQL box.
    east = at(49.9, bearing=90)
    north = at(49.9, bearing=0)
    south_west = at(49.9, bearing=225)
    assert {c.pk for c in get_charities_near(*CENTRE, 50)} == {east.pk, north.pk, south_west.pk}


def test_it_works_across_the_date_line():
    origin = (-16.5, 179.95)  # Fiji
    across = at(8.0, bearing=90, origin=origin)
    assert across.longitude < 0
    assert [c.pk for c in get_charities_near(*origin, 10)] == [across.pk]


def test_it_works_near_a_pole():
    origin = (89.95, 0.0)
    other_side = CharityFactory(latitude=89.95, longitude=180.0)  # ~11 km, over the pole
    assert [c.pk for c in get_charities_near(*origin, 30)] == [other_side.pk]


@pytest.mark.parametrize(
    ("lat", "lon", "km"),
    [
        (91, 0, 10),
        (0, 181, 10),
        ("43.2", -72.4, 10),
        (True, -72.4, 10),
        (43.2, float("nan"), 10),
        (43.2, -72.4, 0),
        (43.2, -72.4, -5),
        (43.2, -72.4, 501),
        (43.2, -72.4, None),
    ],
)
def test_bad_arguments_are_refused(lat, lon, km):
    with pytest.raises(ValidationError):
        get_charities_near(lat, lon, km)

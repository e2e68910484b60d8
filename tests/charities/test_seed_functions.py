import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from charities.models import Charity
from charities.selectors import (
    get_all_charities,
    get_approved_charity,
    get_charities_by_city,
    get_charities_with_coordinates,
    get_charity,
    get_pending_charities,
)
from charities.services import (
    approve_charity,
    create_charity,
    reject_charity,
    update_charity,
    update_charity_coordinates,
)
from tests.factories import CharityFactory

pytestmark = pytest.mark.django_db


def _fields(exc) -> set[str]:
    return set(exc.value.message_dict)


def test_create_charity_is_pending_and_tidies_place_and_ein():
    charity = create_charity(
        name=" Food Shelf ", city=" springfield ", state="vt", ein="03-0179429", category="food"
    )
    assert charity.verification_status == "pending"
    assert (charity.name, charity.state, charity.ein) == ("Food Shelf", "VT", "030179429")
    assert charity.approved_at is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"city": ""}, "city"),
        ({"state": "Vermont"}, "state"),
        ({"category": "yachts"}, "category"),
        ({"ein": "12345"}, "ein"),
        ({"zip_code": "5156"}, "zip_code"),
        ({"website": "not a url"}, "website"),
        ({"contact_email": "nobody"}, "contact_email"),
    ],
)
def test_create_charity_names_the_bad_field_and_writes_nothing(kwargs, field):
    values = dict(name="Food Shelf", city="Springfield", state="VT")
    values.update(kwargs)
    with pytest.raises(ValidationError) as exc:
        create_charity(**values)
    assert field in _fields(exc)
    assert not Charity.objects.exists()


def test_create_charity_refuses_an_ein_already_used():
    CharityFactory(ein="030179429")
    with pytest.raises(ValidationError) as exc:
        create_charity(name="Copy", city="Springfield", state="VT", ein="030179429")
    assert _fields(exc) == {"ein"}
    assert Charity.objects.count() == 1


def test_update_charity_changes_fields_and_keeps_status():
    charity = CharityFactory(name="Old", verification_status="approved")
    update_charity(charity, name="New", description="Now with a kitchen.")
    charity.refresh_from_db()
    assert (charity.name, charity.description, charity.verification_status) == (
        "New",
        "Now with a kitchen.",
        "approved",
    )


def test_update_charity_writes_nothing_when_one_value_is_bad():
    charity = CharityFactory(name="Old")
    with pytest.raises(ValidationError) as exc:
        update_charity(charity, name="New", state="XX")
    assert _fields(exc) == {"state"}
    charity.refresh_from_db()
    assert charity.name == "Old"


def test_approve_sets_who_and_when(carol):
    charity = CharityFactory(verification_status="pending", approved_at=None)
    approve_charity(charity, by=carol, note="Checked the 990.")
    charity.refresh_from_db()
    assert charity.verification_status == "approved"
    assert charity.approved_by == carol and charity.approved_at is not None
    assert "Checked the 990." in charity.admin_notes


def test_reject_keeps_the_note_and_clears_the_approval(carol):
    charity = CharityFactory()
    reject_charity(charity, by=carol, note="Not a local charity.")
    charity.refresh_from_db()
    assert (charity.verification_status, charity.approved_at) == ("rejected", None)
    assert "Not a local charity." in charity.admin_notes


def test_reject_needs_a_note(carol):
    charity = CharityFactory()
    with pytest.raises(ValidationError) as exc:
        reject_charity(charity, by=carol, note="  ")
    assert _fields(exc) == {"note"}
    charity.refresh_from_db()
    assert charity.verification_status == "approved"


def test_only_staff_with_the_vetting_permission_may_approve(alice, dave):
    charity = CharityFactory(verification_status="pending", approved_at=None)
    for person in (alice, dave):
        with pytest.raises(PermissionDenied):
            approve_charity(charity, by=person)
    charity.refresh_from_db()
    assert charity.verification_status == "pending"


def test_update_coordinates_records_the_source_and_spares_manual_ones():
    charity = CharityFactory(latitude=None, longitude=None, coordinates_source=None)
    update_charity_coordinates(charity, latitude=43.3, longitude=-72.5)
    assert charity.coordinates_source == "manual"
    update_charity_coordinates(
        charity, latitude=1.0, longitude=2.0, source="zip", overwrite_manual=False
    )
    charity.refresh_from_db()
    assert (charity.latitude, charity.longitude, charity.coordinates_source) == (
        43.3,
        -72.5,
        "manual",
    )
    update_charity_coordinates(charity, latitude=None, longitude=None)
    charity.refresh_from_db()
    assert (charity.latitude, charity.coordinates_source) == (None, None)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"latitude": 91, "longitude": 0}, "latitude"),
        ({"latitude": 0, "longitude": -181}, "longitude"),
        ({"latitude": "43", "longitude": 0}, "latitude"),
        ({"latitude": float("nan"), "longitude": 0}, "latitude"),
        ({"latitude": 1, "longitude": 1, "source": "gps"}, "source"),
    ],
)
def test_update_coordinates_refuses_bad_values(kwargs, field):
    charity = CharityFactory()
    with pytest.raises(ValidationError) as exc:
        update_charity_coordinates(charity, **kwargs)
    assert _fields(exc) == {field}
    charity.refresh_from_db()
    assert (charity.latitude, charity.longitude) == (43.29, -72.48)


def test_get_charity_and_get_approved_charity():
    pending = CharityFactory(verification_status="pending", approved_at=None)
    assert get_charity(pending.pk) == pending
    assert get_approved_charity(pending.pk) is None
    with pytest.raises(ValidationError) as exc:
        get_charity("seven")
    assert _fields(exc) == {"charity_id"}


def test_get_charities_by_city_returns_approved_ones_of_that_city_only():
    vt = CharityFactory(name="B VT", city="Springfield", state="VT")
    CharityFactory(name="A KY", city="Springfield", state="KY")
    CharityFactory(name="Pending", verification_status="pending", approved_at=None)
    CharityFactory(name="Rejected", verification_status="rejected", approved_at=None)
    assert list(get_charities_by_city(" SPRINGFIELD  ", "vt")) == [vt]
    with pytest.raises(ValidationError) as exc:
        get_charities_by_city("Springfield", "")
    assert _fields(exc) == {"state"}


def test_get_charities_with_coordinates_skips_unplaced_and_unapproved():
    placed = CharityFactory()
    CharityFactory(latitude=None, longitude=None, coordinates_source=None)
    CharityFactory(verification_status="pending", approved_at=None)
    assert list(get_charities_with_coordinates()) == [placed]


def test_get_pending_charities_oldest_first():
    first = CharityFactory(verification_status="pending", approved_at=None)
    second = CharityFactory(verification_status="pending", approved_at=None)
    CharityFactory()
    assert list(get_pending_charities()) == [first, second]


def test_get_all_charities_filters_combine():
    food = CharityFactory(name="Food Shelf", category="food", ein="030179429")
    CharityFactory(name="Arts Council", category="arts")
    CharityFactory(name="Food Bank KY", category="food", state="KY")
    CharityFactory(
        name="Food Pending", category="food", verification_status="pending", approved_at=None
    )
    assert list(
        get_all_charities(status="approved", city="springfield", state="VT", category="food")
    ) == [food]
    assert list(get_all_charities(text="03-01794")) == [food]
    assert {c.name for c in get_all_charities(text="food")} == {
        "Food Shelf",
        "Food Bank KY",
        "Food Pending",
    }
    assert get_all_charities(state="KY").count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"status": "maybe"}, "status"),
        ({"category": "yachts"}, "category"),
        ({"state": "Vermont"}, "state"),
        ({"text": 5}, "text"),
        ({"text": "x" * 201}, "text"),
    ],
)
def test_get_all_charities_refuses_bad_filters(kwargs, field):
    with pytest.raises(ValidationError) as exc:
        get_all_charities(**kwargs)
    assert _fields(exc) == {field}

import pytest
from django.core.exceptions import ValidationError

from accounts.models import User
from accounts.selectors import get_user_by_email, get_user_by_id
from accounts.services import create_user, update_user

pytestmark = pytest.mark.django_db


def _fields(exc: ValidationError) -> set[str]:
    return set(exc.value.message_dict)


def test_create_user_stores_the_email_lower_case_and_fills_the_place_from_the_zip():
    user = create_user(
        email="  Dana@Example.ORG ", password="a long enough pass 9", zip_code="40069"
    )
    assert user.email == "dana@example.org"
    assert (user.city, user.state, user.zip_code) == ("Springfield", "KY", "40069")
    assert user.check_password("a long enough pass 9")


def test_create_user_refuses_an_email_taken_in_another_case(alice):
    with pytest.raises(ValidationError) as exc:
        create_user(email="ALICE@example.org", password="a long enough pass 9")
    assert _fields(exc) == {"email"}
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": 42}, "email"),
        ({"email": "x@example.org", "zip_code": "00000"}, "zip_code"),
        ({"email": "x@example.org", "zip_code": "05156", "state": "KY"}, "zip_code"),
        ({"email": "x@example.org", "city": "Springfield"}, "state"),
        ({"email": "x@example.org", "city": "Springfield", "state": "XX"}, "state"),
        ({"email": "x@example.org", "password": "123"}, "password"),
        ({"email": "x@example.org", "name": "n" * 151}, "name"),
    ],
)
def test_create_user_names_the_bad_field_and_writes_nothing(kwargs, field):
    with pytest.raises(ValidationError) as exc:
        create_user(**kwargs)
    assert field in _fields(exc)
    assert not User.objects.exists()


def test_update_user_moves_a_donor_by_zip_alone(alice):
    update_user(alice, zip_code="82001")
    alice.refresh_from_db()
    assert (alice.city, alice.state, alice.zip_code) == ("Cheyenne", "WY", "82001")


def test_update_user_keeps_everything_when_one_value_is_bad(alice):
    with pytest.raises(ValidationError) as exc:
        update_user(alice, name="Alice B", zip_code="99999")
    assert _fields(exc) == {"zip_code"}
    alice.refresh_from_db()
    assert (alice.name, alice.zip_code) == ("Alice", "05156")


def test_update_user_refuses_a_non_boolean_email_preference(alice):
    with pytest.raises(ValidationError) as exc:
        update_user(alice, wants_report_emails="yes")
    assert _fields(exc) == {"wants_report_emails"}


def test_get_user_by_email_ignores_case_and_spaces(alice, bob):
    assert get_user_by_email("  ALICE@example.org ") == alice
    assert get_user_by_email("nobody@example.org") is None


def test_get_user_by_id_finds_the_user_or_none(alice):
    assert get_user_by_id(alice.pk) == alice
    assert get_user_by_id(str(alice.pk)) == alice
    assert get_user_by_id(alice.pk + 1000) is None


@pytest.mark.parametrize("bad", ["abc", None, -1, 1.5])
def test_get_user_by_id_refuses_what_is_not_an_id(bad):
    with pytest.raises(ValidationError) as exc:
        get_user_by_id(bad)
    assert _fields(exc) == {"user_id"}


@pytest.mark.parametrize("bad", ["", "   ", None, 7])
def test_get_user_by_email_refuses_what_is_not_an_email(bad):
    with pytest.raises(ValidationError) as exc:
        get_user_by_email(bad)
    assert _fields(exc) == {"email"}

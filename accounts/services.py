"""Writes for users. Every function checks its arguments first and raises
ValidationError naming the field, so a bad call writes nothing."""

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from core import zips
from core.places import normalize_city, normalize_state
from core.validation import UNSET, require_instance, require_text

from .models import User, normalize_email_address
from .selectors import get_user_by_email


def _clean_email(email) -> str:
    if not isinstance(email, str):
        raise ValidationError({"email": "Email must be text."})
    email = normalize_email_address(email)
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": f"{email!r} is not a valid email address."}) from None
    return email


def resolve_place(*, city="", state="", zip_code="") -> tuple[str, str, str]:
    """Check a (city, state, ZIP) triple and fill what a ZIP implies.

    A ZIP alone fills city and state (offline, from the zipcodes package). A ZIP that does
    not exist, or one in another state than the one given, is an error on zip_code. City
    and state come together or not at all.
    """
    zip_code = require_text(zip_code, "zip_code", max_length=10, required=False)
    city = require_text(city, "city", max_length=100, required=False)
    state = require_text(state, "state", max_length=2, required=False)
    if zip_code:
        info = zips.lookup(zip_code)
        if info is None or len(zip_code) != 5:
            raise ValidationError({"zip_code": f"{zip_code!r} is not a US ZIP code."})
        if state and normalize_state(state) != info.state:
            raise ValidationError(
                {"zip_code": f"ZIP {zip_code} is in {info.state}, not {state.upper()}."}
            )
        if not city:
            city, state = info.city, info.state
        state = state or info.state
    if bool(city) != bool(state):
        missing = "state" if city else "city"
        raise ValidationError({missing: "City and state go together: give both or neither."})
    if city:
        city, state = normalize_city(city), normalize_state(state)
    return city, state, zip_code


@transaction.atomic
def create_user(
    *,
    email: str,
    password: str | None = None,
    name: str = "",
    city: str = "",
    state: str = "",
    zip_code: str = "",
    is_staff: bool = False,
    validate_password: bool = True,
) -> User:
    email = _clean_email(email)
    if get_user_by_email(email) is not None:
        raise ValidationError({"email": "A user with this email address already exists."})
    name = require_text(name, "name", max_length=150, required=False)
    city, state, zip_code = resolve_place(city=city, state=state, zip_code=zip_code)
    user = User(
        email=email, name=name, city=city, state=state, zip_code=zip_code, is_staff=is_staff
    )
    if password is not None:
        if validate_password:
            try:
                password_validation.validate_password(password, user)
            except ValidationError as exc:
                raise ValidationError({"password": exc.messages}) from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def update_user(
    user: User,
    *,
    name=UNSET,
    city=UNSET,
    state=UNSET,
    zip_code=UNSET,
    wants_report_emails=UNSET,
) -> User:
    """Change a user's profile. Setting zip_code alone re-derives city and state."""
    require_instance(user, "user", User)
    fields = []
    if name is not UNSET:
        user.name = require_text(name, "name", max_length=150, required=False)
        fields.append("name")
    if city is not UNSET or state is not UNSET or zip_code is not UNSET:
        new_zip = user.zip_code if zip_code is UNSET else zip_code
        if zip_code is not UNSET and city is UNSET and state is UNSET:
            new_city, new_state = "", ""  # a new ZIP alone moves the donor
        else:
            new_city = user.city if city is UNSET else city
            new_state = user.state if state is UNSET else state
        user.city, user.state, user.zip_code = resolve_place(
            city=new_city, state=new_state, zip_code=new_zip
        )
        fields += ["city", "state", "zip_code"]
    if wants_report_emails is not UNSET:
        if not isinstance(wants_report_emails, bool):
            raise ValidationError({"wants_report_emails": "Must be true or false."})
        user.wants_report_emails = wants_report_emails
        fields.append("wants_report_emails")
    if fields:
        user.full_clean(exclude=["password"], validate_unique=False)
        user.save(update_fields=[*fields, "updated_at"])
    return user

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from core.db import column_list, prepared_raw
from core.places import city_q
from core.validation import id_of

from .models import User, normalize_email_address


def get_user_by_id(user_id) -> User | None:
    return User.objects.filter(pk=id_of(user_id, "user_id", User)).first()


_USER_BY_ID_SQL = f'SELECT {column_list(User)} FROM "accounts_user" WHERE "id" = %(id)s'  # noqa: S608 (the model's own column names)


def get_user_for_session(user_id) -> User | None:
    """The user a session names (accounts.backends), or None: one prepared statement, since
    every signed-in request reads it. user_id is what django.contrib.auth read from the
    session (the primary key, already converted); anything that is not one finds no one."""
    if type(user_id) is not int or user_id < 1:
        return None
    rows = prepared_raw(User, _USER_BY_ID_SQL, {"id": user_id})
    return rows[0] if rows else None


def get_user_by_email(email) -> User | None:
    """Case-insensitive: emails are stored lower-case (a database constraint)."""
    if not isinstance(email, str) or not email.strip():
        raise ValidationError({"email": "Email must be non-empty text."})
    return User.objects.filter(email=normalize_email_address(email)).first()


def get_users_by_city(city: str, state: str) -> QuerySet[User]:
    """The users whose city is this place (trimmed, case-insensitive)."""
    return User.objects.filter(city_q(city, state)).order_by("id")

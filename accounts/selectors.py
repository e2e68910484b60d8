from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from core.places import city_q
from core.validation import id_of

from .models import User, normalize_email_address


def get_user_by_id(user_id) -> User | None:
    return User.objects.filter(pk=id_of(user_id, "user_id", User)).first()


def get_user_by_email(email) -> User | None:
    """Case-insensitive: emails are stored lower-case (a database constraint)."""
    if not isinstance(email, str) or not email.strip():
        raise ValidationError({"email": "Email must be non-empty text."})
    return User.objects.filter(email=normalize_email_address(email)).first()


def get_users_by_city(city: str, state: str) -> QuerySet[User]:
    """The users whose city is this place (trimmed, case-insensitive)."""
    return User.objects.filter(city_q(city, state)).order_by("id")

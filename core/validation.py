"""Argument checks for services and selectors.

Each raises ValidationError({field: message}) naming the argument, before anything is
written, so a bad call changes nothing.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models

UNSET = object()  # "argument not given" for partial updates, where None is a real value


def require_int(value, field, *, min_value=None, max_value=None) -> int:
    # bool is an int in Python; a True amount is a bug, not one cent.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({field: f"{field} must be a whole number, got {value!r}."})
    if min_value is not None and value < min_value:
        raise ValidationError({field: f"{field} must be at least {min_value}, got {value}."})
    if max_value is not None and value > max_value:
        raise ValidationError({field: f"{field} must be at most {max_value}, got {value}."})
    return value


def require_text(value, field, *, max_length, required=True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ValidationError({field: f"{field} must be text, got {type(value).__name__}."})
    value = value.strip()
    if required and not value:
        raise ValidationError({field: f"{field} is required."})
    if len(value) > max_length:
        raise ValidationError({field: f"{field} is longer than {max_length} characters."})
    return value


def require_choice(value, field, choices) -> str:
    allowed = [c[0] if isinstance(c, (tuple, list)) else c for c in choices]
    if value not in allowed:
        raise ValidationError(
            {field: f"{value!r} is not one of: {', '.join(repr(a) for a in allowed)}."}
        )
    return value


def require_date(value, field) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValidationError({field: f"{field} must be a date, got {value!r}."})
    return value


def require_aware_datetime(value, field) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValidationError({field: f"{field} must be an aware datetime, got {value!r}."})
    return value


def require_instance(value, field, model: type[models.Model]):
    if not isinstance(value, model) or value.pk is None:
        raise ValidationError({field: f"{field} must be a saved {model.__name__}."})
    return value


def id_of(value, field, model: type[models.Model]) -> int:
    """A saved instance of `model`, or a positive integer id -> the id."""
    if isinstance(value, model):
        if value.pk is None:
            raise ValidationError({field: f"{field} must be a saved {model.__name__}."})
        return value.pk
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return require_int(value, field, min_value=1)

import datetime as dt

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from accounts.models import User
from charities.models import Charity
from core.validation import id_of, require_date
from subscriptions.models import Subscription

from .models import Distribution


def _base() -> QuerySet[Distribution]:
    return Distribution.objects.select_related("charity", "subscription")


def get_distributions_by_subscription(subscription) -> QuerySet[Distribution]:
    return (
        _base()
        .filter(subscription_id=id_of(subscription, "subscription", Subscription))
        .order_by("-week_start", "-amount_cents", "charity_id")
    )


def get_distributions_by_user(user) -> QuerySet[Distribution]:
    """Every row of every subscription of a donor, newest week first."""
    return (
        _base()
        .filter(subscription__user_id=id_of(user, "user", User))
        .order_by("-week_start", "-amount_cents", "charity_id")
    )


def get_distributions_by_charity(charity) -> QuerySet[Distribution]:
    return (
        _base()
        .filter(charity_id=id_of(charity, "charity", Charity))
        .order_by("-week_start", "subscription_id")
    )


def get_distributions_by_week(week_start: dt.date) -> QuerySet[Distribution]:
    require_date(week_start, "week_start")
    if week_start.weekday() != 0:
        raise ValidationError({"week_start": f"{week_start} is not a Monday."})
    return _base().filter(week_start=week_start).order_by("charity_id", "subscription_id")

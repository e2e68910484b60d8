import datetime as dt

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet

from accounts.models import User
from core.places import city_q
from core.validation import id_of
from core.weeks import week_bounds

from .models import DEMO_ID_PREFIX, Contribution, Subscription, SubscriptionStatus


def get_subscription_by_stripe_id(stripe_subscription_id) -> Subscription | None:
    if not isinstance(stripe_subscription_id, str) or not stripe_subscription_id.strip():
        raise ValidationError({"stripe_subscription_id": "Must be non-empty text."})
    return (
        Subscription.objects.select_related("user")
        .filter(stripe_subscription_id=stripe_subscription_id.strip())
        .first()
    )


def get_user_subscriptions(user) -> QuerySet[Subscription]:
    """A donor's subscriptions, newest first, whatever their status."""
    return Subscription.objects.filter(user_id=id_of(user, "user", User)).order_by(
        "-created_at", "-id"
    )


def get_active_subscriptions_by_city(city: str, state: str) -> QuerySet[Subscription]:
    return (
        Subscription.objects.select_related("user")
        .filter(city_q(city, state, prefix="user__"), status=SubscriptionStatus.ACTIVE)
        .order_by("id")
    )


def get_demo_charges_due(
    week_start: dt.date, *, city: str | None = None, state: str | None = None
) -> QuerySet[Subscription]:
    """Demo billing: the active demo subscriptions (of one city, when given) that have
    started by the end of the week and have no contribution paid in it, i.e. what
    subscriptions.services.bill_demo_week would charge for the week. `week_start` is a
    checked Monday."""
    start, end = week_bounds(week_start)
    paid = Contribution.objects.filter(
        subscription_id=OuterRef("pk"), paid_at__gte=start, paid_at__lt=end
    )
    subscriptions = (
        Subscription.objects.filter(status=SubscriptionStatus.ACTIVE)
        if city is None
        else get_active_subscriptions_by_city(city, state)
    )
    return subscriptions.filter(
        stripe_subscription_id__startswith=DEMO_ID_PREFIX,
        start_date__lte=week_start + dt.timedelta(days=6),
    ).filter(~Exists(paid))


def has_undistributed_money() -> bool:
    """True while any contribution collected has not been distributed yet."""
    return Contribution.objects.filter(distributed_week__isnull=True).exists()

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from accounts.models import User
from core.places import city_q
from core.validation import id_of

from .models import Subscription, SubscriptionStatus


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

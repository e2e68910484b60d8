from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from charities.models import Charity
from needs.models import Need
from subscriptions.models import Contribution, Subscription

pytestmark = pytest.mark.django_db


def _snapshot():
    return {
        "users": sorted(User.objects.values_list("email", "city", "state", "password")),
        "charities": sorted(Charity.objects.values_list("ein", "verification_status")),
        "needs": sorted(
            Need.objects.values_list(
                "charity__ein", "category", "urgency_score", "funding_gap_cents", "last_updated"
            )
        ),
        "subscriptions": sorted(
            Subscription.objects.values_list("stripe_subscription_id", "amount_cents", "status")
        ),
        "contributions": sorted(
            Contribution.objects.values_list("stripe_invoice_id", "amount_cents", "paid_at")
        ),
    }


def _seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_it_builds_the_demo_world_and_a_second_run_changes_nothing(settings):
    settings.DEBUG = True
    out = _seed()
    first = _snapshot()

    cities = set(
        Charity.objects.filter(verification_status="approved").values_list("city", "state")
    )
    assert {("Springfield", "VT"), ("Springfield", "KY")} <= cities
    assert len(cities) >= 3
    assert Charity.objects.filter(verification_status="pending").exists()
    approved_ids = Charity.objects.filter(verification_status="approved").values("id")
    assert (
        Need.objects.filter(charity__in=approved_ids).values("charity").distinct().count()
        == approved_ids.count()
    )
    donors = User.objects.filter(is_staff=False)
    assert 150 <= donors.count() <= 250
    assert set(Subscription.objects.values_list("status", flat=True)) == {
        "active",
        "paused",
        "cancelled",
    }
    assert Contribution.objects.values("paid_at__date").distinct().count() >= 3
    admin = User.objects.get(email="admin@example.org")
    assert admin.is_staff and admin.is_superuser and admin.check_password("hometown-demo")
    assert "admin@example.org" in out and "hometown-demo" in out

    # The demo weeks went through the real engine: every placed cent is a row, and the
    # Laramie donors' money (no charity there) is held.
    from django.db.models import Sum

    from distributions.models import Distribution
    from reports.models import Report

    placed = Contribution.objects.filter(distributed_week__isnull=False)
    assert (
        Distribution.objects.aggregate(s=Sum("amount_cents"))["s"]
        == placed.aggregate(s=Sum("amount_cents"))["s"]
    )
    held = Contribution.objects.filter(distributed_week__isnull=True)
    assert set(held.values_list("subscription__user__city", flat=True)) == {"Laramie"}
    assert Report.objects.filter(user__email="alice@example.org").count() == 4

    again = _seed()
    assert "nothing changed" in again
    assert _snapshot() == first


def test_it_refuses_to_seed_a_production_site(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        _seed()
    assert not User.objects.exists()

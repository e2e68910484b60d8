import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from distributions.selectors import (
    get_distributions_by_charity,
    get_distributions_by_subscription,
    get_distributions_by_user,
    get_distributions_by_week,
)
from tests.factories import CharityFactory, DistributionFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db
W1, W2 = dt.date(2026, 11, 9), dt.date(2026, 11, 16)


@pytest.fixture
def world(alice, bob):
    shelf, arts = CharityFactory(name="Shelf"), CharityFactory(name="Arts")
    a1, a2 = SubscriptionFactory(user=alice), SubscriptionFactory(user=alice)
    b1 = SubscriptionFactory(user=bob)
    rows = {
        "a1_shelf_w1": DistributionFactory(subscription=a1, charity=shelf, week_start=W1),
        "a1_arts_w2": DistributionFactory(subscription=a1, charity=arts, week_start=W2),
        "a2_shelf_w2": DistributionFactory(
            subscription=a2, charity=shelf, week_start=W2, amount_cents=900
        ),
        "b1_shelf_w2": DistributionFactory(subscription=b1, charity=shelf, week_start=W2),
    }
    return dict(shelf=shelf, arts=arts, a1=a1, a2=a2, b1=b1, **rows)


def test_by_subscription_returns_only_that_subscription_newest_week_first(world):
    rows = list(get_distributions_by_subscription(world["a1"]))
    assert rows == [world["a1_arts_w2"], world["a1_shelf_w1"]]


def test_by_user_spans_all_their_subscriptions_and_never_another_donor(world, alice):
    rows = list(get_distributions_by_user(alice))
    assert set(rows) == {world["a1_shelf_w1"], world["a1_arts_w2"], world["a2_shelf_w2"]}
    assert world["b1_shelf_w2"] not in rows
    assert rows[0].week_start == W2 and rows[-1].week_start == W1


def test_by_charity(world):
    assert set(get_distributions_by_charity(world["arts"])) == {world["a1_arts_w2"]}
    assert get_distributions_by_charity(world["shelf"].pk).count() == 3


def test_by_week(world):
    assert set(get_distributions_by_week(W1)) == {world["a1_shelf_w1"]}
    assert get_distributions_by_week(W2).count() == 3


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: get_distributions_by_week(dt.date(2026, 11, 17)), "week_start"),
        (lambda: get_distributions_by_week("2026-11-16"), "week_start"),
        (lambda: get_distributions_by_user(None), "user"),
        (lambda: get_distributions_by_subscription("sub"), "subscription"),
        (lambda: get_distributions_by_charity(-3), "charity"),
    ],
)
def test_bad_arguments_name_the_field(call, field):
    with pytest.raises(ValidationError) as exc:
        call()
    assert set(exc.value.message_dict) == {field}

"""The seed-named needs selectors are the path the product takes: narrow what one returns
(here, in the test) and the engine's weights, the charity page and the admin follow."""

import datetime as dt

import pytest
from django.urls import reverse

import needs.selectors
import portfolio.services
import web.views
from distributions.models import Distribution
from portfolio.services import distribute_funds
from tests.factories import NeedFactory
from tests.portfolio.scenario import NOW, WEEK, charity, donor, paid

pytestmark = pytest.mark.django_db


def test_the_engine_weighs_the_needs_get_needs_by_city_returns(monkeypatch):
    assert portfolio.services.get_needs_by_city is needs.selectors.get_needs_by_city
    food = charity(name="Food", urgency=50, gap=1_000_000)
    books = charity(name="Books", urgency=50, gap=1_000_000)
    paid(donor(), 1000)
    real = needs.selectors.get_needs_by_city
    monkeypatch.setattr(
        portfolio.services,
        "get_needs_by_city",
        lambda city, state, **kwargs: real(city, state, **kwargs).exclude(charity=books),
    )

    distribute_funds(WEEK, now=NOW)

    # Equal needs would split 500/500; with Books' need out of sight Food takes it all.
    assert dict(Distribution.objects.values_list("charity_id", "amount_cents")) == {food.pk: 1000}


def test_the_charity_page_shows_the_needs_get_needs_by_charity_returns(client, monkeypatch):
    shelter = charity(name="Shelter", urgency=None)
    NeedFactory(charity=shelter, category="housing", urgency_score=70,
                last_updated=dt.datetime.now(dt.UTC))  # fmt: skip
    NeedFactory(charity=shelter, category="food", urgency_score=60,
                last_updated=dt.datetime.now(dt.UTC))  # fmt: skip
    page = client.get(f"/charities/{shelter.pk}/")
    assert [n.category for n in page.context["needs"]] == ["housing", "food"]

    real = needs.selectors.get_needs_by_charity
    monkeypatch.setattr(
        web.views, "get_needs_by_charity", lambda c: real(c).exclude(category="food")
    )
    page = client.get(f"/charities/{shelter.pk}/")
    assert [n.category for n in page.context["needs"]] == ["housing"]


def test_the_admins_urgent_filter_is_get_active_needs(client, carol):
    hot = NeedFactory(urgency_score=90)
    NeedFactory(urgency_score=40, category="housing")
    client.force_login(carol)
    page = client.get(reverse("admin:needs_need_changelist"), {"urgent": "yes"})
    assert page.status_code == 200
    assert list(page.context["cl"].queryset) == list(needs.selectors.get_active_needs())
    assert [n.pk for n in page.context["cl"].queryset] == [hot.pk]

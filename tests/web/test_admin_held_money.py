"""The admin's "Held money" page: per place, the money collected and not distributed (net
of fees), since when, why and what would release it, with totals; read-only, for staff
who may view distribution runs. Figures are checked against the ledger of a hand-built
world, worked out here from the rows the test made (never typed in)."""

import datetime as dt
import re
from collections import defaultdict

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from charities.selectors import get_place_label
from core.months import period_of
from core.places import format_place
from core.templatetags.money import dollars
from core.weeks import last_completed_week, week_bounds
from distributions.models import NO_CITY_LABEL, HoldReason
from payouts.selectors import get_money_summary
from portfolio import services as engine
from portfolio.services import distribute_funds, get_distribution_preview
from subscriptions.models import Contribution
from tests.factories import CharityFactory, ContributionFactory, NeedFactory
from tests.portfolio.scenario import donor, paid

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_demo_billing")]
URL = reverse("admin_held_money")


def weeks():
    last = last_completed_week(timezone.now())
    return last - dt.timedelta(weeks=1), last


def during(week, days=2):
    return week_bounds(week)[0] + dt.timedelta(days=days, hours=12)


def approved(city, state, *, need_age_days=0):
    charity = CharityFactory(city=city, state=state, name=f"{city} Food Shelf")
    if need_age_days is not None:
        NeedFactory(
            charity=charity, last_updated=timezone.now() - dt.timedelta(days=need_age_days)
        )
    return charity


@pytest.fixture
def world(monkeypatch):
    """Two weeks: the older one run (Burlington's city fails in it), the newer one not.

    - Springfield, VT: an approved charity with a current need; its donor paid in both
      weeks (the newer week's money waits only for its run), one payment with a card fee.
    - Burlington, VT: the same, but its city failed in the run.
    - Laramie, WY: no approved charity, one pending; two donors, one paid twice.
    - Casper, WY: an approved charity whose only need is stale.
    - donors with no city.
    - a payment whose fee Stripe has not reported (not a run's to give).
    """
    old, new = weeks()
    approved("Springfield", "VT")
    approved("Burlington", "VT")
    approved("Casper", "WY", need_age_days=settings.NEEDS_MAX_AGE_DAYS + 5)
    CharityFactory(city="Laramie", state="WY", verification_status="pending", approved_at=None)

    springfield = donor("Springfield", "VT")
    first = paid(springfield, 1000, when=during(old))
    ContributionFactory(
        subscription=first.subscription,
        amount_cents=1500,
        fee_cents=74,
        fee_source="stripe",
        paid_at=during(new),
    )
    paid(donor("Burlington", "VT"), 900, when=during(old))
    laramie = donor("Laramie", "WY")
    again = paid(laramie, 700, when=during(old))
    paid(laramie, 700, when=during(new), subscription=again.subscription)
    paid(donor("LARAMIE", "WY"), 300, when=during(old, days=4))
    paid(donor("Casper", "WY"), 2000, when=during(old))
    paid(donor("", ""), 400, when=during(old))
    paid(donor("", ""), 250, when=during(old, days=5))
    ContributionFactory(
        subscription=paid(donor("Springfield", "VT"), 800, when=during(old)).subscription,
        amount_cents=800,
        fee_cents=None,
        net_cents=None,
        fee_source="",
        paid_at=during(new),
    )

    real = engine._distribute_city_plan

    def failing(week, city, state, **kw):
        if city == "Burlington":
            raise RuntimeError("the database went away")
        return real(week, city, state, **kw)

    monkeypatch.setattr(engine, "_distribute_city_plan", failing)
    distribute_funds(old)
    monkeypatch.setattr(engine, "_distribute_city_plan", real)
    return old, new


def ledger_by_place() -> dict[str, dict]:
    """The ledger's held money, worked out here: every contribution not distributed
    whose net is known, by its donor's place (as the engine pools: the city compared
    case-insensitively), labelled as the site labels places."""
    places: dict[tuple, dict] = defaultdict(
        lambda: {"cents": 0, "contributions": 0, "donors": set(), "since": None, "city": ""}
    )
    undistributed = Contribution.objects.filter(
        distributed_week__isnull=True, net_cents__isnull=False
    ).select_related("subscription__user")
    for contribution in undistributed:
        user = contribution.subscription.user
        key = (user.city.lower(), user.state) if user.city else ("", "")
        place = places[key]
        place["cents"] += contribution.net_cents
        place["contributions"] += 1
        place["donors"].add(user.pk)
        place["city"] = user.city
        paid_at = contribution.paid_at
        place["since"] = paid_at if place["since"] is None else min(place["since"], paid_at)
    out = {}
    for (_, state), place in places.items():
        label = (
            format_place(get_place_label(place["city"], state), state)
            if place["city"]
            else NO_CITY_LABEL
        )
        out[label] = {**place, "donors": len(place["donors"])}
    return out


def row(page: str, place: str) -> str:
    found = re.search(rf'<tr [^>]*data-place="{re.escape(place)}">(.*?)</tr>', page, re.S)
    assert found, f"no row for {place}"
    return found.group(1)


def test_the_page_shows_each_places_held_money_as_the_ledger_has_it(client, mona, world):
    client.force_login(mona)
    response = client.get(URL)
    assert response.status_code == 200
    held = response.context["held"]
    expected = ledger_by_place()
    assert len(expected) == 5  # the world has five places with money waiting

    shown = {p.place: p for p in held.places}
    assert set(shown) == set(expected)
    page = response.content.decode()
    for label, figures in expected.items():
        place = shown[label]
        assert (place.cents, place.contributions, place.donors, place.since) == (
            figures["cents"],
            figures["contributions"],
            figures["donors"],
            figures["since"],
        ), label
        cells = row(page, label)
        assert dollars(figures["cents"]) in cells
        assert f'data-label="Donors">{figures["donors"]}</td>' in cells
        assert f'data-label="Payments">{figures["contributions"]}</td>' in cells

    total = sum(f["cents"] for f in expected.values())
    assert held.cents == total
    assert f'id="held-total" data-label="Amount">{dollars(total)}</td>' in page
    # The platform money summary's "held" is the same money.
    assert get_money_summary(period_of(timezone.now())).to_end.held_cents == total


def test_each_place_says_why_its_money_waits_and_what_would_release_it(client, mona, world):
    old, _new = world
    client.force_login(mona)
    held = {p.place: p for p in client.get(URL).context["held"].places}

    laramie = held["Laramie, WY"]
    assert laramie.reason == HoldReason.NO_CHARITY
    assert laramie.release == "approve a charity in Laramie, WY"
    assert laramie.release_link == "1 pending to review"
    assert "verification_status__exact=pending" in laramie.release_url

    casper = held["Casper, WY"]
    assert casper.reason == HoldReason.NO_CURRENT_NEED
    assert casper.release == "a charity in Casper, WY adds a current need"

    no_city = held[NO_CITY_LABEL]
    assert no_city.reason == HoldReason.NO_CITY
    assert "set their city" in no_city.release

    burlington = held["Burlington, VT"]
    assert burlington.reason == HoldReason.FAILED
    assert burlington.release_url == f"{reverse('admin_preview_week')}?week={old.isoformat()}"

    springfield = held["Springfield, VT"]
    assert springfield.reason == ""
    assert springfield.held_cents == 0  # paid after the newest run's week
    assert springfield.release == "the next weekly run (Mondays)"

    # Blocked places first, largest first; what only waits for the run comes last.
    order = [p.place for p in client.get(URL).context["held"].places]
    assert order[-1] == "Springfield, VT"


def test_the_reasons_are_the_engines_own(client, mona, world):
    """Where the page says a rule holds the money, a run now would hold it for that rule."""
    _old, new = world
    client.force_login(mona)
    held = {p.place: p for p in client.get(URL).context["held"].places}
    plans = [p for p in get_distribution_preview(new) if p.held_cents]
    assert plans
    for plan in plans:
        assert held[plan.place].reason == plan.hold_reason, plan.place
    given = {p.place for p in get_distribution_preview(new) if p.distributed_cents}
    assert given == {p for p, h in held.items() if h.reason in ("", HoldReason.FAILED)}


def test_payments_waiting_for_their_fee_are_named_apart(client, mona, world):
    client.force_login(mona)
    response = client.get(URL)
    pending = Contribution.objects.filter(net_cents__isnull=True)
    assert response.context["held"].pending_fee["count"] == pending.count() == 1
    assert f"({dollars(pending.get().amount_cents)} gross" in response.content.decode()


def test_the_page_costs_the_same_queries_for_more_places(client, mona, world):
    client.force_login(mona)
    client.get(URL)  # warm the session and the caches
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    old, _ = world
    for city in ("Casper", "Cody", "Gillette"):
        paid(donor(city, "MT"), 500, when=during(old))
    with CaptureQueriesContext(connection) as more:
        response = client.get(URL)
    assert len(response.context["held"].places) == 8
    assert len(more) == len(few)


def test_with_nothing_held_the_page_says_so(client, mona):
    client.force_login(mona)
    response = client.get(URL)
    assert response.status_code == 200
    assert "No money is held" in response.content.decode()


def test_it_is_linked_from_the_admin_index_and_the_run_list(client, mona):
    client.force_login(mona)
    assert URL in client.get(reverse("admin:index")).content.decode()
    runs = client.get(reverse("admin:distributions_distributionrun_changelist"))
    assert URL in runs.content.decode()


def test_staff_without_the_view_permission_are_refused(client, sam):
    client.force_login(sam)
    assert client.get(URL).status_code == 403
    assert URL not in client.get(reverse("admin:index")).content.decode()


@pytest.mark.parametrize("who", ["anonymous", "alice"])
def test_others_are_sent_to_log_in(client, alice, who):
    if who == "alice":
        client.force_login(alice)
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]


def test_it_is_read_only(client, mona, world):
    client.force_login(mona)
    assert client.post(URL).status_code == 405

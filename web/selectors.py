"""Reads that span several apps: the public pages' figures, and staff's held money by
place (the admin's "Held money" page)."""

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count
from django.urls import reverse

from charities.models import Charity, CharityStatus
from charities.selectors import get_charities_by_place
from core.places import format_place, place_key, title_city
from core.weeks import week_bounds, week_of
from distributions.models import NO_CITY_LABEL, CityStatus, HoldReason
from distributions.selectors import (
    get_giving_by_city,
    get_latest_closed_week,
    get_latest_distributed_week,
    get_run,
    get_run_cities,
)
from needs.selectors import get_places_with_current_need
from subscriptions.models import Subscription, SubscriptionStatus
from subscriptions.selectors import get_pending_fee_totals, get_undistributed_by_place


@dataclass
class CityFigures:
    place: str
    donors: int = 0
    charities: int = 0
    week_cents: int = 0
    total_cents: int = 0


@dataclass
class PlatformFigures:
    week_start: object = None  # the newest distributed week, or None before the first run
    donors: int = 0
    charities: int = 0
    week_cents: int = 0
    total_cents: int = 0
    cities: list[CityFigures] = field(default_factory=list)


def get_platform_figures() -> PlatformFigures:
    """The live figures of the home page, in four aggregate queries whatever the data:
    the newest week, giving per charity city, active donors per city, approved charities
    per city. Cities are compared as DESIGN.md says (trimmed, case-insensitive pairs).

    A donor counts when they have an active subscription; a city counts when it has a
    donor or an approved charity.
    """
    week = get_latest_distributed_week()
    cities: dict[tuple[str, str], CityFigures] = {}

    spelled_by_charities: set[tuple[str, str]] = set()

    def city(name: str, state: str, *, charity: bool = False) -> CityFigures:
        # One label per place (core.places): its charities' spelling, else the donors'
        # in title case, so a donor typing capitals never renames a city.
        key = place_key(name, state)
        label = format_place(name if charity else title_city(name), state)
        if key not in cities:
            cities[key] = CityFigures(place=label)
        elif charity and key not in spelled_by_charities:
            cities[key].place = label
        if charity:
            spelled_by_charities.add(key)
        return cities[key]

    figures = PlatformFigures(week_start=week)
    for row in get_giving_by_city(week_start=week):
        entry = city(row["charity__city"], row["charity__state"], charity=True)
        entry.total_cents += row["total_cents"]
        entry.week_cents += row["week_cents"]
    donor_rows = (
        Subscription.objects.filter(status=SubscriptionStatus.ACTIVE)
        .values("user__city", "user__state")
        .annotate(n=Count("user_id", distinct=True))
        .order_by()
    )
    for row in donor_rows:
        figures.donors += row["n"]
        if row["user__city"]:
            city(row["user__city"], row["user__state"]).donors += row["n"]
    charity_rows = (
        Charity.objects.filter(verification_status=CharityStatus.APPROVED)
        .values("city", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in charity_rows:
        figures.charities += row["n"]
        city(row["city"], row["state"], charity=True).charities += row["n"]
    figures.cities = sorted(cities.values(), key=lambda c: (-c.total_cents, c.place))
    figures.week_cents = sum(c.week_cents for c in figures.cities)
    figures.total_cents = sum(c.total_cents for c in figures.cities)
    return figures


# --- staff: held money by place (the admin's "Held money" page) --------------------------


@dataclass
class HeldPlace:
    """The net money of one place that is collected and not distributed yet, and why."""

    place: str  # its label ("Springfield, VT", or "(no city set)")
    city: str
    state: str
    cents: int  # every undistributed net cent of the place's donors
    held_cents: int  # of which paid before the newest closed week ended: a run held it
    since: dt.datetime  # the oldest undistributed payment
    contributions: int
    donors: int
    reason: str  # a HoldReason code, "" when nothing holds it now
    why: str
    release: str  # what would release it, in words
    release_url: str = ""  # where staff can do it (charity list, preview page), or ""
    release_link: str = ""

    @property
    def since_week(self) -> dt.date:
        return week_of(self.since)


@dataclass
class HeldMoney:
    places: list[HeldPlace]
    last_closed_week: dt.date | None  # the newest week whose run has closed
    pending_fee: dict  # payments whose fee Stripe has not reported (count, gross, since)

    @property
    def cents(self) -> int:
        return sum(p.cents for p in self.places)

    @property
    def held_cents(self) -> int:
        return sum(p.held_cents for p in self.places)

    @property
    def contributions(self) -> int:
        return sum(p.contributions for p in self.places)

    @property
    def donors(self) -> int:
        return sum(p.donors for p in self.places)

    @property
    def blocked_cents(self) -> int:
        """Money a rule holds now (no city, no charity, no current need, a failed run),
        as opposed to money only waiting for the next run."""
        return sum(p.cents for p in self.places if p.reason)


def _charity_list_url(city: str, state: str, status: str) -> str:
    query = urlencode({"q": city, "state__exact": state, "verification_status__exact": status})
    return f"{reverse('admin:charities_charity_changelist')}?{query}"


def get_held_money(*, now: dt.datetime) -> HeldMoney:
    """Per place, the money collected and not distributed (net of fees, the money a run
    pools; subscriptions.selectors.get_undistributed_by_place), since when, why and what
    would release it, largest first. The reason is today's, by the engine's rule
    (portfolio.services: no city; no approved charity; none with a need that counts), or
    the newest closed run's when the place failed there; with nothing holding it the
    money only waits for the next run. Totals add up to the money summary's "held".

    Seven queries whatever the number of places: the newest closed week, its run and
    lines, the money by place, the charities by place, the places with a current need,
    the payments waiting for their fee.
    """
    last_week = get_latest_closed_week()
    run = get_run(last_week) if last_week else None
    lines = {place_key(line.city, line.state): line for line in get_run_cities(run)} if run else {}
    held_before = week_bounds(last_week)[1] if last_week else None
    rows = get_undistributed_by_place(held_before=held_before)
    by_key: dict[tuple[str, str], dict] = {}
    for row in rows:
        key = ("", "") if not row["key"] else (row["key"], row["state"])
        if key in by_key:  # donors with no city but a state: one "no city" place
            merged = by_key[key]
            for name in ("cents", "held_cents", "contributions", "donors", "subscriptions"):
                merged[name] += row[name]
            merged["since"] = min(merged["since"], row["since"])
        else:
            by_key[key] = dict(row)
    charities = get_charities_by_place(
        [(row["city"], row["state"]) for key, row in by_key.items() if key[0]]
    )
    with_need = get_places_with_current_need(now=now) if by_key else set()
    preview = reverse("admin_preview_week")
    places = []
    for key, row in by_key.items():
        fields = {
            "cents": row["cents"],
            "held_cents": row["held_cents"],
            "since": row["since"],
            "contributions": row["contributions"],
            "donors": row["donors"],
        }
        if not key[0]:
            donors = row["donors"]
            places.append(
                HeldPlace(
                    place=NO_CITY_LABEL,
                    city="",
                    state="",
                    reason=HoldReason.NO_CITY,
                    why="The donors have not set their city, so no city's charities can take it.",
                    release=(
                        "the donor sets their city"
                        if donors == 1
                        else f"the {donors} donors set their city"
                    )
                    + " (a ZIP code in their profile)",
                    **fields,
                )
            )
            continue
        found = charities[key]
        city, state = found.label, row["state"]
        place = format_place(city, state)
        line = lines.get(key)
        held = HeldPlace(place=place, city=city, state=state, reason="", why="", release="",
                         **fields)  # fmt: skip
        if not found.approved:
            held.reason = HoldReason.NO_CHARITY
            held.why = f"No approved charity in {place}."
            held.release = f"approve a charity in {place}"
            if found.pending:
                held.release_url = _charity_list_url(city, state, "pending")
                held.release_link = f"{found.pending} pending to review"
            else:
                held.release += " (none is waiting for review)"
        elif key not in with_need:
            held.reason = HoldReason.NO_CURRENT_NEED
            held.why = (
                f"No approved charity in {place} has a current need (needs count for "
                f"{settings.NEEDS_MAX_AGE_DAYS} days after their last update)."
            )
            held.release = f"a charity in {place} adds a current need"
            held.release_url = _charity_list_url(city, state, "approved")
            held.release_link = f"{found.approved} approved there"
        elif line is not None and line.status == CityStatus.FAILED and line.held_cents:
            held.reason = HoldReason.FAILED
            held.why = f"The run of the week of {last_week:%b %-d, %Y} failed in {place}."
            held.release = f"rerun the week of {last_week:%b %-d, %Y}"
            held.release_url = f"{preview}?week={last_week.isoformat()}"
            held.release_link = "preview and run it"
        else:
            held.why = (
                f"Nothing holds it now: {place} has an approved charity with a current need."
                if held.held_cents
                else "Paid after the newest run's week; no run has seen it yet."
            )
            held.release = "the next weekly run (Mondays)"
            held.release_url = preview
            held.release_link = "preview a week"
        places.append(held)
    places.sort(key=lambda p: (not p.reason, -p.cents, p.place))
    return HeldMoney(
        places=places, last_closed_week=last_week, pending_fee=get_pending_fee_totals()
    )

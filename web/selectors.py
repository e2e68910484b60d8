"""Reads for the public pages that span several apps."""

from dataclasses import dataclass, field

from django.db.models import Count

from charities.models import Charity, CharityStatus
from core.places import format_place, place_key, title_city
from distributions.selectors import get_giving_by_city, get_latest_distributed_week
from subscriptions.models import Subscription, SubscriptionStatus


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

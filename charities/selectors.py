import math
import uuid

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from geopy.distance import geodesic

from core.places import city_q, normalize_city, normalize_state
from core.validation import id_of, require_choice

from .categories import CATEGORY_CHOICES
from .models import Charity, CharityStatus


def get_charity(charity_id) -> Charity | None:
    """Any charity by id, whatever its status (staff use; donor pages filter approved)."""
    return Charity.objects.filter(pk=id_of(charity_id, "charity_id", Charity)).first()


def get_approved_charity(charity_id) -> Charity | None:
    return Charity.objects.filter(
        pk=id_of(charity_id, "charity_id", Charity), verification_status=CharityStatus.APPROVED
    ).first()


def get_charities_by_city(city: str, state: str) -> QuerySet[Charity]:
    """Approved charities of one city, by name."""
    return Charity.objects.filter(
        city_q(city, state), verification_status=CharityStatus.APPROVED
    ).order_by("name", "id")


def get_charities_with_coordinates() -> QuerySet[Charity]:
    """Approved charities that can be put on a map."""
    return Charity.objects.filter(
        verification_status=CharityStatus.APPROVED,
        latitude__isnull=False,
        longitude__isnull=False,
    ).order_by("name", "id")


def get_pending_charities() -> QuerySet[Charity]:
    """Charities waiting for review, oldest first (first come, first vetted)."""
    return Charity.objects.filter(verification_status=CharityStatus.PENDING).order_by(
        "created_at", "id"
    )


def get_all_charities(
    *,
    status: str | None = None,
    city: str | None = None,
    state: str | None = None,
    category: str | None = None,
    text: str | None = None,
) -> QuerySet[Charity]:
    """Every charity, narrowed by any of: status, city and/or state, category, and a text
    that matches the name, EIN or city."""
    qs = Charity.objects.all()
    if status is not None:
        qs = qs.filter(verification_status=require_choice(status, "status", CharityStatus.choices))
    if city is not None and state is not None:
        qs = qs.filter(city_q(city, state))
    elif state is not None:
        qs = qs.filter(state=normalize_state(state))
    elif city is not None:
        qs = qs.filter(city__lower=normalize_city(city).lower())
    if category is not None:
        qs = qs.filter(category=require_choice(category, "category", CATEGORY_CHOICES))
    if text is not None:
        if not isinstance(text, str):
            raise ValidationError({"text": "Search text must be text."})
        text = text.strip()
        if len(text) > 200:
            raise ValidationError({"text": "Search text is longer than 200 characters."})
        if text:
            digits = text.replace("-", "")
            q = Q(name__icontains=text) | Q(city__icontains=text)
            if digits.isdigit():
                q |= Q(ein__startswith=digits)
            qs = qs.filter(q)
    return qs.order_by("name", "id")


MAX_NEARBY_KM = 500
_KM_PER_DEGREE_LAT = 110.574  # the shortest degree of latitude (at the equator)


def _require_number(value, field, limit) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValidationError({field: f"{field} must be a number, got {value!r}."})
    if not -limit <= value <= limit:
        raise ValidationError({field: f"{field} must be between -{limit} and {limit}."})
    return float(value)


def get_charities_near(latitude, longitude, km) -> list[Charity]:
    """Approved charities within `km` kilometres of a point, nearest first, each with a
    `distance_km` attribute (geodesic, geopy). For the map page, which centres on the
    donor's city; the weekly engine does not use it: a city without eligible charities
    keeps its money held (DESIGN.md), it is never given to a neighbouring city.

    A bounding box narrows the rows in SQL (padded, so it never cuts off a charity the
    exact distance would keep); the geodesic distance then decides.
    """
    lat = _require_number(latitude, "latitude", 90)
    lon = _require_number(longitude, "longitude", 180)
    km = _require_number(km, "km", MAX_NEARBY_KM)
    if km <= 0:
        raise ValidationError({"km": "km must be more than 0."})
    dlat = km / _KM_PER_DEGREE_LAT * 1.01
    qs = get_charities_with_coordinates().filter(
        latitude__gte=max(-90.0, lat - dlat), latitude__lte=min(90.0, lat + dlat)
    )
    # Longitude degrees shrink towards the poles; near a pole or across the date line
    # the box would be wrong, so there only latitude narrows the rows.
    widest_lat = min(89.0, abs(lat) + dlat)
    if abs(lat) + dlat < 89.0:
        dlon = km / (111.320 * math.cos(math.radians(widest_lat))) * 1.01
        if lon - dlon >= -180.0 and lon + dlon <= 180.0:
            qs = qs.filter(longitude__gte=lon - dlon, longitude__lte=lon + dlon)
    found = []
    for charity in qs:
        charity.distance_km = geodesic((lat, lon), (charity.latitude, charity.longitude)).km
        if charity.distance_km <= km:
            found.append(charity)
    found.sort(key=lambda c: (c.distance_km, c.name, c.pk))
    return found


PLACES_CACHE_KEY = "charities:approved-places"
PLACES_CACHE_SECONDS = 300
VERSION_CACHE_KEY = "charities:version"
# Pages cached under the version: what another process changed shows within this long
# even with a per-process cache (a laptop); with a shared cache (Redis) at once.
PUBLIC_PAGE_CACHE_SECONDS = 60


def get_charities_version() -> str:
    """A token that changes whenever a charity is created, vetted or edited
    (charities.services.forget_places); public pages cache what they render under it."""
    version = cache.get(VERSION_CACHE_KEY)
    if version is None:
        version = uuid.uuid4().hex[:12]
        cache.add(VERSION_CACHE_KEY, version, None)
        version = cache.get(VERSION_CACHE_KEY, version)
    return version


def get_approved_places() -> list[tuple[str, str]]:
    """(city, state) of every city with an approved charity, by state then city; one
    spelling per city (cities compare case-insensitively).

    Cached: the /charities/ filter asks on every request, and the answer changes only
    when staff vet or edit a charity, which clears it (charities.services.forget_places).
    """
    places = cache.get(PLACES_CACHE_KEY)
    if places is not None:
        return places
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    rows = (
        Charity.objects.filter(verification_status=CharityStatus.APPROVED)
        .values_list("city", "state")
        .distinct()
        .order_by("state", "city")
    )
    for city, state in rows:
        seen.setdefault((city.lower(), state), (city, state))
    places = list(seen.values())
    cache.set(PLACES_CACHE_KEY, places, PLACES_CACHE_SECONDS)
    return places


def get_map_markers() -> list[dict]:
    """The fields a map marker needs, for every approved charity with coordinates."""
    return list(
        get_charities_with_coordinates().values(
            "id", "name", "city", "state", "category", "latitude", "longitude"
        )
    )

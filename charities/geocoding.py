"""Putting charities on the map.

Order, per charity (never one whose coordinates were set by hand, coordinates_source
"manual"):
1. the geocoder: geopy's GEOCODER_PROVIDER (Nominatim by default) at GEOCODER_SCHEME://
   GEOCODER_DOMAIN with GEOCODER_USER_AGENT, through geopy's RateLimiter
   (GEOCODER_MIN_DELAY_SECONDS between calls, 1 s by default as Nominatim's policy asks).
   The query is "name, city, state ZIP" in the US. An answer farther than
   GEOCODER_MAX_KM_FROM_ZIP from the ZIP's centroid is taken for another place of the
   same name and ignored;
2. the ZIP's centroid from the offline zipcodes package (core.zips), when the geocoder
   finds nothing, fails, or with offline=True. A ZIP centroid never replaces coordinates
   the geocoder found before;
3. otherwise the charity is left as it is and counted as not located.

After GEOCODER_MAX_CONSECUTIVE_ERRORS service errors in a row the geocoder is not asked
again during that run (the ZIP centroid is used), so an outage costs a few timeouts, not
one per charity.
"""

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from geopy.distance import geodesic
from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import get_geocoder_for_service

from core import zips
from core.text import counted

from .models import Charity, CoordinatesSource
from .services import update_charity_coordinates

logger = logging.getLogger(__name__)

# Outcomes, as counted in GeocodeResult.
GEOCODED = "geocoded"
ZIP_CENTROID = "zip"
KEPT_MANUAL = "kept_manual"
KEPT = "kept"  # had geocoder coordinates; the geocoder found nothing better this time
NOT_LOCATED = "not_located"
OUTCOME_LABELS = {
    GEOCODED: "geocoded",
    ZIP_CENTROID: "placed at their ZIP's centroid",
    KEPT_MANUAL: "kept (set by hand)",
    KEPT: "kept (geocoded before)",
    NOT_LOCATED: "not located (no usable address or ZIP)",
}


@dataclass
class GeocodeResult:
    counts: Counter = field(default_factory=Counter)
    geocoder_errors: int = 0

    def summary(self) -> str:
        parts = [
            f"{self.counts[k]} {label}" for k, label in OUTCOME_LABELS.items() if self.counts[k]
        ]
        total = counted(sum(self.counts.values()), "charity")
        text = f"{total}: {', '.join(parts) or 'nothing to do'}."
        if self.geocoder_errors:
            failed = counted(self.geocoder_errors, "time")
            text += f" The geocoder failed {failed} (ZIP centroid used)."
        return text

    def summary_lines(self) -> list[str]:
        total = sum(self.counts.values())
        if not total:
            return ["Nothing to geocode: every charity has coordinates (--all redoes them)."]
        lines = [f"Geocoded {counted(total, 'charity')}:"]
        for key, label in OUTCOME_LABELS.items():
            if self.counts[key]:
                lines.append(f"  {self.counts[key]:>6}  {label}")
        if self.geocoder_errors:
            lines.append(f"  geocoder errors: {self.geocoder_errors} (fell back to ZIP)")
        return lines


def make_geocoder() -> Callable:
    """geocode(query, **kwargs) for the configured provider, rate limited."""
    try:
        cls = get_geocoder_for_service(settings.GEOCODER_PROVIDER)
    except GeopyError as exc:
        raise ImproperlyConfigured(f"GEOCODER_PROVIDER: {exc}") from None
    geocoder = cls(
        domain=settings.GEOCODER_DOMAIN,
        scheme=settings.GEOCODER_SCHEME,
        user_agent=settings.GEOCODER_USER_AGENT,
        timeout=settings.GEOCODER_TIMEOUT,
    )
    delay = settings.GEOCODER_MIN_DELAY_SECONDS
    return RateLimiter(
        geocoder.geocode,
        min_delay_seconds=delay,
        max_retries=1,
        error_wait_seconds=delay * 5,
        swallow_exceptions=False,
    )


def _query(charity: Charity) -> str:
    place = f"{charity.city}, {charity.state} {charity.zip_code}".strip()
    return f"{charity.name}, {place}"


class _Geocoder:
    """One run's geocoder, which stops being asked after repeated service errors."""

    def __init__(self, geocode: Callable | None):
        self.geocode = geocode
        self.errors = 0
        self.consecutive_errors = 0

    def locate(self, charity: Charity) -> tuple[float, float] | None:
        if self.geocode is None:
            return None
        try:
            location = self.geocode(_query(charity), exactly_one=True, country_codes="us")
        except (GeopyError, ValueError, TypeError, OSError) as exc:
            self.errors += 1
            self.consecutive_errors += 1
            logger.warning("geocoder failed for charity %s: %s", charity.pk, exc)
            if self.consecutive_errors >= settings.GEOCODER_MAX_CONSECUTIVE_ERRORS:
                logger.warning("geocoder off for the rest of this run after %s errors",
                               self.consecutive_errors)  # fmt: skip
                self.geocode = None
            return None
        self.consecutive_errors = 0
        if location is None:
            return None
        try:
            lat, lon = float(location.latitude), float(location.longitude)
        except (TypeError, ValueError):
            return None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None
        return lat, lon


def _zip_centroid(charity: Charity) -> tuple[float, float] | None:
    info = zips.lookup(charity.zip_code)
    if info is None or info.latitude is None or info.longitude is None:
        return None
    return info.latitude, info.longitude


def _plausible(found: tuple[float, float], centroid: tuple[float, float] | None) -> bool:
    if centroid is None:
        return True
    return geodesic(found, centroid).km <= settings.GEOCODER_MAX_KM_FROM_ZIP


def geocode_charity(charity: Charity, geocoder: _Geocoder) -> str:
    """Locate one charity (see the module docstring); returns an outcome constant."""
    if charity.coordinates_source == CoordinatesSource.MANUAL:
        return KEPT_MANUAL
    centroid = _zip_centroid(charity)
    found = geocoder.locate(charity)
    if found is not None and _plausible(found, centroid):
        try:
            update_charity_coordinates(
                charity,
                latitude=found[0],
                longitude=found[1],
                source=CoordinatesSource.GEOCODER,
                overwrite_manual=False,
            )
            return GEOCODED
        except ValidationError:
            logger.warning("geocoder answer for charity %s refused", charity.pk)
    if charity.coordinates_source == CoordinatesSource.GEOCODER:
        return KEPT
    if centroid is None:
        return NOT_LOCATED
    update_charity_coordinates(
        charity,
        latitude=centroid[0],
        longitude=centroid[1],
        source=CoordinatesSource.ZIP,
        overwrite_manual=False,
    )
    return ZIP_CENTROID


def charities_to_geocode(*, include_located: bool = False):
    """Charities without coordinates; with include_located, every one not set by hand."""
    qs = Charity.objects.exclude(coordinates_source=CoordinatesSource.MANUAL)
    if not include_located:
        qs = qs.filter(latitude__isnull=True)
    return qs.order_by("id")


def geocode_charities(
    charities: Iterable[Charity], *, offline: bool = False, geocode: Callable | None = None
) -> GeocodeResult:
    """Geocode charities one by one; each is saved on its own, so an interrupted run
    keeps what it did and a rerun skips the located ones."""
    if offline:
        geocode = None
    elif geocode is None:
        geocode = make_geocoder()
    geocoder = _Geocoder(geocode)
    result = GeocodeResult()
    for charity in charities:
        result.counts[geocode_charity(charity, geocoder)] += 1
    result.geocoder_errors = geocoder.errors
    return result

"""US ZIP codes, offline (the zipcodes package), indexed once for O(1) look-ups.

zipcodes.matching() scans all ~42,000 records per call; importing a state file calls it
thousands of times, so this module builds a dict on first use instead.
"""

import functools
import re
from dataclasses import dataclass

import zipcodes

ZIP5 = re.compile(r"^\d{5}$")


@dataclass(frozen=True)
class ZipInfo:
    zip_code: str
    city: str  # USPS preferred city name, e.g. "South Burlington"
    state: str
    latitude: float | None
    longitude: float | None
    aliases: tuple[str, ...]  # other spellings USPS knows ("S Burlington", ...)


@functools.cache
def _index() -> dict[str, ZipInfo]:
    index = {}
    for record in zipcodes.list_all():
        try:
            lat, lon = float(record["lat"]), float(record["long"])
        except (TypeError, ValueError, KeyError):
            lat = lon = None
        index[record["zip_code"]] = ZipInfo(
            zip_code=record["zip_code"],
            city=record["city"],
            state=record["state"],
            latitude=lat,
            longitude=lon,
            aliases=tuple(record.get("acceptable_cities") or ())
            + tuple(record.get("unacceptable_cities") or ()),
        )
    return index


def lookup(zip_code: str) -> ZipInfo | None:
    """'05403' or '05403-1234' -> ZipInfo, or None for a ZIP that does not exist."""
    if not isinstance(zip_code, str):
        return None
    zip5 = zip_code.strip()[:5]
    if not ZIP5.match(zip5):
        return None
    return _index().get(zip5)

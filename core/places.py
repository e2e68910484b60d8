"""A place is a city: the pair (city, state), compared trimmed and case-insensitively.

Springfield, VT and Springfield, KY are two cities. Cities are stored trimmed with single
spaces (a database constraint checks it); states are stored as upper-case USPS codes.

A place has one label in every sentence, record and page, whatever donors typed: its
charities' spelling (charities.selectors.get_place_label), else `title_city` of its
donors' spelling (the first in alphabetical order, so the same donors give the same
label).
"""

import re

from django.core.exceptions import ValidationError
from django.db.models import Q

# USPS codes of the states, DC and the inhabited territories.
US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota",
    "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
    "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "AS": "American Samoa",
    "GU": "Guam", "MP": "Northern Mariana Islands", "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands",
}  # fmt: skip
STATE_CHOICES = sorted(US_STATES.items())
CITY_MAX_LENGTH = 100
_SPACES = re.compile(r"\s+")


def normalize_city(value, *, field="city") -> str:
    """Trim and collapse inner whitespace; keep the letters' case as given."""
    if not isinstance(value, str):
        raise ValidationError({field: "City must be text."})
    city = _SPACES.sub(" ", value).strip()
    if not city:
        raise ValidationError({field: "City is required."})
    if len(city) > CITY_MAX_LENGTH:
        raise ValidationError({field: f"City is longer than {CITY_MAX_LENGTH} characters."})
    return city


def normalize_state(value, *, field="state") -> str:
    if not isinstance(value, str):
        raise ValidationError({field: "State must be a two-letter USPS code."})
    state = value.strip().upper()
    if state not in US_STATES:
        raise ValidationError({field: f"{value!r} is not a US state code (e.g. VT, KY)."})
    return state


def parse_place(value: str, *, field="city") -> tuple[str, str]:
    """'Springfield, VT' -> ('Springfield', 'VT')."""
    if not isinstance(value, str) or "," not in value:
        raise ValidationError({field: f"{value!r} is not of the form 'City, ST'."})
    city, _, state = value.rpartition(",")
    return normalize_city(city, field=field), normalize_state(state, field=field)


def city_q(city: str, state: str, *, prefix: str = "") -> Q:
    """A filter for one city. `prefix` reaches it through a relation ("user__")."""
    city = normalize_city(city)
    state = normalize_state(state)
    return Q(**{f"{prefix}city__lower": city.lower(), f"{prefix}state": state})


def place_key(city: str, state: str) -> tuple[str, str]:
    """The comparison key of a city: what two spellings of one city share."""
    return (_SPACES.sub(" ", city).strip().lower(), state.strip().upper())


def format_place(city: str, state: str) -> str:
    return f"{city}, {state}"


def _title_word(word: str) -> str:
    # A word typed in mixed case ("McAllen") was typed with care: kept. One typed all in
    # capitals or all in small letters is capitalised, part by part ("O'Fallon",
    # "Winston-Salem").
    if word != word.upper() and word != word.lower():
        return word
    parts = re.split(r"([-'])", word.lower())
    return "".join(p[:1].upper() + p[1:] for p in parts)


def title_city(city: str) -> str:
    """'SPRINGFIELD' and 'springfield' -> 'Springfield'; 'McAllen' stays 'McAllen'."""
    return " ".join(_title_word(w) for w in _SPACES.sub(" ", city).strip().split(" "))

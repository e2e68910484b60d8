"""Reading the IRS Exempt Organizations Business Master File (EO BMF) extract.

Which rows become charities (decided here, also in README):
- SUBSECTION 03 and DEDUCTIBILITY 1 only: public charities that can take tax-deductible
  gifts. Other subsections (social welfare, clubs, veterans' posts ...) are skipped.
- FOUNDATION 04 (private non-operating foundation) is skipped: it is a grant-maker that
  funds other charities, so giving it community money would only add a hop between the
  donor and the people helped. Private *operating* foundations (02, 03) run their own
  programs (museums, libraries, care homes) and are kept.
- STATUS other than 01 (unconditional exemption) is skipped: conditional exemptions,
  4947(a)(2) trusts and foundations that are terminating are not ready to vet.

How rows are made readable:
- Names: upper case -> title case, keeping acronyms (YMCA, VFW, PTO) and small words.
- Cities: the ZIP code's USPS city name (the zipcodes package, offline) when the ZIP is
  known in that state, so "S BURLINGTON", "SO BURLINGTON" and "SOUTH BURLINGTON" are one
  city. Donors' cities come from their ZIP the same way, which is what makes the two
  meet in one pool. An unknown ZIP falls back to the written name with its abbreviations
  spelled out (S -> South, CTR -> Center ...).
- ZIP: the 5 digits before the dash of ZIP+4. Coordinates: that ZIP's centroid.
"""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from core import zips
from core.places import CITY_MAX_LENGTH, US_STATES
from core.text import counted

from .categories import CATEGORY_LABELS, category_for_ntee

REQUIRED_COLUMNS = ("EIN", "NAME", "CITY", "STATE", "ZIP", "SUBSECTION", "DEDUCTIBILITY",
                    "FOUNDATION", "STATUS", "NTEE_CD")  # fmt: skip

SKIP_REASONS = {
    "not_501c3": "not a 501(c)(3) organization",
    "not_deductible": "gifts not tax-deductible",
    "private_foundation": "private non-operating foundation (a grant-maker)",
    "exemption_status": "exemption not unconditional (IRS status other than 01)",
    "invalid": "unreadable EIN, state, name or city",
    "duplicate_in_file": "EIN repeated in the file",
    "outside_selected_places": "not in the selected cities",
}


class BadFileError(Exception):
    """The file is not an EO BMF extract; the message is one line for the user."""


@dataclass(frozen=True)
class BmfCharity:
    ein: str
    name: str
    city: str
    state: str
    zip_code: str
    category: str
    ntee_code: str
    latitude: float | None
    longitude: float | None

    @property
    def description(self) -> str:
        label = CATEGORY_LABELS[self.category].lower()
        ntee = f" (NTEE {self.ntee_code})" if self.ntee_code else ""
        return (
            f"A 501(c)(3) public charity in {self.city}, {self.state}, listed by the IRS "
            f"under {label}{ntee}. Gifts to it are tax-deductible."
        )


_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # what errors="surrogateescape" makes of a bad byte


def _row_problem(row: dict, width: int) -> str | None:
    """Why a row cannot be read as one organization, or None."""
    if None in row:  # csv.DictReader puts extra values under the key None
        return f"{counted(width + len(row[None]), 'column')} where the header has {width}"
    values = list(row.values())
    if any(value is None for value in values):  # and fills missing ones with None
        count = sum(value is not None for value in values)
        if any("\n" in value or "\r" in value for value in values if value is not None):
            return "a quote is not closed (a value runs past the end of its line)"
        return f"{counted(count, 'column')} where the header has {width}"
    if any("\n" in value or "\r" in value for value in values):
        return "a quote is not closed (a value runs past the end of its line)"
    if any("\x00" in value for value in values):
        return "a NUL character in a value"
    if any(_NOT_UTF8.search(value) for value in values):
        return "bytes that are not UTF-8 text"
    return None


def read_rows(stream: io.TextIOBase, *, filename: str = "the file") -> Iterator[dict]:
    """Rows of an EO BMF CSV as dicts; BadFileError if it is not one, naming the line of
    the first row that cannot be read (a short or long row, an unclosed quote, a NUL, a
    byte that is not UTF-8 when the stream was opened with errors="surrogateescape").

    A file is refused whole rather than read up to a bad row: a BMF extract with a broken
    row is not the file the IRS published, and half of a state's file would flag the
    charities of its other half for review."""
    try:
        reader = csv.DictReader(stream)
        header = reader.fieldnames
    except (csv.Error, UnicodeDecodeError) as exc:
        raise BadFileError(f"{filename} is not a readable CSV file ({exc}).") from None
    if not header:
        raise BadFileError(f"{filename} is empty: expected the IRS EO BMF CSV header.")
    if any("\x00" in name or _NOT_UTF8.search(name) for name in header):
        raise BadFileError(f"{filename} is not a readable CSV file (line 1 is not text).")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise BadFileError(
            f"{filename} is not an IRS EO BMF file: missing column(s) {', '.join(missing)}."
        )
    width = len(header)
    before = reader.line_num
    try:
        for row in reader:
            problem = _row_problem(row, width)
            if problem:
                line = _first_line(row, reader, after=before)
                raise BadFileError(f"{filename}, line {line}: {problem}.")
            before = reader.line_num
            yield row
    except (csv.Error, UnicodeDecodeError) as exc:
        raise BadFileError(
            f"{filename} is not a readable CSV file at line {reader.line_num} ({exc})."
        ) from None


def _first_line(row: dict, reader, *, after: int) -> int:
    """The line a row starts on. The reader is at the row's last line; a quoted value that
    runs over several lines (an unclosed quote) took the lines between, and blank lines
    the reader skipped may come before it (so never before the line after the last row;
    a break that ends the file ends a value but starts no line)."""
    values = [v for v in row.values() if isinstance(v, str)]
    values += row.get(None) or []
    breaks = sum(v.count("\n") + v.count("\r") - v.count("\r\n") for v in values)
    return max(after + 1, reader.line_num - breaks)


def skip_reason(row: dict) -> str | None:
    if row.get("SUBSECTION", "").strip() != "03":
        return "not_501c3"
    if row.get("DEDUCTIBILITY", "").strip() != "1":
        return "not_deductible"
    if row.get("FOUNDATION", "").strip() == "04":
        return "private_foundation"
    if row.get("STATUS", "").strip() != "01":
        return "exemption_status"
    return None


def parse_row(row: dict) -> BmfCharity | None:
    """A kept row -> BmfCharity, or None if a needed value is unreadable."""
    ein = (row.get("EIN") or "").strip()
    state = (row.get("STATE") or "").strip().upper()
    name = (row.get("NAME") or "").strip()
    if not (len(ein) == 9 and ein.isdigit()) or state not in US_STATES or not name:
        return None
    zip5 = (row.get("ZIP") or "").strip()[:5]
    info = zips.lookup(zip5)
    if info is not None and info.state == state:
        city, lat, lon = info.city, info.latitude, info.longitude
    else:
        city, lat, lon = readable_city(row.get("CITY") or ""), None, None
        if not city or len(city) > CITY_MAX_LENGTH:
            return None
    ntee = (row.get("NTEE_CD") or "").strip().upper()
    return BmfCharity(
        ein=ein,
        name=readable_name(name)[:200],
        city=city,
        state=state,
        zip_code=zip5 if re.fullmatch(r"\d{5}", zip5) else "",
        category=category_for_ntee(ntee),
        ntee_code=ntee,
        latitude=lat,
        longitude=lon,
    )


@dataclass(frozen=True)
class IrsFacts:
    """What one BMF row says of an EIN's standing (its STATUS, DEDUCTIBILITY and
    SUBSECTION columns), recorded on a charity whether the row was kept or skipped, so a
    charity that lost deductibility is seen with its new status."""

    status: str
    deductibility: str
    subsection: str


@dataclass
class BmfFile:
    """A parsed EO BMF file: the kept charities (first row of each EIN), the count of
    skipped rows per reason, the facts of every readable EIN (kept or skipped), the states
    present in its rows (what the file covers) and its number of data rows."""

    kept: list[BmfCharity]
    skipped: dict[str, int]
    facts: dict[str, IrsFacts]
    states: list[str]
    rows: int


def _facts(row: dict) -> tuple[str, IrsFacts] | None:
    ein = (row.get("EIN") or "").strip()
    if not (len(ein) == 9 and ein.isdigit()):
        return None
    return ein, IrsFacts(
        status=(row.get("STATUS") or "").strip()[:2],
        deductibility=(row.get("DEDUCTIBILITY") or "").strip()[:1],
        subsection=(row.get("SUBSECTION") or "").strip()[:2],
    )


def parse_bmf(rows: Iterable[dict]) -> BmfFile:
    kept: dict[str, BmfCharity] = {}
    skipped: dict[str, int] = {}
    facts: dict[str, IrsFacts] = {}
    states: set[str] = set()
    count = 0
    for row in rows:
        count += 1
        state = (row.get("STATE") or "").strip().upper()
        if state in US_STATES:
            states.add(state)
        read = _facts(row)
        if read is not None:
            # The first row of an EIN speaks for it, as for the kept charity.
            facts.setdefault(*read)
        reason = skip_reason(row)
        charity = None if reason else parse_row(row)
        if charity is None:
            reason = reason or "invalid"
        elif charity.ein in kept:
            reason = "duplicate_in_file"
        if reason:
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        kept[charity.ein] = charity
        facts[charity.ein] = read[1]  # a kept row's facts win over an earlier skipped one
    return BmfFile(list(kept.values()), skipped, facts, sorted(states), count)


def parse_file(rows: Iterable[dict]) -> tuple[list[BmfCharity], dict[str, int]]:
    """Kept charities (first of each EIN) and the count of skipped rows per reason."""
    parsed = parse_bmf(rows)
    return parsed.kept, parsed.skipped


# --- Readable names -------------------------------------------------------------------

_SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of",
                "on", "or", "the", "to", "with", "de", "la", "du"}  # fmt: skip
_ACRONYMS = {"YMCA", "YWCA", "VFW", "PTA", "PTO", "PTSA", "PTG", "USA", "US", "4-H", "AARP",
             "NAACP", "LLC", "II", "III", "IV", "VI", "VII", "VIII", "IX", "XI", "NAMI",
             "CASA", "AIDS", "HIV", "EMS", "UVM", "BPOE", "AMVETS", "FFA", "DAV", "ROTC",
             "VT", "WY", "KY", "UK", "BSA", "GSA", "NRA", "JROTC", "AFB", "RSVP", "HOA",
             "ALS", "ARC", "SPCA", "NFP", "UMC", "AME", "WIC", "LGBT", "LGBTQ",
             "STEM"}  # fmt: skip
_VOWELS = set("AEIOUY")
_SHORT_FORMS = {"ST": "St", "STS": "Sts", "MT": "Mt", "FT": "Ft", "DR": "Dr", "JR": "Jr",
                "SR": "Sr", "MR": "Mr", "MRS": "Mrs", "MS": "Ms", "CNTY": "County",
                "CTR": "Center", "CTY": "County"}  # fmt: skip


def _word(word: str, first: bool) -> str:
    upper = word.upper()
    if upper in _ACRONYMS:
        return upper
    if upper in _SHORT_FORMS:
        return _SHORT_FORMS[upper]
    if not first and upper.lower() in _SMALL_WORDS:
        return upper.lower()
    letters = [ch for ch in upper if ch.isalpha()]
    if letters and len(letters) <= 4 and not (_VOWELS & set(letters)) and upper.isalpha():
        return upper  # no vowel: an acronym (VFW, CCV, NRCS)
    if re.fullmatch(r"\d+(ST|ND|RD|TH)", upper):
        return upper.lower()  # 1ST -> 1st
    if re.fullmatch(r"MC[A-Z]{3,}", upper):
        return "Mc" + upper[2:].capitalize()
    if re.fullmatch(r"O'[A-Z]{2,}", upper):
        return "O'" + upper[2:].capitalize()
    parts = re.split(r"([-/.])", word)
    out = []
    for part in parts:
        if part and part[0].isalpha():
            # "MARY'S" -> "Mary's", not str.title()'s "Mary'S"
            out.append(part[0].upper() + part[1:].lower())
        else:
            out.append(part.lower())
    return "".join(out)


def readable_name(name: str) -> str:
    words = re.sub(r"\s+", " ", name).strip().split(" ")
    if len(words) > 1 and words[-1].upper() == "THE":
        words = ["THE", *words[:-1]]  # the IRS files "X OF Y THE" for "The X of Y"
    return " ".join(_word(w, i == 0) for i, w in enumerate(words))


_CITY_ABBREVIATIONS = {
    "S": "South", "SO": "South", "N": "North", "NO": "North", "E": "East", "W": "West",
    "CTR": "Center", "CTR.": "Center", "JCT": "Junction", "SPGS": "Springs",
    "SPG": "Springs", "SPRG": "Springs", "FLS": "Falls", "MTN": "Mountain", "MT": "Mount",
    "FT": "Fort", "ST": "Saint", "PK": "Park", "VLY": "Valley", "RNCH": "Ranch",
    "STA": "Station", "HTS": "Heights", "TWP": "Township", "CM": "Common",
    "COR": "Corners", "RIV": "River", "NL": "National",
}  # fmt: skip


def readable_city(city: str) -> str:
    words = re.sub(r"\s+", " ", city).strip().upper().split(" ")
    if words == [""]:
        return ""
    out = []
    for i, word in enumerate(words):
        expanded = _CITY_ABBREVIATIONS.get(word)
        # A trailing state code ("SPRINGFIELD VT") is noise, not part of the name.
        if i > 0 and i == len(words) - 1 and word in US_STATES and expanded is None:
            continue
        out.append(expanded or _word(word, i == 0))
    return " ".join(out)

"""Bulk import of staff-entered (manual) needs from a CSV file: `manage.py import_needs`.

The file is UTF-8 (a BOM is fine) with a header row. Columns, in any order:

- the charity: `ein` (9 digits, "12-3456789" is fine) or `charity_id` (the id in the
  admin). A file may carry both columns; each row fills at least one, and when it fills
  both they must name the same charity.
- `category`: one of needs.models.NEED_CATEGORY_CHOICES' values (food, housing, ...).
- `urgency_score`: a whole number 0..100.
- the funding gap, in exactly one of two columns:
  `funding_gap` in dollars ("12500", "12,500.00", "$12,500.5"; at most 2 decimals) or
  `funding_gap_cents` in whole cents ("1250000"). A file with both columns is refused.

Example:

    ein,category,urgency_score,funding_gap
    03-0179436,food,90,"$12,500.00"
    030179437,housing,40,800

Every row is checked before anything is written. Any bad row (unknown charity, bad
category, a number out of range, the same charity and category twice) is reported as
"line N: ..." (N counts the header as line 1) and nothing of the file is written; a good
file is written in one transaction, each row through needs.services.create_need, so
every change is recorded as a NeedChange.
"""

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from accounts.models import User
from charities.models import Charity
from core.text import counted

from .models import MAX_GAP_CENTS, MAX_URGENCY, NEED_CATEGORY_VALUES, Need, Source
from .services import create_need

MAX_ERRORS = 20
_DOLLARS = re.compile(r"^\$?\s*(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$")
_CENTS = re.compile(r"^\d+$")


class BadNeedsFile(Exception):
    """The file cannot be imported; .errors holds one readable line per problem."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass
class NeedRow:
    line: int
    charity: Charity
    category: str
    urgency_score: int
    funding_gap_cents: int


@dataclass
class NeedsImportResult:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    charities: set = field(default_factory=set)

    def summary(self, name: str) -> str:
        return (
            f"Imported {name}: {counted(self.created + self.changed + self.unchanged, 'need')} "
            f"of {counted(len(self.charities), 'charity')}: {self.created} new, "
            f"{self.changed} changed, "
            f"{self.unchanged} unchanged (confirmed as current)."
        )


def parse_dollars(text: str) -> int:
    """'$12,500.5' -> 1250050 cents, exactly (Decimal, never float)."""
    value = text.strip()
    if not _DOLLARS.match(value):
        raise ValueError(
            f"funding_gap {text!r} is not an amount of dollars like 12500, 12,500.00 or $12500"
        )
    return int(Decimal(value.lstrip("$").strip().replace(",", "")) * 100)


def _int_in(text: str, name: str, hi: int) -> int:
    value = text.strip()
    if not _CENTS.match(value):
        raise ValueError(f"{name} {text!r} is not a whole number")
    number = int(value)
    if number > hi:
        raise ValueError(f"{name} must be at most {hi}, got {number}")
    return number


def _check_header(fields: list[str] | None) -> str:
    """The gap column's name, or BadNeedsFile."""
    if not fields:
        raise BadNeedsFile(["line 1: the file is empty (a header row is required)"])
    names = set(fields)
    problems = []
    if not names & {"ein", "charity_id"}:
        problems.append("a charity column, ein or charity_id")
    for required in ("category", "urgency_score"):
        if required not in names:
            problems.append(required)
    gap_columns = names & {"funding_gap", "funding_gap_cents"}
    if len(gap_columns) == 2:
        raise BadNeedsFile(
            ["line 1: give the gap in funding_gap (dollars) or funding_gap_cents, not both"]
        )
    if not gap_columns:
        problems.append("funding_gap (dollars) or funding_gap_cents")
    if problems:
        raise BadNeedsFile(
            [f"line 1: missing column(s): {'; '.join(problems)} (found: {', '.join(fields)})"]
        )
    return gap_columns.pop()


def _load_charities(raw_rows: list[dict]) -> tuple[dict, dict]:
    eins, ids = set(), set()
    for row in raw_rows:
        ein = (row.get("ein") or "").strip().replace("-", "")
        # Only what could be an EIN is looked up; the rest is reported row by row. A NUL
        # byte sent to PostgreSQL raised DataError: a traceback, not a line of the report.
        if len(ein) == 9 and ein.isascii() and ein.isdigit():
            eins.add(ein)
        cid = (row.get("charity_id") or "").strip()
        if cid.isascii() and cid.isdigit() and int(cid) < 2**63:
            ids.add(int(cid))
    by_ein = {c.ein: c for c in Charity.objects.filter(ein__in=eins)} if eins else {}
    by_id = {c.pk: c for c in Charity.objects.filter(pk__in=ids)} if ids else {}
    return by_ein, by_id


def _charity(row: dict, by_ein: dict, by_id: dict) -> Charity:
    raw_ein = (row.get("ein") or "").strip()
    raw_id = (row.get("charity_id") or "").strip()
    if not raw_ein and not raw_id:
        raise ValueError("no charity: fill ein or charity_id")
    found = None
    if raw_ein:
        ein = raw_ein.replace("-", "")
        if len(ein) != 9 or not ein.isdigit():
            raise ValueError(f"ein {raw_ein!r} is not 9 digits")
        found = by_ein.get(ein)
        if found is None:
            raise ValueError(f"no charity has EIN {raw_ein}")
    if raw_id:
        if not raw_id.isdigit():
            raise ValueError(f"charity_id {raw_id!r} is not a number")
        by_that_id = by_id.get(int(raw_id))
        if by_that_id is None:
            raise ValueError(f"no charity has id {raw_id}")
        if found is not None and found.pk != by_that_id.pk:
            raise ValueError(f"ein {raw_ein} and charity_id {raw_id} name different charities")
        found = by_that_id
    return found


def parse_needs_csv(lines: Iterable[str]) -> list[NeedRow]:
    """Check every row; BadNeedsFile lists the bad ones (up to MAX_ERRORS)."""
    reader = csv.DictReader(lines)
    try:
        header = [(f or "").strip().lower() for f in (reader.fieldnames or [])]
        gap_column = _check_header([f for f in header if f])
        reader.fieldnames = header
        raw = []
        for row in reader:
            if any((v or "").strip() for k, v in row.items() if k is not None) or None in row:
                raw.append((reader.line_num, row))
    except csv.Error as exc:
        raise BadNeedsFile([f"line {reader.line_num}: not a readable CSV row ({exc})"]) from None
    by_ein, by_id = _load_charities([row for _, row in raw])
    rows, errors, seen = [], [], {}
    for line, row in raw:
        try:
            if None in row:
                raise ValueError("more values than columns in the header")
            charity = _charity(row, by_ein, by_id)
            category = (row.get("category") or "").strip()
            if category not in NEED_CATEGORY_VALUES:
                raise ValueError(
                    f"category {category!r} is not one of: {', '.join(NEED_CATEGORY_VALUES)}"
                )
            urgency = _int_in(row.get("urgency_score") or "", "urgency_score", MAX_URGENCY)
            gap_text = row.get(gap_column) or ""
            if gap_column == "funding_gap":
                gap = parse_dollars(gap_text)
            else:
                gap = _int_in(gap_text, "funding_gap_cents", MAX_GAP_CENTS)
            if gap > MAX_GAP_CENTS:
                raise ValueError(f"funding_gap {gap_text!r} is more than {MAX_GAP_CENTS} cents")
            key = (charity.pk, category)
            if key in seen:
                raise ValueError(
                    f"{charity.name} / {category} already appears on line {seen[key]}"
                )
            seen[key] = line
            rows.append(NeedRow(line, charity, category, urgency, gap))
        except ValueError as exc:
            errors.append(f"line {line}: {exc}")
            if len(errors) >= MAX_ERRORS:
                errors.append(f"(stopped after {MAX_ERRORS} errors)")
                break
    if errors:
        raise BadNeedsFile(errors)
    if not rows:
        raise BadNeedsFile(["the file has a header but no rows"])
    return rows


@transaction.atomic
def import_needs(
    rows: list[NeedRow], *, source_name: str, changed_by: User | None = None
) -> NeedsImportResult:
    """Write checked rows as manual needs, all in one transaction."""
    result = NeedsImportResult()
    before = {
        (n.charity_id, n.category): (n.urgency_score, n.funding_gap_cents)
        for n in Need.objects.filter(
            charity_id__in={r.charity.pk for r in rows}, source=Source.MANUAL
        )
    }
    for row in rows:
        create_need(
            charity=row.charity,
            category=row.category,
            urgency_score=row.urgency_score,
            funding_gap_cents=row.funding_gap_cents,
            source=Source.MANUAL,
            changed_by=changed_by,
            note=f"imported from {source_name} line {row.line}"[:300],
        )
        old = before.get((row.charity.pk, row.category))
        if old is None:
            result.created += 1
        elif old != (row.urgency_score, row.funding_gap_cents):
            result.changed += 1
        else:
            result.unchanged += 1
        result.charities.add(row.charity.pk)
    return result

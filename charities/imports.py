"""Importing charities from the IRS EO BMF (see charities.irs for which rows and how).

Idempotent on EIN: a re-import updates the IRS-owned fields (name, city, state, ZIP,
category) of charities it created before and never duplicates one. What staff decided
or entered is kept: verification status (except that --approve approves *pending* ones,
never rejected ones), description, website, contact, notes, and coordinates set by hand
or by the geocoder. ZIP-centroid coordinates follow a changed ZIP.

Each import of a file (given as `record`) is an IrsImport: its source, the states present
in its rows, its row count and time. Every charity whose EIN is in the file, kept or
skipped, gets irs_last_import = this import and the row's STATUS, DEDUCTIBILITY and
SUBSECTION; a charity of a covered state that the file does not list keeps its older
import and so needs review (charities.selectors.get_payout_eligibility). Coverage is the
states present in the file: a state's file is taken to list every organization of that
state, so import a state's whole file, never an extract of some of its cities.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from core.places import place_key
from core.text import counted

from .irs import SKIP_REASONS, BmfCharity, BmfFile, IrsFacts
from .models import Charity, CharityStatus, CoordinatesSource, IrsImport
from .services import approve_charities, forget_places

IRS_FIELDS = ("name", "city", "state", "zip_code", "category")
BATCH = 1000


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    approved: int = 0
    skipped: Counter = field(default_factory=Counter)
    irs_import: IrsImport | None = None
    confirmed: int = 0  # our charities the file lists (kept or skipped rows)
    needs_review: int = 0  # our charities with an EIN in a covered state it does not list
    needs_review_approved: int = 0

    def summary_lines(self) -> list[str]:
        lines = [
            f"Created {self.created}, updated {self.updated}, unchanged {self.unchanged}"
            + (f", approved {self.approved}" if self.approved else "")
            + f"; skipped {sum(self.skipped.values())}."
        ]
        for reason, count in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  skipped {count:>6}  {SKIP_REASONS.get(reason, reason)}")
        if self.irs_import is not None:
            states = ", ".join(self.irs_import.states) or "no state"
            where = "these states" if len(self.irs_import.states) > 1 else states
            review, approved = self.needs_review, self.needs_review_approved
            if review == 1:
                unlisted = f"1 charity of {where} is not listed and needs review (" + (
                    "approved: its payouts wait)." if approved else "not approved)."
                )
            else:
                unlisted = (
                    f"{review} charities of {where} are not listed and need review "
                    f"({approved} of them approved; their payouts wait)."
                )
            lines.append(
                f"IRS import {self.irs_import.pk} covers {states}: confirmed "
                f"{counted(self.confirmed, 'charity')}; {unlisted}"
            )
        return lines


def _zip_coordinates(charity: Charity, row: BmfCharity) -> bool:
    """Put the ZIP centroid on a charity that has no better coordinates. Changed?"""
    if charity.coordinates_source in (CoordinatesSource.MANUAL, CoordinatesSource.GEOCODER):
        return False
    if row.latitude is None:
        new = (None, None, None)
    else:
        new = (row.latitude, row.longitude, CoordinatesSource.ZIP)
    old = (charity.latitude, charity.longitude, charity.coordinates_source)
    if new == old:
        return False
    charity.latitude, charity.longitude, charity.coordinates_source = new
    return True


@transaction.atomic
def import_charities(
    rows: list[BmfCharity],
    *,
    approve: bool = False,
    source_name: str = "IRS EO BMF",
    skipped: dict[str, int] | None = None,
    only_places: set[tuple[str, str]] | None = None,
    record: BmfFile | None = None,
) -> ImportResult:
    """Create or update charities from parsed BMF rows, in one transaction.

    only_places, a set of place_key()s, keeps the rows of those cities only. record, the
    whole parsed file the rows came from, records the import (an IrsImport) and each
    listed charity's IRS facts (see the module docstring); without it nothing of the
    IRS's standing is recorded.
    """
    result = ImportResult(skipped=Counter(skipped or {}))
    if only_places is not None:
        keep = [r for r in rows if place_key(r.city, r.state) in only_places]
        result.skipped["outside_selected_places"] += len(rows) - len(keep)
        rows = keep
    now = timezone.now()

    existing = {}
    eins = [r.ein for r in rows]
    for start in range(0, len(eins), BATCH):
        for charity in Charity.objects.filter(ein__in=eins[start : start + BATCH]):
            existing[charity.ein] = charity

    to_create, to_update, update_fields = [], [], set()
    approved_only = 0
    for row in rows:
        charity = existing.get(row.ein)
        if charity is None:
            charity = Charity(ein=row.ein, description=row.description,
                              verification_status=CharityStatus.PENDING)  # fmt: skip
            for name in IRS_FIELDS:
                setattr(charity, name, getattr(row, name))
            _zip_coordinates(charity, row)
            to_create.append(charity)
            continue
        changed = [n for n in IRS_FIELDS if getattr(charity, n) != getattr(row, n)]
        for name in changed:
            setattr(charity, name, getattr(row, name))
        if _zip_coordinates(charity, row):
            changed += ["latitude", "longitude", "coordinates_source"]
        if changed:
            charity.updated_at = now
            update_fields.update([*changed, "updated_at"])
            to_update.append(charity)
        elif approve and charity.verification_status == CharityStatus.PENDING:
            approved_only += 1  # the approval below is this charity's one change
        else:
            result.unchanged += 1

    Charity.objects.bulk_create(to_create, batch_size=BATCH)
    if to_update:
        Charity.objects.bulk_update(to_update, sorted(update_fields), batch_size=BATCH)
    result.created, result.updated = len(to_create), len(to_update) + approved_only
    if approve:
        # Through the vetting service, as staff would: pending charities only (a rejected
        # one stays rejected), the platform as the vetter since no one is signed in.
        for start in range(0, len(eins), BATCH):
            batch = Charity.objects.filter(ein__in=eins[start : start + BATCH])
            result.approved += approve_charities(
                batch.values_list("pk", flat=True),
                by=None,
                note=f"imported from {source_name} with --approve",
                at=now,
            )
    if record is not None:
        _record_import(record, source_name=source_name, at=now, result=result)
    if to_create or to_update:
        forget_places()
    return result


def _record_import(record: BmfFile, *, source_name: str, at, result: ImportResult) -> None:
    """The IrsImport and its facts, in few queries: the file's EINs grouped by their
    (status, deductibility, subsection), one UPDATE per group and batch of EINs (a BMF
    file has a handful of distinct groups), instead of one per charity."""
    irs_import = IrsImport.objects.create(
        source_name=source_name[:255], states=record.states, rows=record.rows, imported_at=at
    )
    groups: dict[IrsFacts, list[str]] = defaultdict(list)
    for ein, facts in record.facts.items():
        groups[facts].append(ein)
    confirmed = 0
    for facts, eins in groups.items():
        for start in range(0, len(eins), BATCH):
            confirmed += Charity.objects.filter(ein__in=eins[start : start + BATCH]).update(
                irs_last_import=irs_import,
                irs_status=facts.status,
                irs_deductibility=facts.deductibility,
                irs_subsection=facts.subsection,
            )
    unlisted = (
        Charity.objects.filter(state__in=record.states)
        .exclude(ein="")
        .exclude(irs_last_import=irs_import)
    )
    result.irs_import = irs_import
    result.confirmed = confirmed
    result.needs_review = unlisted.count()
    result.needs_review_approved = unlisted.filter(
        verification_status=CharityStatus.APPROVED
    ).count()

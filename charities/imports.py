"""Importing charities from the IRS EO BMF (see charities.irs for which rows and how).

Idempotent on EIN: a re-import updates the IRS-owned fields (name, city, state, ZIP,
category) of charities it created before and never duplicates one. What staff decided
or entered is kept: verification status (except that --approve approves *pending* ones,
never rejected ones), description, website, contact, notes, and coordinates set by hand
or by the geocoder. ZIP-centroid coordinates follow a changed ZIP.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from core.places import place_key

from .irs import SKIP_REASONS, BmfCharity
from .models import Charity, CharityStatus, CoordinatesSource
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

    def summary_lines(self) -> list[str]:
        lines = [
            f"Created {self.created}, updated {self.updated}, unchanged {self.unchanged}"
            + (f", approved {self.approved}" if self.approved else "")
            + f"; skipped {sum(self.skipped.values())}."
        ]
        for reason, count in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  skipped {count:>6}  {SKIP_REASONS.get(reason, reason)}")
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
) -> ImportResult:
    """Create or update charities from parsed BMF rows, in one transaction.

    only_places, a set of place_key()s, keeps the rows of those cities only.
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
    if to_create or to_update:
        forget_places()
    return result

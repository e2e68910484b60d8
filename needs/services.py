"""Writes for needs. Every change of a Need is recorded as a NeedChange (who, when, which
source, old and new values), so an allocation can be explained after the fact."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from charities.models import Charity
from core.validation import (
    UNSET,
    require_aware_datetime,
    require_choice,
    require_instance,
    require_int,
)

from .models import MAX_URGENCY, NEED_CATEGORY_CHOICES, Need, NeedChange, Source

MAX_GAP_CENTS = 10**13  # $100 billion: far above any local need, far below overflow.


def _clean_values(urgency_score, funding_gap_cents):
    if urgency_score is not UNSET:
        urgency_score = require_int(
            urgency_score, "urgency_score", min_value=0, max_value=MAX_URGENCY
        )
    if funding_gap_cents is not UNSET:
        funding_gap_cents = require_int(
            funding_gap_cents, "funding_gap_cents", min_value=0, max_value=MAX_GAP_CENTS
        )
    return urgency_score, funding_gap_cents


def _clean_metadata(metadata):
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ValidationError({"metadata": "metadata must be a JSON object (a dict)."})
    return metadata


def _record(need: Need, *, old: tuple | None, by, source, at, note="") -> None:
    NeedChange.objects.create(
        need=need,
        changed_at=at,
        changed_by=by,
        source=source,
        old_urgency_score=None if old is None else old[0],
        old_funding_gap_cents=None if old is None else old[1],
        new_urgency_score=need.urgency_score,
        new_funding_gap_cents=need.funding_gap_cents,
        note=note[:300],
    )


@transaction.atomic
def create_need(
    *,
    charity: Charity,
    category: str,
    urgency_score: int,
    funding_gap_cents: int,
    source: str = Source.MANUAL,
    metadata: dict | None = None,
    changed_by: User | None = None,
    at: dt.datetime | None = None,
    note: str = "",
) -> Need:
    """Create, or update, the need of a charity in a category from a source.

    Re-reporting the same values still refreshes last_updated (the charity confirmed the
    need is current) but records no change.
    """
    require_instance(charity, "charity", Charity)
    category = require_choice(category, "category", NEED_CATEGORY_CHOICES)
    source = require_choice(source, "source", Source.choices)
    urgency_score, funding_gap_cents = _clean_values(urgency_score, funding_gap_cents)
    metadata = _clean_metadata(metadata)
    if changed_by is not None:
        require_instance(changed_by, "changed_by", User)
    at = timezone.now() if at is None else require_aware_datetime(at, "at")

    need = (
        Need.objects.select_for_update()
        .filter(charity=charity, category=category, source=source)
        .first()
    )
    if need is None:
        need = Need.objects.create(
            charity=charity,
            category=category,
            source=source,
            urgency_score=urgency_score,
            funding_gap_cents=funding_gap_cents,
            metadata=metadata,
            last_updated=at,
        )
        _record(need, old=None, by=changed_by, source=source, at=at, note=note)
        return need
    return _update(
        need,
        urgency_score=urgency_score,
        funding_gap_cents=funding_gap_cents,
        metadata=metadata,
        changed_by=changed_by,
        source=source,
        at=at,
        note=note,
    )


def _update(need, *, urgency_score, funding_gap_cents, metadata, changed_by, source, at, note):
    old = (need.urgency_score, need.funding_gap_cents)
    if urgency_score is not UNSET:
        need.urgency_score = urgency_score
    if funding_gap_cents is not UNSET:
        need.funding_gap_cents = funding_gap_cents
    if metadata is not UNSET:
        need.metadata = metadata
    need.last_updated = at
    need.save(update_fields=["urgency_score", "funding_gap_cents", "metadata", "last_updated"])
    if (need.urgency_score, need.funding_gap_cents) != old:
        _record(need, old=old, by=changed_by, source=source, at=at, note=note)
    return need


@transaction.atomic
def update_need(
    need: Need,
    *,
    urgency_score=UNSET,
    funding_gap_cents=UNSET,
    metadata=UNSET,
    changed_by: User | None = None,
    at: dt.datetime | None = None,
    note: str = "",
) -> Need:
    require_instance(need, "need", Need)
    urgency_score, funding_gap_cents = _clean_values(urgency_score, funding_gap_cents)
    if metadata is not UNSET:
        metadata = _clean_metadata(metadata)
    if changed_by is not None:
        require_instance(changed_by, "changed_by", User)
    at = timezone.now() if at is None else require_aware_datetime(at, "at")
    need = Need.objects.select_for_update().get(pk=need.pk)
    return _update(
        need,
        urgency_score=urgency_score,
        funding_gap_cents=funding_gap_cents,
        metadata=metadata,
        changed_by=changed_by,
        source=need.source,
        at=at,
        note=note,
    )

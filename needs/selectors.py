"""Reads of needs, and the rule of which needs count toward a charity's weight.

The rule (DESIGN.md, "Meaning"): a need is current if its last_updated is within
NEEDS_MAX_AGE_DAYS of the moment of the run. A charity may have, per category, a row
reported by staff or its feed (manual/api) and a calculated row (reported gap less what
the platform has given since). Per category the newest current row counts; on a tie the
calculated row wins, since it already accounts for money given (needs.services writes
a calculated row with its reported row's last_updated: see sync_calculated_needs).
Weight = the sum over the counted rows of urgency_score x funding_gap_cents.
"""

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from charities.models import Charity, CharityStatus
from core.places import city_q
from core.validation import id_of, require_aware_datetime, require_int

from .models import MAX_URGENCY, Need, Source

DEFAULT_ACTIVE_URGENCY = 50


def freshness_cutoff(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=settings.NEEDS_MAX_AGE_DAYS)


def get_needs_by_charity(charity) -> QuerySet[Need]:
    return Need.objects.filter(charity_id=id_of(charity, "charity", Charity)).order_by(
        "category", "source"
    )


def get_needs_by_city(city: str, state: str) -> QuerySet[Need]:
    """Needs of the approved charities of one city."""
    return (
        Need.objects.select_related("charity")
        .filter(
            city_q(city, state, prefix="charity__"),
            charity__verification_status=CharityStatus.APPROVED,
        )
        .order_by("charity__name", "charity_id", "category", "source")
    )


def get_active_needs(*, min_urgency: int = DEFAULT_ACTIVE_URGENCY) -> QuerySet[Need]:
    """Needs of approved charities with urgency strictly above `min_urgency`, most urgent
    first."""
    min_urgency = require_int(min_urgency, "min_urgency", min_value=0, max_value=MAX_URGENCY)
    return (
        Need.objects.select_related("charity")
        .filter(
            urgency_score__gt=min_urgency,
            charity__verification_status=CharityStatus.APPROVED,
        )
        .order_by("-urgency_score", "-funding_gap_cents", "id")
    )


def _rank(need: Need) -> tuple:
    # Newest first; on a tie the calculated row (it already accounts for money given),
    # then manual over api, so the choice never depends on row order.
    return (need.last_updated, need.source == Source.CALCULATED, need.source == Source.MANUAL)


def effective_needs(
    charity_ids, *, now: dt.datetime, needs: QuerySet[Need] | None = None
) -> dict[int, list[Need]]:
    """charity id -> the needs that count for it at `now` (see the module docstring).

    `needs` narrows the rows looked at (the engine passes get_needs_by_city, the charity
    page get_needs_by_charity); by default every need of the charities."""
    require_aware_datetime(now, "now")
    if isinstance(charity_ids, (str, bytes)) or not hasattr(charity_ids, "__iter__"):
        raise ValidationError({"charity_ids": "charity_ids must be a collection of ids."})
    base = Need.objects.all() if needs is None else needs.select_related(None).order_by()
    best: dict[tuple[int, str], Need] = {}
    rows = base.filter(
        charity_id__in=list(charity_ids),
        last_updated__gte=freshness_cutoff(now),
        last_updated__lte=now,
    ).only("id", "charity_id", "category", "source", "urgency_score",
           "funding_gap_cents", "last_updated")  # fmt: skip
    for need in rows:
        key = (need.charity_id, need.category)
        if key not in best or _rank(need) > _rank(best[key]):
            best[key] = need
    result: dict[int, list[Need]] = defaultdict(list)
    for (charity_id, _), need in sorted(best.items()):
        result[charity_id].append(need)
    return dict(result)


def charity_weights(
    charity_ids, *, now: dt.datetime, needs: QuerySet[Need] | None = None
) -> dict[int, tuple[int, int, int]]:
    """charity id -> (weight, funding gap cents, highest urgency) of its counted needs
    (of `needs`, when given: see effective_needs). Charities with no counted need are
    absent."""
    out = {}
    for charity_id, counted in effective_needs(charity_ids, now=now, needs=needs).items():
        weight = sum(n.urgency_score * n.funding_gap_cents for n in counted)
        gap = sum(n.funding_gap_cents for n in counted)
        out[charity_id] = (weight, gap, max(n.urgency_score for n in counted))
    return out

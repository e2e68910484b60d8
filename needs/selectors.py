"""Reads of needs, and the rule of which needs count and how much room they have left.

The rule (DESIGN.md, "Meaning"):
- A need is current if its last_updated is within NEEDS_MAX_AGE_DAYS of the moment of the
  run (and not after it). A stale need counts for nothing and receives nothing.
- Per charity and category the newest current report counts (staff's or the charity's
  feed; on a tie staff's, since staff correct a feed, not the other way round). Older
  reports of the category are superseded.
- Its remaining gap is the reported gap less what it has received since that gap was set
  (Need.gap_set_at; MoneyReceived, credited by the weekly engine); a new report starts it
  afresh.
- Weight of a charity = sum over its counted needs of urgency x remaining gap; once every
  gap in a city is met, what is left is spread by urgency x reported gap.

get_needs_by_city and get_active_needs return exactly the needs that count, one per charity
and category, each with `received_since_report` annotated (Need.remaining_gap_cents);
get_needs_by_charity returns every row of a charity (staff's view of its history).
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from charities.models import Charity, CharityStatus
from core.places import city_q, place_key
from core.validation import id_of, require_aware_datetime, require_int

from .models import (
    MAX_URGENCY,
    STALE_WARNING_DAYS,
    MoneyReceived,
    Need,
    Source,
    urgency_words,
)

DEFAULT_ACTIVE_URGENCY = 50
REPORTED_SOURCES = (Source.MANUAL, Source.API)


def freshness_cutoff(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=settings.NEEDS_MAX_AGE_DAYS)


def _now(now) -> dt.datetime:
    return timezone.now() if now is None else require_aware_datetime(now, "now")


def counted_needs(needs: QuerySet[Need], *, now: dt.datetime) -> QuerySet[Need]:
    """Of `needs`, those that count at `now` (the rule above), each annotated with the
    money received since its gap was set (`received_since_report`)."""
    current = Q(
        source__in=REPORTED_SOURCES,
        last_updated__gte=freshness_cutoff(now),
        last_updated__lte=now,
    )
    staff_first = Case(
        When(source=Source.MANUAL, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    best = (
        Need.objects.filter(current, charity=OuterRef("charity"), category=OuterRef("category"))
        .order_by("-last_updated", staff_first, "id")
        .values("pk")[:1]
    )
    return (
        needs.filter(current)
        .filter(pk=Subquery(best))
        .annotate(received_since_report=_received_since_report())
    )


def _received_since_report():
    received = (
        MoneyReceived.objects.filter(need=OuterRef("pk"), received_at__gte=OuterRef("gap_set_at"))
        .order_by()
        .values("need")
        .annotate(total=Sum("amount_cents"))
        .values("total")
    )
    return Coalesce(Subquery(received), 0)


def get_needs_by_charity(charity) -> QuerySet[Need]:
    """Every need row of a charity, current or not (its history as staff see it)."""
    return Need.objects.filter(charity_id=id_of(charity, "charity", Charity)).order_by(
        "category", "source"
    )


def get_needs_by_city(city: str, state: str, *, now=None) -> QuerySet[Need]:
    """The needs that count now for the approved charities of one city: one per charity and
    category, current, with what each received since its report."""
    needs = Need.objects.select_related("charity").filter(
        city_q(city, state, prefix="charity__"),
        charity__verification_status=CharityStatus.APPROVED,
    )
    return counted_needs(needs, now=_now(now)).order_by("charity__name", "charity_id", "category")


def get_active_needs(*, threshold: int = DEFAULT_ACTIVE_URGENCY, now=None) -> QuerySet[Need]:
    """The needs that count now for approved charities whose urgency is above `threshold`
    (strictly), most urgent first, then the largest remaining need."""
    threshold = require_int(threshold, "threshold", min_value=0, max_value=MAX_URGENCY)
    needs = Need.objects.select_related("charity").filter(
        urgency_score__gt=threshold,
        charity__verification_status=CharityStatus.APPROVED,
    )
    return counted_needs(needs, now=_now(now)).order_by(
        "-urgency_score", "-funding_gap_cents", "id"
    )


def effective_needs(
    charity_ids, *, now: dt.datetime, needs: QuerySet[Need] | None = None
) -> dict[int, list[Need]]:
    """charity id -> the needs that count for it at `now`, by category (the rule above).

    `needs` narrows the rows looked at (the charity page passes get_needs_by_charity); by
    default every need of the charities."""
    require_aware_datetime(now, "now")
    if isinstance(charity_ids, (str, bytes)) or not hasattr(charity_ids, "__iter__"):
        raise ValidationError({"charity_ids": "charity_ids must be a collection of ids."})
    base = Need.objects.all() if needs is None else needs.select_related(None).order_by()
    result: dict[int, list[Need]] = defaultdict(list)
    rows = counted_needs(base.filter(charity_id__in=list(charity_ids)), now=now)
    for need in rows.order_by("charity_id", "category"):
        result[need.charity_id].append(need)
    return dict(result)


def charity_weights(
    charity_ids, *, now: dt.datetime, needs: QuerySet[Need] | None = None
) -> dict[int, tuple[int, int, int]]:
    """charity id -> (weight, remaining gap cents, highest urgency) of its counted needs
    (of `needs`, when given: see effective_needs). Weight = sum of urgency x remaining gap;
    the remaining gap counts needs with an urgency above 0. Charities with no counted need
    are absent."""
    out = {}
    for charity_id, counted in effective_needs(charity_ids, now=now, needs=needs).items():
        weight = sum(n.urgency_score * n.remaining_gap_cents for n in counted)
        gap = sum(n.remaining_gap_cents for n in counted if n.urgency_score)
        out[charity_id] = (weight, gap, max(n.urgency_score for n in counted))
    return out


@dataclass
class PortalNeed:
    """One need row as the charity's members see it in the portal."""

    need: Need
    used: bool  # the one the engine counts for its category now
    stale_at: dt.datetime
    state: str  # "current", "soon" (goes stale within STALE_WARNING_DAYS) or "stale"

    @property
    def editable(self) -> bool:
        return self.need.source == Source.MANUAL

    @property
    def urgency_words(self) -> str:
        return urgency_words(self.need.urgency_score)

    @property
    def closed(self) -> bool:
        return (self.need.urgency_score, self.need.funding_gap_cents) == (0, 0)


def get_portal_needs(charity, *, now: dt.datetime) -> list[PortalNeed]:
    """Every need of a charity (two queries: the rows with what each received since its
    report, and which ones count now), by category then source, each with when it goes
    stale and whether the engine uses it for its category."""
    now = require_aware_datetime(now, "now")
    needs = get_needs_by_charity(charity).annotate(received_since_report=_received_since_report())
    used = set(counted_needs(get_needs_by_charity(charity), now=now).values_list("pk", flat=True))
    max_age = dt.timedelta(days=settings.NEEDS_MAX_AGE_DAYS)
    warning = dt.timedelta(days=STALE_WARNING_DAYS)
    rows = []
    for need in needs:
        stale_at = need.last_updated + max_age
        if now > stale_at:
            state = "stale"
        elif now >= stale_at - warning:
            state = "soon"
        else:
            state = "current"
        rows.append(PortalNeed(need=need, used=need.pk in used, stale_at=stale_at, state=state))
    return rows


# --- who can take money now (staff's views: the vetting warning, held money) ----------


def _giving_needs(needs: QuerySet[Need], *, now: dt.datetime) -> QuerySet[Need]:
    """Of `needs`, those that count now with an urgency and a gap above 0: what gives a
    charity a place in the weekly run (its urgency x reported gap, the engine's spread,
    is above 0). A closed need (0, 0) counts for nothing."""
    return counted_needs(needs, now=now).filter(urgency_score__gt=0, funding_gap_cents__gt=0)


def get_current_need_counts(charity_ids, *, now=None) -> dict[int, int]:
    """charity id -> how many of its needs count now (one per category; see
    _giving_needs), whatever the charity's status: what the admin warns about before
    approving a charity that would receive nothing. Charities with none are absent.
    One query."""
    if isinstance(charity_ids, (str, bytes)) or not hasattr(charity_ids, "__iter__"):
        raise ValidationError({"charity_ids": "charity_ids must be a collection of ids."})
    needs = Need.objects.filter(charity_id__in=list(charity_ids))
    counts: dict[int, int] = defaultdict(int)
    for charity_id in _giving_needs(needs, now=_now(now)).values_list("charity_id", flat=True):
        counts[charity_id] += 1
    return dict(counts)


def get_places_with_current_need(*, now=None) -> set[tuple[str, str]]:
    """core.places.place_key of every city where an approved charity has a need that
    counts now: the cities whose money the weekly run gives rather than holds. One query."""
    needs = Need.objects.filter(charity__verification_status=CharityStatus.APPROVED)
    rows = (
        _giving_needs(needs, now=_now(now))
        .values_list("charity__city", "charity__state")
        .distinct()
    )
    return {place_key(city, state) for city, state in rows}

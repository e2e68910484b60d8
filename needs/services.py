"""Writes for needs. Every change of a Need is recorded as a NeedChange (who, when, which
source, old and new values), so an allocation can be explained after the fact.

- create_need / update_need / delete_need: one need, from any entry point;
- record_money_received: the weekly engine tells needs what each need received, inside
  each city's transaction; a need's remaining gap is worked out from these rows
  (needs.selectors). needs never reads the distribution ledger;
- refresh_needs: the daily refresh of the charities' needs feeds (needs.feeds fetches).
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from charities.models import Charity, CharityStatus
from core.validation import (
    UNSET,
    require_aware_datetime,
    require_choice,
    require_instance,
    require_int,
)

from .feeds import FeedError, FeedNeed, fetch_feed
from .models import (
    DESCRIPTION_MAX_LENGTH,
    MAX_GAP_CENTS,
    MAX_URGENCY,
    NEED_CATEGORY_CHOICES,
    STALE_WARNING_DAYS,
    MoneyReceived,
    Need,
    NeedChange,
    Source,
)
from .selectors import REPORTED_SOURCES, freshness_cutoff

logger = logging.getLogger(__name__)


def check_need_values(*, urgency_score=UNSET, funding_gap_cents=UNSET) -> tuple:
    """The rules every write of a need's figures follows; ValidationError({field: ...}).
    Forms call it before saving, so what the service would refuse is a form error."""
    return _clean_values(urgency_score, funding_gap_cents)


def check_need_editable(need: Need) -> None:
    """ValidationError unless update_need may change this need (a reported one)."""
    if need.source not in REPORTED_SOURCES:
        raise ValidationError({"need": "Only a reported need (staff's or a feed's) is edited."})


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


def _clean_description(description):
    if description is UNSET:
        return UNSET
    if not isinstance(description, str):
        raise ValidationError({"description": "The description must be text."})
    description = " ".join(description.split())  # one line: donors read it in a sentence
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise ValidationError(
            {"description": f"Keep the description to {DESCRIPTION_MAX_LENGTH} characters."}
        )
    return description


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
    description=UNSET,
) -> Need:
    """Create, or update, the need of a charity in a category from a source.

    Re-reporting the same values still refreshes last_updated (the charity confirmed the
    need is current) but records no change and keeps gap_set_at: the money received since
    the figures were set still counts against them. New figures start the gap afresh.
    """
    require_instance(charity, "charity", Charity)
    category = require_choice(category, "category", NEED_CATEGORY_CHOICES)
    source = require_choice(source, "source", REPORTED_SOURCES)
    urgency_score, funding_gap_cents = _clean_values(urgency_score, funding_gap_cents)
    metadata = _clean_metadata(metadata)
    description = _clean_description(description)
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
            description="" if description is UNSET else description,
            last_updated=at,
            gap_set_at=at,
        )
        _record(need, old=None, by=changed_by, source=source, at=at, note=note)
    else:
        need = _update(
            need,
            urgency_score=urgency_score,
            funding_gap_cents=funding_gap_cents,
            metadata=metadata,
            changed_by=changed_by,
            source=source,
            at=at,
            note=note,
            description=description,
        )
    return need


def _update(
    need,
    *,
    urgency_score,
    funding_gap_cents,
    metadata,
    changed_by,
    source,
    at,
    note,
    description=UNSET,
):
    """Every report refreshes last_updated (the need is confirmed current) and clears
    stale_reminder_sent_at, so the next time this report nears staleness the members are
    reminded once again."""
    old = (need.urgency_score, need.funding_gap_cents)
    old_description = need.description
    if urgency_score is not UNSET:
        need.urgency_score = urgency_score
    if funding_gap_cents is not UNSET:
        need.funding_gap_cents = funding_gap_cents
    if metadata is not UNSET:
        need.metadata = metadata
    if description is not UNSET:
        need.description = description
    need.last_updated = at
    need.stale_reminder_sent_at = None
    fields = [
        "urgency_score",
        "funding_gap_cents",
        "metadata",
        "description",
        "last_updated",
        "stale_reminder_sent_at",
    ]
    if (need.urgency_score, need.funding_gap_cents) != old:
        need.gap_set_at = at
        fields.append("gap_set_at")
        _record(need, old=old, by=changed_by, source=source, at=at, note=note)
    elif need.description != old_description:
        # Figures unchanged (the gap keeps counting from its report), but who rewrote what
        # donors read is kept too.
        _record(
            need, old=old, by=changed_by, source=source, at=at, note=note or "description changed"
        )
    need.save(update_fields=fields)
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
    description=UNSET,
) -> Need:
    require_instance(need, "need", Need)
    check_need_editable(need)
    urgency_score, funding_gap_cents = _clean_values(urgency_score, funding_gap_cents)
    description = _clean_description(description)
    if metadata is not UNSET:
        metadata = _clean_metadata(metadata)
    if changed_by is not None:
        require_instance(changed_by, "changed_by", User)
    at = timezone.now() if at is None else require_aware_datetime(at, "at")
    need = Need.objects.select_for_update().get(pk=need.pk)
    need = _update(
        need,
        urgency_score=urgency_score,
        funding_gap_cents=funding_gap_cents,
        metadata=metadata,
        changed_by=changed_by,
        source=need.source,
        at=at,
        note=note,
        description=description,
    )
    return need


@transaction.atomic
def confirm_need(need: Need, *, changed_by: User | None = None, at: dt.datetime | None = None):
    """The charity says this need is still current: last_updated is refreshed (and the
    stale reminder cleared), the figures and gap_set_at are kept, so what it received since
    its report still counts against the gap. Recorded as a NeedChange whose old and new
    figures are equal, so the history says who vouched for it and when."""
    require_instance(need, "need", Need)
    check_need_editable(need)
    if changed_by is not None:
        require_instance(changed_by, "changed_by", User)
    at = timezone.now() if at is None else require_aware_datetime(at, "at")
    need = Need.objects.select_for_update().get(pk=need.pk)
    need.last_updated = at
    need.stale_reminder_sent_at = None
    need.save(update_fields=["last_updated", "stale_reminder_sent_at"])
    figures = (need.urgency_score, need.funding_gap_cents)
    _record(need, old=figures, by=changed_by, source=need.source, at=at,
            note="confirmed still current")  # fmt: skip
    return need


def close_need(need: Need, *, changed_by: User | None = None, at: dt.datetime | None = None):
    """Close a need: urgency 0 and gap 0, so it weighs nothing from now on, while the row,
    its history and what it received stay (deleting would drop its NeedChange history).
    Like a feed's closed category; reopening is reporting new figures."""
    return update_need(
        need, urgency_score=0, funding_gap_cents=0, changed_by=changed_by, at=at, note="closed"
    )


@transaction.atomic
def delete_need(need: Need) -> None:
    """Delete a need. What it received stays recorded against its charity."""
    require_instance(need, "need", Need)
    need.delete()


def record_money_received(*, week_start: dt.date, amounts: dict[int, int], at: dt.datetime) -> int:
    """The engine credited these needs (need id -> cents) in the week, at `at`. Called
    inside the city's transaction that writes the ledger rows, so both commit or neither
    does. Returns how many rows were written (needs credited nothing are left out).
    `week_start` is the engine's checked Monday."""
    given = {need_id: cents for need_id, cents in amounts.items() if cents > 0}
    charities = dict(Need.objects.filter(pk__in=list(given)).values_list("pk", "charity_id"))
    rows = [
        MoneyReceived(
            need_id=need_id,
            charity_id=charities[need_id],
            week_start=week_start,
            amount_cents=cents,
            received_at=at,
        )
        for need_id, cents in sorted(given.items())
    ]
    MoneyReceived.objects.bulk_create(rows)
    return len(rows)


# --- the daily refresh: charities' needs feeds --------------------------------------------


@dataclass
class FeedOutcome:
    charity_id: int
    charity_name: str
    ok: bool
    error: str = ""
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    closed: int = 0


@dataclass
class RefreshResult:
    feeds: list[FeedOutcome] = field(default_factory=list)
    # source -> {"current": n, "stale": n}, counted after the refresh
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def succeeded(self) -> list[FeedOutcome]:
        return [f for f in self.feeds if f.ok]

    @property
    def failed(self) -> list[FeedOutcome]:
        return [f for f in self.feeds if not f.ok]

    def as_dict(self) -> dict:
        ok = self.succeeded
        return {
            "feeds_checked": len(self.feeds),
            "feeds_succeeded": len(ok),
            "feeds_failed": len(self.failed),
            "api_needs_created": sum(f.created for f in ok),
            "api_needs_changed": sum(f.changed for f in ok),
            "api_needs_unchanged": sum(f.unchanged for f in ok),
            "api_needs_closed": sum(f.closed for f in ok),
            "needs_by_source": self.by_source,
            "errors": {f"{f.charity_id}": f.error for f in self.failed},
        }

    def summary_lines(self) -> list[str]:
        d = self.as_dict()
        lines = [
            f"Feeds: {d['feeds_checked']} checked, {d['feeds_succeeded']} succeeded, "
            f"{d['feeds_failed']} failed.",
            f"api needs: {d['api_needs_created']} new, {d['api_needs_changed']} changed, "
            f"{d['api_needs_unchanged']} unchanged, {d['api_needs_closed']} closed "
            "(no longer in the feed).",
        ]
        for source in Source:
            counts = self.by_source.get(source.value, {"current": 0, "stale": 0})
            lines.append(
                f"  {source.value:<10} {counts['current']:>6} current, "
                f"{counts['stale']:>6} stale (older than {settings.NEEDS_MAX_AGE_DAYS} days)"
            )
        for f in self.failed:
            lines.append(f"  failed: {f.charity_name} (id {f.charity_id}): {f.error}")
        return lines


def count_needs_by_source(*, now: dt.datetime) -> dict[str, dict[str, int]]:
    """source -> {"current": n, "stale": n}, by the freshness rule of needs.selectors."""
    cutoff = freshness_cutoff(require_aware_datetime(now, "now"))
    rows = Need.objects.values("source").annotate(
        current=Count("id", filter=Q(last_updated__gte=cutoff)),
        stale=Count("id", filter=Q(last_updated__lt=cutoff)),
    )
    out = {s.value: {"current": 0, "stale": 0} for s in Source}
    for row in rows:
        out[row["source"]] = {"current": row["current"], "stale": row["stale"]}
    return out


@transaction.atomic
def apply_feed(
    charity: Charity, needs: list[FeedNeed], *, url: str, fetched_at: dt.datetime
) -> FeedOutcome:
    """Write a validated feed as the charity's api needs and mark the feed good.

    A category the feed no longer lists is closed (urgency 0, gap 0, recorded as a
    change) rather than deleted: it stops weighing at once and its history stays.
    """
    require_instance(charity, "charity", Charity)
    require_aware_datetime(fetched_at, "fetched_at")
    charity = Charity.objects.select_for_update().get(pk=charity.pk)
    outcome = FeedOutcome(charity_id=charity.pk, charity_name=charity.name, ok=True)
    before = {
        n.category: (n.urgency_score, n.funding_gap_cents)
        for n in Need.objects.filter(charity=charity, source=Source.API)
    }
    metadata = {"url": url, "fetched_at": fetched_at.isoformat()}
    for item in needs:
        create_need(
            charity=charity,
            category=item.category,
            urgency_score=item.urgency_score,
            funding_gap_cents=item.funding_gap_cents,
            source=Source.API,
            metadata=metadata,
            at=fetched_at,
            note=f"needs feed {url}"[:300],
        )
        old = before.get(item.category)
        if old is None:
            outcome.created += 1
        elif old != (item.urgency_score, item.funding_gap_cents):
            outcome.changed += 1
        else:
            outcome.unchanged += 1
    listed = {item.category for item in needs}
    for need in Need.objects.filter(charity=charity, source=Source.API).exclude(
        category__in=listed
    ):
        if (need.urgency_score, need.funding_gap_cents) == (0, 0):
            continue
        update_need(
            need,
            urgency_score=0,
            funding_gap_cents=0,
            metadata={**metadata, "closed": "no longer listed in the feed"},
            at=fetched_at,
            note="no longer listed in the needs feed",
        )
        outcome.closed += 1
    charity.needs_feed_checked_at = fetched_at
    charity.needs_feed_succeeded_at = fetched_at
    charity.needs_feed_error = ""
    charity.save(
        update_fields=[
            "needs_feed_checked_at",
            "needs_feed_succeeded_at",
            "needs_feed_error",
            "updated_at",
        ]
    )
    return outcome


def _record_feed_failure(charity_id: int, error: str, at: dt.datetime) -> None:
    # A conditional update: no lock held, and a charity deleted meanwhile is no error.
    Charity.objects.filter(pk=charity_id).update(
        needs_feed_checked_at=at, needs_feed_error=error[:2000]
    )


def feed_charities():
    """Charities whose feeds the refresh fetches: any with a feed URL, except rejected."""
    return (
        Charity.objects.exclude(needs_feed_url="")
        .exclude(verification_status=CharityStatus.REJECTED)
        .only("id", "name", "needs_feed_url")
        .order_by("id")
    )


def refresh_feed(charity: Charity) -> FeedOutcome:
    """Fetch one charity's feed and write it, or record why not. Never raises for a bad
    feed; the network fetch happens outside any database transaction."""
    url = charity.needs_feed_url
    try:
        needs = fetch_feed(url)
    except FeedError as exc:
        error = str(exc)
    except Exception as exc:  # a bad feed must never stop the others
        logger.exception("needs feed of charity %s failed unexpectedly", charity.pk)
        error = f"unexpected error: {exc.__class__.__name__}"
    else:
        try:
            return apply_feed(charity, needs, url=url, fetched_at=timezone.now())
        except Exception as exc:
            logger.exception("writing the needs feed of charity %s failed", charity.pk)
            error = f"could not be saved: {exc.__class__.__name__}: {exc}"
    _record_feed_failure(charity.pk, error, timezone.now())
    logger.warning("needs feed of charity %s: %s", charity.pk, error)
    return FeedOutcome(charity_id=charity.pk, charity_name=charity.name, ok=False, error=error)


def refresh_needs(*, charity_ids=None) -> RefreshResult:
    """The daily refresh (command refresh_needs and task needs.tasks.refresh_needs):
    fetch every needs feed, one charity at a time, each write in its own transaction so
    one bad feed never stops or undoes the others; then count the needs per source,
    current and stale. Safe to rerun or to overlap: a second run writes the same values.
    """
    charities = feed_charities()
    if charity_ids is not None:
        charities = charities.filter(pk__in=list(charity_ids))
    result = RefreshResult()
    for charity in charities:
        result.feeds.append(refresh_feed(charity))
    result.by_source = count_needs_by_source(now=timezone.now())
    logger.info("needs refresh: %s", result.as_dict())
    return result


# --- stale-need reminders ------------------------------------------------------------------


def stale_at(need: Need) -> dt.datetime:
    """When this report stops counting (needs.selectors: NEEDS_MAX_AGE_DAYS after it)."""
    return need.last_updated + dt.timedelta(days=settings.NEEDS_MAX_AGE_DAYS)


def remind_stale_needs(*, now: dt.datetime) -> int:
    """Email each charity's members about its staff-or-member-entered (manual) needs that
    go stale within STALE_WARNING_DAYS of `now`: once per report. A need is claimed by
    setting stale_reminder_sent_at in the same transaction that queues the mail
    (on_commit), so a rerun or an overlapping run never sends twice; a new report or a
    confirm clears it (services._update, confirm_need). Feed needs are left out: the feed
    refreshes them, and members cannot confirm them in the portal. Closed needs (urgency
    0, gap 0) are left out too. Returns how many needs were claimed."""
    now = require_aware_datetime(now, "now")
    warn_before = now - dt.timedelta(days=settings.NEEDS_MAX_AGE_DAYS - STALE_WARNING_DAYS)
    due = (
        Need.objects.filter(
            source=Source.MANUAL,
            stale_reminder_sent_at__isnull=True,
            last_updated__lte=warn_before,
            last_updated__gte=freshness_cutoff(now),
        )
        .exclude(urgency_score=0, funding_gap_cents=0)
        .exclude(charity__verification_status=CharityStatus.REJECTED)
    )
    charity_ids = sorted(set(due.values_list("charity_id", flat=True)))
    claimed = 0
    for charity_id in charity_ids:
        with transaction.atomic():
            ids = list(
                due.filter(charity_id=charity_id)
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)
            )
            if not ids:
                continue
            Need.objects.filter(pk__in=ids).update(stale_reminder_sent_at=now)
            claimed += len(ids)
            transaction.on_commit(lambda c=charity_id, i=ids: _send_stale_reminder(c, i, now))
    return claimed


def _send_stale_reminder(charity_id: int, need_ids: list[int], stamp: dt.datetime) -> None:
    charity = Charity.objects.get(pk=charity_id)
    needs = list(
        Need.objects.filter(pk__in=need_ids, stale_reminder_sent_at=stamp).order_by("category")
    )
    emails = sorted(charity.members.select_related("user").values_list("user__email", flat=True))
    if not needs or not emails:
        return
    context = {
        "charity": charity,
        "needs": [(need, stale_at(need)) for need in needs],
        "portal_url": settings.SITE_URL + reverse("portal:needs", args=[charity.pk]),
        "max_age_days": settings.NEEDS_MAX_AGE_DAYS,
    }
    try:
        send_mail(
            f"{charity.name}: confirm your needs before they go stale",
            render_to_string("needs/email/stale_reminder.txt", context),
            None,
            emails,
        )
    except Exception:
        # Released, so the next daily run tries again (still within the week's warning).
        logger.exception("stale-needs reminder for charity %s failed", charity_id)
        Need.objects.filter(pk__in=need_ids, stale_reminder_sent_at=stamp).update(
            stale_reminder_sent_at=None
        )

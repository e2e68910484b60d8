from django.core.cache import cache
from django.db.models import QuerySet

from accounts.models import User
from charities.selectors import get_charities_by_city, get_place_label
from core.places import format_place
from core.validation import id_of
from core.weeks import week_bounds
from distributions.models import HoldReason
from distributions.selectors import get_latest_closed_week
from needs.selectors import get_needs_by_city
from subscriptions.selectors import get_user_money

from .models import Report
from .words import held_words

MONEY_CACHE_SECONDS = 86400


def get_user_reports(user) -> QuerySet[Report]:
    return Report.objects.filter(user_id=id_of(user, "user", User)).order_by("-week_start")


def get_report(user, report_id) -> Report | None:
    """A donor's own report, or None: another donor's id finds nothing."""
    return Report.objects.filter(
        pk=id_of(report_id, "report_id", Report), user_id=id_of(user, "user", User)
    ).first()


def get_latest_report(user) -> Report | None:
    return get_user_reports(user).first()


def get_donor_money(user, *, version: str) -> dict:
    """What a donor paid, what was given, and what waits: held (a run found it and could
    not place it) and the rest, not yet run. Cached under the donor's ledger version, so a
    warm dashboard costs no query for it."""
    key = f"reports:money:{id_of(user, 'user', User)}:{version}"
    money = cache.get(key)
    if money is None:
        closed = get_latest_closed_week()
        held_before = week_bounds(closed)[1] if closed else None
        money = dict(get_user_money(user, held_before=held_before))
        money["not_yet_run_cents"] = money["waiting_cents"] - money["held_cents"]
        cache.set(key, money, MONEY_CACHE_SECONDS)
    return money


def held_note(user, held_cents: int) -> str:
    """Why a donor's held money waits now, in words (reports.words), or "" when none is
    held. The reason is today's: no city, no vetted charity, or none with a current need."""
    if not held_cents:
        return ""
    if not user.city:
        return held_words(held_cents, HoldReason.NO_CITY, "")
    place = format_place(get_place_label(user.city, user.state), user.state)
    if not get_charities_by_city(user.city, user.state).exists():
        return held_words(held_cents, HoldReason.NO_CHARITY, place)
    if not any(
        n.urgency_score * n.funding_gap_cents for n in get_needs_by_city(user.city, user.state)
    ):
        return held_words(held_cents, HoldReason.NO_CURRENT_NEED, place)
    return held_words(held_cents, "", place)

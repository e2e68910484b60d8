import hashlib
import re
import uuid
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from core.places import city_q, normalize_city, normalize_state, place_key, title_city
from core.validation import id_of, require_choice

from .categories import CATEGORY_CHOICES
from .models import (
    Charity,
    CharityMember,
    CharityStatus,
    CoordinatesSource,
    IrsImport,
    MemberRole,
)


def get_charity(charity_id) -> Charity | None:
    """Any charity by id, whatever its status (staff use; donor pages filter approved)."""
    return Charity.objects.filter(pk=id_of(charity_id, "charity_id", Charity)).first()


def get_approved_charity(charity_id) -> Charity | None:
    """A charity donors may see: get_charity, when it is approved."""
    charity = get_charity(charity_id)
    return charity if charity and charity.verification_status == CharityStatus.APPROVED else None


def get_charities_by_city(city: str, state: str) -> QuerySet[Charity]:
    """Approved charities of one city, by name."""
    return Charity.objects.filter(
        city_q(city, state), verification_status=CharityStatus.APPROVED
    ).order_by("name", "id")


def get_place_label(city: str, state: str) -> str:
    """A place's one spelling of its city (core.places): as its charities spell it
    (approved ones first, then any; the most common spelling, ties to the first in
    alphabetical order), else `city` in title case when the place has no charity. What
    donors typed never decides it while a charity exists.

    Cached under the charities version (a place's label changes only when charities do),
    so a page that shows it costs no query once warm."""
    place = hashlib.sha256("|".join(place_key(city, state)).encode()).hexdigest()[:24]
    key = f"charities:place-label:{get_charities_version()}:{place}"
    label = cache.get(key)
    if label is None:
        label = _place_label(city, state)
        cache.set(key, label, PUBLIC_PAGE_CACHE_SECONDS * 10)
    return label


def _place_label(city: str, state: str) -> str:
    rows = (
        Charity.objects.filter(city_q(city, state))
        .values("city")
        .annotate(
            approved=Count("id", filter=Q(verification_status=CharityStatus.APPROVED)),
            n=Count("id"),
        )
        .order_by("-approved", "-n", "city")
    )
    first = rows.first()
    return first["city"] if first else title_city(city)


def get_charities_with_coordinates() -> QuerySet[Charity]:
    """Approved charities that can be put on a map."""
    return Charity.objects.filter(
        verification_status=CharityStatus.APPROVED,
        latitude__isnull=False,
        longitude__isnull=False,
    ).order_by("name", "id")


def get_pending_charities() -> QuerySet[Charity]:
    """Charities waiting for review, oldest first (first come, first vetted)."""
    return Charity.objects.filter(verification_status=CharityStatus.PENDING).order_by(
        "created_at", "id"
    )


def get_all_charities(
    *,
    status: str | None = None,
    city: str | None = None,
    state: str | None = None,
    category: str | None = None,
    text: str | None = None,
) -> QuerySet[Charity]:
    """Every charity, narrowed by any of: status, city and/or state, category, and a text
    that matches the name, EIN or city."""
    qs = Charity.objects.all()
    if status is not None:
        qs = qs.filter(verification_status=require_choice(status, "status", CharityStatus.choices))
    if city is not None and state is not None:
        qs = qs.filter(city_q(city, state))
    elif state is not None:
        qs = qs.filter(state=normalize_state(state))
    elif city is not None:
        qs = qs.filter(city__lower=normalize_city(city).lower())
    if category is not None:
        qs = qs.filter(category=require_choice(category, "category", CATEGORY_CHOICES))
    if text is not None:
        if not isinstance(text, str):
            raise ValidationError({"text": "Search text must be text."})
        text = text.strip()
        if len(text) > 200:
            raise ValidationError({"text": "Search text is longer than 200 characters."})
        if text:
            digits = text.replace("-", "")
            q = Q(name__icontains=text) | Q(city__icontains=text)
            if digits.isdigit():
                q |= Q(ein__startswith=digits)
            qs = qs.filter(q)
    return qs.order_by("name", "id")


PLACES_CACHE_KEY = "charities:approved-places"
PLACES_CACHE_SECONDS = 300
VERSION_CACHE_KEY = "charities:version"
# Pages cached under the version: what another process changed shows within this long
# even with a per-process cache (a laptop); with a shared cache (Redis) at once.
PUBLIC_PAGE_CACHE_SECONDS = 60


def get_charities_version() -> str:
    """A token that changes whenever a charity is created, vetted or edited
    (charities.services.forget_places); public pages cache what they render under it."""
    version = cache.get(VERSION_CACHE_KEY)
    if version is None:
        version = uuid.uuid4().hex[:12]
        cache.add(VERSION_CACHE_KEY, version, None)
        version = cache.get(VERSION_CACHE_KEY, version)
    return version


def get_approved_places() -> list[tuple[str, str]]:
    """(city, state) of every city with an approved charity, by state then city; one
    spelling per city (cities compare case-insensitively).

    Cached: the /charities/ filter asks on every request, and the answer changes only
    when staff vet or edit a charity, which clears it (charities.services.forget_places).
    """
    places = cache.get(PLACES_CACHE_KEY)
    if places is not None:
        return places
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    rows = (
        Charity.objects.filter(verification_status=CharityStatus.APPROVED)
        .values_list("city", "state")
        .distinct()
        .order_by("state", "city")
    )
    for city, state in rows:
        seen.setdefault((city.lower(), state), (city, state))
    places = list(seen.values())
    cache.set(PLACES_CACHE_KEY, places, PLACES_CACHE_SECONDS)
    return places


@dataclass(frozen=True)
class PlaceCharities:
    """A place's charities as staff weigh what would release its held money."""

    label: str  # the place's one spelling of its city (get_place_label's rule)
    approved: int = 0
    pending: int = 0
    rejected: int = 0


def get_charities_by_place(places) -> dict[tuple[str, str], PlaceCharities]:
    """core.places.place_key -> PlaceCharities of each given (city, state), with its
    label, for many places in one query (the admin's held money page). A place with no
    charity has the city in title case as its label and counts of 0."""
    wanted = {place_key(city, state): (city, state) for city, state in places if city and state}
    spellings: dict[tuple[str, str], dict[str, dict[str, int]]] = {}
    if wanted:
        where = Q()
        for city, state in wanted:
            where |= Q(city__lower=city, state=state)
        rows = (
            Charity.objects.filter(where)
            .values_list("city", "state", "verification_status")
            .annotate(n=Count("id"))
            .order_by()
        )
        for city, state, status, n in rows:
            by_status = spellings.setdefault(place_key(city, state), {}).setdefault(city, {})
            by_status[status] = by_status.get(status, 0) + n
    out = {}
    for key, (city, _state) in wanted.items():
        found = spellings.get(key, {})
        if not found:
            out[key] = PlaceCharities(label=title_city(city))
            continue
        # get_place_label's rule: approved spellings first, then the most common, then
        # the first in alphabetical order.
        label = min(
            found,
            key=lambda c: (-found[c].get(CharityStatus.APPROVED, 0), -sum(found[c].values()), c),
        )
        out[key] = PlaceCharities(
            label=label,
            **{
                status: sum(counts.get(status, 0) for counts in found.values())
                for status in ("approved", "pending", "rejected")
            },
        )
    return out


@dataclass(frozen=True)
class FilterChoices:
    """What the public filters may offer: only what approved charities have."""

    places: list[tuple[str, str]]  # (city, state), one spelling per city, by state then city
    states: list[str]  # USPS codes, sorted
    categories: list[str]  # category values, in CATEGORY_CHOICES order


def get_filter_choices() -> FilterChoices:
    """The cities, states and categories of approved charities, for /charities/'s filters
    (a filter that offers 56 states when charities exist in 3 leads nowhere).

    One query, cached under the charities version: every write through the charities
    services moves the version (forget_places), so a newly approved charity's city, state
    and category are offered at once."""
    key = f"charities:filter-choices:{get_charities_version()}"
    choices = cache.get(key)
    if choices is None:
        choices = _filter_choices()
        cache.set(key, choices, PUBLIC_PAGE_CACHE_SECONDS * 10)
    return choices


def _filter_choices() -> FilterChoices:
    rows = (
        Charity.objects.filter(verification_status=CharityStatus.APPROVED)
        .values_list("city", "state", "category")
        .distinct()
        .order_by("state", "city", "category")
    )
    places: dict[tuple[str, str], tuple[str, str]] = {}
    states, categories = set(), set()
    for city, state, category in rows:
        places.setdefault(place_key(city, state), (city, state))
        states.add(state)
        categories.add(category)
    order = {value: n for n, (value, _) in enumerate(CATEGORY_CHOICES)}
    return FilterChoices(
        places=list(places.values()),
        states=sorted(states),
        categories=sorted(categories, key=lambda c: (order.get(c, len(order)), c)),
    )


def get_map_markers() -> list[dict]:
    """The fields a map marker needs, for every approved charity with coordinates."""
    markers = list(
        get_charities_with_coordinates().values(
            "id", "name", "city", "state", "category", "latitude", "longitude",
            "gift_line", "mission", "coordinates_source",
        )
    )  # fmt: skip
    for marker in markers:
        # Placed at its ZIP code's centre, not at its door: the popup says so.
        marker["approximate"] = marker.pop("coordinates_source") == CoordinatesSource.ZIP
        marker["blurb"] = marker.pop("gift_line") or first_sentence(marker.pop("mission"))
        marker.pop("mission", None)
    return markers


def first_sentence(text: str, *, limit: int = 160) -> str:
    """The first sentence of a mission when it is short and plain, else "" (a popup
    shows a cut-off sentence worse than none)."""
    text = " ".join((text or "").split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    sentence = match.group(1) if match else text
    return sentence if len(sentence) <= limit else ""


def get_change_requests(charity: Charity) -> list[str]:
    """A charity's requested changes of name, EIN, city or state that wait for staff
    (charities.services.update_profile writes them in application_flags)."""
    return [line for line in charity.application_flags.splitlines() if "Change requested" in line]


# --- payout eligibility ----------------------------------------------------------------

IRS_DEDUCTIBLE = "1"
IRS_UNCONDITIONAL = "01"


@dataclass(frozen=True)
class Eligibility:
    """May money leave to this charity now, and the facts that decided it (a payout stores
    `facts`, so anyone can later see what it was made on)."""

    eligible: bool
    reason: str  # one sentence for staff; "" when eligible
    facts: dict


def latest_irs_imports() -> dict[str, IrsImport]:
    """The most recent IRS BMF import covering each state."""
    latest: dict[str, IrsImport] = {}
    for batch in IrsImport.objects.order_by("imported_at", "id"):
        for state in batch.states:
            latest[state] = batch
    return latest


def needs_review_q(latest: dict[str, IrsImport] | None = None) -> Q:
    """The approved charities with an EIN that get_payout_eligibility would hold back, as
    a filter (the admin's "Needs review" list): no import covers their state, the latest
    import of their state did not list them, or it listed them not deductible or not
    unconditionally exempt."""
    latest = latest_irs_imports() if latest is None else latest
    flagged = ~Q(state__in=list(latest))
    for state, batch in latest.items():
        flagged |= Q(state=state) & (
            ~Q(irs_last_import=batch)
            | ~Q(irs_deductibility=IRS_DEDUCTIBLE)
            | ~Q(irs_status=IRS_UNCONDITIONAL)
        )
    return Q(verification_status=CharityStatus.APPROVED) & ~Q(ein="") & flagged


def get_payout_eligibility(charities, *, latest=None, at=None) -> dict[int, Eligibility]:
    """Eligibility of each charity (charity id -> Eligibility), DESIGN's rule: approved,
    and, when it has an EIN, listed with deductible status (DEDUCTIBILITY 1, STATUS 01)
    by the most recent IRS BMF import that covers its state. A charity missing from that
    import needs review: its payouts wait, and its share keeps accruing meanwhile."""
    latest = latest_irs_imports() if latest is None else latest
    at = timezone.now() if at is None else at
    out = {}
    for charity in charities:
        batch = latest.get(charity.state)
        facts = {
            "checked_at": at.isoformat(),
            "verification_status": charity.verification_status,
            "ein": charity.ein,
            "state": charity.state,
            "irs_import_id": charity.irs_last_import_id,
            "latest_irs_import_id": batch.pk if batch else None,
            "latest_irs_import": str(batch) if batch else "",
            "irs_status": charity.irs_status,
            "irs_deductibility": charity.irs_deductibility,
            "irs_subsection": charity.irs_subsection,
        }
        reason = ""
        if charity.verification_status != CharityStatus.APPROVED:
            reason = f"not approved ({charity.get_verification_status_display().lower()})"
        elif charity.ein:
            if batch is None:
                reason = f"no IRS BMF import covers {charity.state} yet"
            elif charity.irs_last_import_id != batch.pk:
                reason = (
                    f"needs review: EIN {charity.ein_display} is not in the latest IRS "
                    f"import ({batch})"
                )
            elif (
                charity.irs_deductibility != IRS_DEDUCTIBLE
                or charity.irs_status != IRS_UNCONDITIONAL
            ):
                reason = (
                    f"needs review: the IRS lists EIN {charity.ein_display} with status "
                    f"{charity.irs_status or '?'} and deductibility "
                    f"{charity.irs_deductibility or '?'}"
                )
        out[charity.pk] = Eligibility(eligible=not reason, reason=reason, facts=facts)
    return out


# --- membership (the charity portal) ---------------------------------------------------


def get_memberships(user) -> QuerySet[CharityMember]:
    """The charities a user works for, with their role, by charity name."""
    if user is None or not getattr(user, "is_authenticated", False):
        return CharityMember.objects.none()
    return (
        CharityMember.objects.filter(user=user)
        .select_related("charity")
        .order_by("charity__name", "charity_id")
    )


def get_membership(user, charity_id, *, owner: bool = False) -> CharityMember | None:
    """The user's membership of that charity (an owner's, when asked), or None: also for
    an id that is not a number, so a portal URL never tells a stranger what exists."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        charity_id = int(charity_id)
    except (TypeError, ValueError):
        return None
    if not 0 < charity_id < 2**63:
        return None
    members = CharityMember.objects.select_related("charity").filter(
        user=user, charity_id=charity_id
    )
    if owner:
        members = members.filter(role=MemberRole.OWNER)
    return members.first()


def get_gift_lines(charity_ids) -> dict[int, str]:
    """Each charity's "what a gift does" line (charity id -> line), for those that wrote
    one; one query."""
    ids = [int(i) for i in charity_ids if i]
    if not ids:
        return {}
    return dict(
        Charity.objects.filter(pk__in=ids).exclude(gift_line="").values_list("pk", "gift_line")
    )

"""The demo world that `manage.py seed_demo` builds on real IRS data.

Deterministic: every choice comes from a random generator seeded with a fixed string and
the row's own key (EIN, donor number), and every id is derived (uuid5), so two runs build
the same world and a second run in the same week changes nothing. Contributions are for
the last DEMO_WEEKS completed weeks before "now"; run again in a later week and the demo
gains that week's payments (the older ones are kept, never duplicated).

What it makes:
- The charities of charities/data/irs_bmf_demo.csv (Springfield VT, Springfield KY,
  Burlington VT, Cheyenne WY). Per city, APPROVED_PER_CITY community-facing charities
  are approved by the demo admin and given needs; PENDING_PER_CITY are left pending for
  staff to vet in the admin.
- admin@example.org (superuser) and alice@example.org (a donor), both with the password
  DEMO_PASSWORD, and about 200 donors donor001..donor200@example.org across the cities,
  including a few in Laramie, WY, a city with no charity (their money is held).
- Subscriptions: mostly active, some paused, some cancelled (the paused and cancelled
  ones paid in earlier weeks, and that money is still distributed).
- Those weeks distributed by the real engine and their weekly reports written, so every
  page has something to show (Laramie's money shows as held).
- The payouts of the last month that is over (payouts.services.run_payouts, as the
  monthly job would): no demo charity has a Stripe account, so they wait as pending
  manual payouts for staff to record in the admin; charities below the minimum carry
  their balance forward.
"""

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import get_user_by_email
from accounts.services import create_user
from charities.imports import import_charities
from charities.irs import parse_bmf, read_rows
from charities.models import Charity, CharityStatus, MemberRole
from charities.selectors import get_all_charities, get_pending_charities
from charities.services import add_member, approve_charity
from core.months import previous_period
from core.places import place_key
from core.weeks import last_completed_week, week_bounds
from distributions.models import Distribution
from needs.models import Need
from needs.services import create_need
from payouts.models import Payout
from payouts.services import run_payouts
from portfolio.services import distribute_funds
from reports.models import Report
from reports.services import generate_reports
from subscriptions.models import Contribution, FeeSource, Subscription, SubscriptionStatus
from subscriptions.selectors import get_subscription_by_stripe_id
from subscriptions.services import create_subscription, record_contribution

DEMO_CSV = Path(settings.BASE_DIR) / "charities" / "data" / "irs_bmf_demo.csv"
DEMO_PASSWORD = "hometown-demo"  # noqa: S105 -- printed on purpose; demo data only
ADMIN_EMAIL = "admin@example.org"
ALICE_EMAIL = "alice@example.org"
# A charity member (owner of the first approved charity of Springfield, VT): the portal.
MEMBER_EMAIL = "charity@example.org"
SEED = "hometown-demo-v1"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://hometown.example.org/demo")
DEMO_WEEKS = 4
APPROVED_PER_CITY = 10
PENDING_PER_CITY = 3

# (city, state, ZIP codes donors live in, number of donors)
CITIES = [
    ("Springfield", "VT", ["05156"], 45),
    ("Springfield", "KY", ["40069"], 35),
    ("Burlington", "VT", ["05401", "05405", "05408"], 60),
    ("Cheyenne", "WY", ["82001", "82007", "82009"], 52),
    ("Laramie", "WY", ["82070", "82072"], 8),
]

# Community-facing charity categories the demo approves, and the need each reports.
NEED_FOR_CATEGORY = {
    "food": "food",
    "housing": "housing",
    "human_services": "community",
    "health": "health",
    "mental_health": "mental_health",
    "youth": "youth",
    "education": "education",
    "employment": "employment",
    "public_safety": "emergency",
    "animals": "animals",
    "environment": "environment",
    "arts": "arts",
    "community": "community",
    "recreation": "youth",
}
AMOUNTS_CENTS = [500, 1000, 1000, 1500, 2000, 2500, 2500, 5000, 10000]
FIRST_NAMES = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Finn",
    "Grace",
    "Hiro",
    "Iris",
    "Jonah",
    "Kira",
    "Luis",
    "Maya",
    "Noah",
    "Olive",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tess",
    "Uma",
    "Victor",
    "Wren",
    "Xavi",
    "Yara",
    "Zane",
]
LAST_NAMES = [
    "Abbott",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Moreau",
    "Nguyen",
    "Okafor",
    "Patel",
]


@dataclass
class SeedResult:
    created: dict = field(default_factory=dict)
    weeks: list = field(default_factory=list)

    def add(self, what: str, count: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + count

    @property
    def changed(self) -> bool:
        return any(self.created.values())


def _rng(*key) -> random.Random:
    return random.Random(":".join([SEED, *map(str, key)]))


def _demo_id(*key) -> str:
    return uuid.uuid5(NAMESPACE, ":".join(map(str, key))).hex


def _ensure_user(email, *, result, name, city="", state="", zip_code="", staff=False):
    user = get_user_by_email(email)
    if user is not None:
        return user
    user = create_user(email=email, name=name, city=city, state=state, zip_code=zip_code)
    if staff:
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    result.add("users")
    return user


def _pick_charities() -> tuple[dict[tuple[str, str], list], object]:
    """Per demo city, APPROVED_PER_CITY + PENDING_PER_CITY community-facing BMF rows,
    in a fixed order: sorted by EIN, then shuffled by a generator seeded with the city;
    and the parsed file (its IRS facts make the demo's charities payable)."""
    with DEMO_CSV.open(newline="", encoding="utf-8") as stream:
        parsed = parse_bmf(read_rows(stream, filename=DEMO_CSV.name))
    rows = parsed.kept
    picked = {}
    for city, state, _, _ in CITIES[:4]:
        key = place_key(city, state)
        candidates = sorted(
            (
                r
                for r in rows
                if place_key(r.city, r.state) == key and r.category in NEED_FOR_CATEGORY
            ),
            key=lambda r: r.ein,
        )
        _rng(city, state).shuffle(candidates)
        picked[key] = candidates[: APPROVED_PER_CITY + PENDING_PER_CITY]
    return picked, parsed


def _charities(admin: User, result: SeedResult, now: dt.datetime) -> None:
    picked, parsed = _pick_charities()
    imported = import_charities(
        [r for rows in picked.values() for r in rows], source_name=DEMO_CSV.name, record=parsed
    )
    result.add("charities", imported.created)
    for rows in picked.values():
        to_approve = [r.ein for r in rows[:APPROVED_PER_CITY]]
        for charity in Charity.objects.filter(ein__in=to_approve).order_by("ein"):
            if charity.verification_status == CharityStatus.PENDING:
                charity = approve_charity(charity, by=admin, note="Vetted for the demo.")
                result.add("approvals")
            if charity.verification_status == CharityStatus.APPROVED:
                _give_needs(charity, admin, result, now)


def _give_needs(charity: Charity, admin: User, result: SeedResult, now: dt.datetime) -> None:
    fresh_after = now - dt.timedelta(days=settings.NEEDS_MAX_AGE_DAYS // 2)
    rng = _rng("needs", charity.ein)
    categories = [NEED_FOR_CATEGORY[charity.category]]
    if rng.random() < 0.4:
        categories.append("operations")
    for category in categories:
        urgency = rng.randint(35, 95)
        gap_cents = rng.randint(20, 400) * 25_000  # $250 steps, $5,000 to $100,000
        current = Need.objects.filter(charity=charity, category=category, source="manual")
        if current.filter(last_updated__gte=fresh_after).exists():
            continue
        create_need(
            charity=charity,
            category=category,
            urgency_score=urgency,
            funding_gap_cents=gap_cents,
            changed_by=admin,
            at=now,
            note="Demo needs.",
        )
        result.add("needs")


def _donors(result: SeedResult) -> list[tuple[User, random.Random]]:
    donors, number = [], 0
    for city, state, zips, count in CITIES:
        for i in range(count):
            number += 1
            rng = _rng("donor", number)
            email = ALICE_EMAIL if number == 1 else f"donor{number:03d}@example.org"
            name = (
                "Alice Abbott"
                if number == 1
                else (f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}")
            )
            user = _ensure_user(
                email,
                result=result,
                name=name,
                city=city,
                state=state,
                zip_code=zips[i % len(zips)],
            )
            donors.append((user, rng))
    return donors


def _subscriptions_and_payments(donors, weeks, result: SeedResult) -> None:
    first_monday = weeks[0]
    for user, rng in donors:
        roll = rng.random()
        if user.email == ALICE_EMAIL or roll < 0.8:
            status, paid_weeks = SubscriptionStatus.ACTIVE, weeks
        elif roll < 0.92:
            status, paid_weeks = SubscriptionStatus.PAUSED, weeks[:2]
        else:
            status, paid_weeks = SubscriptionStatus.CANCELLED, weeks[:1]
        sub_id = f"demo_{_demo_id('subscription', user.email)}"
        subscription = get_subscription_by_stripe_id(sub_id)
        if subscription is None:
            subscription = create_subscription(
                user=user,
                amount_cents=rng.choice(AMOUNTS_CENTS),
                status=status,
                stripe_subscription_id=sub_id,
                stripe_status={"active": "active", "paused": "paused"}.get(status, "canceled"),
                start_date=first_monday,
            )
            result.add("subscriptions")
        for monday in paid_weeks:
            start, _ = week_bounds(monday)
            paid_at = start + dt.timedelta(days=1, hours=9, minutes=rng.randint(0, 600))
            _, created = record_contribution(
                subscription=subscription,
                amount_cents=subscription.amount_cents,
                paid_at=paid_at,
                stripe_invoice_id=f"demo_in_{_demo_id('invoice', sub_id, monday)}",
                # Demo billing: no card processor, so no fee; all of it can be given.
                fee_cents=0,
                fee_source=FeeSource.DEMO,
            )
            result.add("contributions", int(created))


def _set_demo_passwords(result: SeedResult) -> None:
    """One hash for every demo login: hashing 200 passwords one by one takes minutes."""
    # "!" starts Django's unusable password: demo users created but not yet given one.
    unusable = "!"
    demo_users = User.objects.filter(email__endswith="@example.org", password__startswith=unusable)
    if demo_users.exists():
        demo_users.update(password=make_password(DEMO_PASSWORD))


@transaction.atomic
def seed_demo(*, now: dt.datetime | None = None) -> SeedResult:
    now = now or timezone.now()
    result = SeedResult()
    last = last_completed_week(now)
    result.weeks = [last - dt.timedelta(weeks=n) for n in range(DEMO_WEEKS - 1, -1, -1)]

    admin = _ensure_user(ADMIN_EMAIL, result=result, name="Demo Admin", staff=True)
    _charities(admin, result, now)
    donors = _donors(result)
    _subscriptions_and_payments(donors, result.weeks, result)
    _charity_member(result)
    _set_demo_passwords(result)
    return result


def _charity_member(result: SeedResult) -> None:
    """charity@example.org, owner of one approved demo charity (the portal's login)."""
    charity = (
        Charity.objects.filter(
            city="Springfield", state="VT", verification_status=CharityStatus.APPROVED
        )
        .order_by("ein")
        .first()
    )
    if charity is None:
        return
    member = _ensure_user(MEMBER_EMAIL, result=result, name="Demo Charity Owner")
    if not charity.members.filter(user=member).exists():
        add_member(charity, user=member, role=MemberRole.OWNER)
        result.add("charity members")


def distribute_demo_weeks(weeks: list[dt.date], result: SeedResult) -> None:
    """Run the weekly engine and the reports for the demo's weeks, oldest first, as the
    Monday jobs would have (without emailing 200 demo donors). Both are idempotent, so a
    second seed adds nothing."""
    rows, reports = Distribution.objects.count(), Report.objects.count()
    for monday in weeks:
        distribute_funds(monday)
        generate_reports(monday)
    result.add("distribution rows", Distribution.objects.count() - rows)
    result.add("reports", Report.objects.count() - reports)


def pay_demo_month(result: SeedResult, *, now: dt.datetime | None = None) -> None:
    """The monthly payouts of the last month that is over, as the beat job would run them
    (idempotent: a second seed finds nothing unpaid)."""
    now = now or timezone.now()
    run = run_payouts(previous_period(now), now=now)
    result.add("payouts", run.created_count)


def demo_counts() -> dict[str, int]:
    return {
        "approved charities": get_all_charities(status=CharityStatus.APPROVED).count(),
        "pending charities": get_pending_charities().count(),
        "donors": User.objects.filter(is_staff=False).count(),
        "subscriptions": Subscription.objects.count(),
        "contributions": Contribution.objects.count(),
        "held contributions": Contribution.objects.filter(distributed_week__isnull=True).count(),
        "distribution rows": Distribution.objects.count(),
        "reports": Report.objects.count(),
        "payouts": Payout.objects.count(),
    }

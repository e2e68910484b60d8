"""The demo world that `manage.py seed_demo` builds on real IRS data.

Deterministic: every choice comes from a random generator seeded with a fixed string and
the row's own key (EIN, donor number), and every id is derived (uuid5), so two runs build
the same world and a second run in the same week changes nothing. Contributions are for
the last DEMO_WEEKS completed weeks before "now"; run again in a later week and the demo
gains that week's payments (the older ones are kept, never duplicated).

What it makes:
- The charities of charities/data/irs_bmf_demo.csv (Springfield VT, Springfield KY,
  Burlington VT, Cheyenne WY). Per city, APPROVED_PER_CITY community-facing charities
  are approved by the demo admin and given a mission and gift line (templates by
  category, filled in with the city), a logo (initials on a colour, a PNG made with
  Pillow, checked and re-encoded by charities.images and stored as logos/demo-<EIN>.png
  in default_storage) and needs with a one-line description; PENDING_PER_CITY are left
  pending for staff to vet in the admin.
- applicant@example.org, who applied (charities.services.apply_for_charity) for one of
  Burlington's pending charities: it waits under the admin's "applications" filter, with
  its flags. charity@example.org owns one approved charity of Springfield, VT (/portal/).
- admin@example.org (superuser) and alice@example.org (a donor), with charity@example.org
  and applicant@example.org all with the password DEMO_PASSWORD, and about 200 donors
  donor001..donor200@example.org across the cities,
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
import io
import random
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from accounts.models import User
from accounts.selectors import get_user_by_email
from accounts.services import create_user
from charities.images import prepare_logo
from charities.imports import import_charities
from charities.irs import parse_bmf, read_rows
from charities.models import Charity, CharityStatus, MemberRole
from charities.selectors import get_all_charities, get_pending_charities
from charities.services import (
    add_member,
    apply_for_charity,
    approve_charity,
    forget_places,
)
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
# Someone who applied for one of Burlington's pending charities: staff's "applications".
APPLICANT_EMAIL = "applicant@example.org"
APPLICATION_CITY = ("Burlington", "VT")
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
# What the demo charities say of themselves, by the need category their own category maps
# to: ({city} is the charity's city). Missions and gift lines are picked per charity and
# need descriptions per need, each by a generator seeded with the EIN.
MISSIONS = {
    "food": [
        "We run {city}'s weekly food pantry and a free Saturday lunch, so no neighbour has "
        "to choose between groceries and rent.",
        "We rescue surplus food from {city}'s grocers and farms and bring it to families, "
        "seniors and school kids who need it.",
    ],
    "housing": [
        "We keep {city} families in their homes: emergency rent help, repairs for older "
        "homeowners and a warm bed for anyone without one tonight.",
        "We build and repair affordable homes in {city} with volunteers and the families "
        "who will live in them.",
    ],
    "community": [
        "We are {city}'s neighbours helping neighbours: rides to appointments, help with "
        "paperwork and a place to turn when things go wrong.",
        "We bring {city} together: a community hall, free events and a small fund for "
        "families in a hard month.",
    ],
    "health": [
        "We give {city} residents care they can afford: check-ups, dental visits and help "
        "paying for prescriptions.",
        "We support {city} patients and their families through serious illness, with rides, "
        "meals and someone to talk to.",
    ],
    "mental_health": [
        "We offer free counselling and support groups in {city}, and a phone line that is "
        "answered day and night.",
        "We help {city} neighbours through addiction and crisis, with peer support and a "
        "path back to work and family.",
    ],
    "youth": [
        "We give {city} kids a safe place after school: homework help, sports, a hot "
        "snack and adults who show up.",
        "We pair {city} young people with mentors and keep our camps and teams free for "
        "every family.",
    ],
    "education": [
        "We help {city} learners of every age: tutoring, adult literacy classes and books "
        "for every child who wants one.",
        "We fund field trips, school supplies and scholarships so every {city} student can "
        "take part.",
    ],
    "employment": [
        "We help {city} job seekers into steady work: training, interview practice and "
        "tools for the first day.",
        "We help {city} workers start and own businesses, with coaching and small loans.",
    ],
    "emergency": [
        "Our volunteers answer {city}'s emergencies day and night; we train them and keep "
        "their gear ready.",
        "We help {city} families through fires, floods and storms: shelter, supplies and "
        "help rebuilding.",
    ],
    "animals": [
        "We shelter {city}'s lost and surrendered animals, care for them and find them homes.",
        "We offer low-cost spay, neuter and vet care in {city}, so families can keep the "
        "pets they love.",
    ],
    "environment": [
        "We protect {city}'s rivers, trails and open land, and bring volunteers out to care "
        "for them.",
        "We plant trees, clean up waterways and teach {city} kids about the land they live on.",
    ],
    "arts": [
        "We keep the arts alive in {city}: free concerts, classes for kids and a stage for "
        "local artists.",
        "We run {city}'s community theatre and music programs, open to everyone whatever "
        "they can pay.",
    ],
}
GIFT_LINES = {
    "food": [
        "$10 a week puts a bag of groceries on a family's table.",
        "$5 a week pays for ten hot lunches a month.",
    ],
    "housing": [
        "$20 a week keeps a family in their home through a hard month.",
        "$10 a week buys a night in a warm bed for someone without one.",
    ],
    "community": [
        "$10 a week gets a neighbour to their doctor and back.",
        "$5 a week keeps the community hall warm and open.",
    ],
    "health": [
        "$10 a week pays for a child's dental check-up each month.",
        "$20 a week covers a month of prescriptions for a patient in need.",
    ],
    "mental_health": [
        "$10 a week answers twenty calls to our support line.",
        "$20 a week pays for a counselling session every month.",
    ],
    "youth": [
        "$10 a week gives a kid a month of after-school care.",
        "$5 a week pays a child's camp and team fees.",
    ],
    "education": [
        "$5 a week puts a new book in a child's hands every month.",
        "$10 a week pays for a month of tutoring.",
    ],
    "employment": [
        "$10 a week buys the tools for someone's first day at work.",
        "$20 a week trains one job seeker for a month.",
    ],
    "emergency": [
        "$10 a week keeps a volunteer's gear ready.",
        "$20 a week stocks a family's emergency kit.",
    ],
    "animals": [
        "$10 a week feeds a shelter dog for a month.",
        "$20 a week pays for a spay or neuter every month.",
    ],
    "environment": [
        "$5 a week plants a tree every month.",
        "$10 a week keeps a mile of trail clear and safe.",
    ],
    "arts": [
        "$5 a week gives a child a month of art classes.",
        "$10 a week keeps a free concert's doors open.",
    ],
}
NEED_DESCRIPTIONS = {
    "food": ["Groceries for {n} families this month", "Hot lunches for {n} seniors a week"],
    "housing": ["Emergency rent for {n} families", "Heating repairs in {n} homes before winter"],
    "community": [
        "Rides to appointments for {n} neighbours",
        "Help for {n} families in a hard month",
    ],
    "health": ["Dental care for {n} children", "Prescriptions for {n} patients who cannot pay"],
    "mental_health": [
        "Counselling for {n} people on our waiting list",
        "Keeping the support line open for {n} more hours a week",
    ],
    "youth": ["Winter coats for {n} children", "After-school places for {n} more kids"],
    "education": [
        "Books and supplies for {n} students",
        "Tutoring for {n} students behind in reading",
    ],
    "employment": ["Job training for {n} people", "Work tools and boots for {n} new hires"],
    "emergency": ["Gear for {n} volunteer responders", "Emergency kits for {n} families"],
    "animals": [
        "Vet care for {n} shelter animals",
        "Food and bedding for {n} animals this winter",
    ],
    "environment": ["{n} trees for the riverbank", "Clearing {n} miles of trail"],
    "arts": ["Art classes for {n} children", "{n} free community concerts"],
    "operations": [
        "A new roof for our building",
        "Keeping the lights on and the van running",
        "Laptops for our {n} volunteers",
    ],
}
# Logos: the charity's initials in white on a colour picked by its EIN, stored as
# logos/demo-<EIN>.png (the same file every run, so a second seed writes nothing).
LOGO_SIDE = 256
LOGO_COLOURS = ["#1f6f5c", "#2b5797", "#8e3b46", "#b5651d", "#5b4b8a", "#2f7d32", "#00796b"]
NAME_FILLER = {"A", "AND", "CO", "CORP", "CORPORATION", "FOR", "INC", "INCORPORATED", "OF", "THE"}
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
    created: dict = field(default_factory=dict)  # noun (singular) -> how many made
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
    result.add("user")
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


def _charities(admin: User, result: SeedResult, now: dt.datetime) -> dict:
    picked, parsed = _pick_charities()
    imported = import_charities(
        [r for rows in picked.values() for r in rows], source_name=DEMO_CSV.name, record=parsed
    )
    result.add("charity", imported.created)
    for rows in picked.values():
        to_approve = [r.ein for r in rows[:APPROVED_PER_CITY]]
        for charity in Charity.objects.filter(ein__in=to_approve).order_by("ein"):
            if charity.verification_status == CharityStatus.PENDING:
                charity = approve_charity(charity, by=admin, note="Vetted for the demo.")
                result.add("approval")
            if charity.verification_status == CharityStatus.APPROVED:
                _give_profile(charity, result)
                _give_logo(charity, result)
                _give_needs(charity, admin, result, now)
    return picked


def _give_profile(charity: Charity, result: SeedResult) -> None:
    """A mission and a gift line, where the charity has none (a member's own are kept).
    Written to the fields directly, as update_profile only lets members write, and
    checked by the model's own validation."""
    kind = NEED_FOR_CATEGORY[charity.category]
    rng = _rng("profile", charity.ein)
    wanted = {
        "mission": rng.choice(MISSIONS[kind]).format(city=charity.city),
        "gift_line": rng.choice(GIFT_LINES[kind]),
    }
    changed = [f for f, value in wanted.items() if not getattr(charity, f)]
    if not changed:
        return
    for name in changed:
        setattr(charity, name, wanted[name])
    charity.full_clean(validate_unique=False)
    charity.save(update_fields=[*changed, "updated_at"])
    forget_places()
    result.add("profile")


def _initials(name: str) -> str:
    words = [w for w in re.split(r"[^A-Z0-9]+", name.upper()) if w and w not in NAME_FILLER]
    return "".join(w[0] for w in words[:2]) or "?"


def demo_logo_png(charity: Charity) -> bytes:
    """The charity's initials in white on a colour picked by its EIN, as PNG bytes."""
    colour = _rng("logo", charity.ein).choice(LOGO_COLOURS)
    image = Image.new("RGB", (LOGO_SIDE, LOGO_SIDE), colour)
    font = ImageFont.load_default(size=LOGO_SIDE * 2 // 5)  # Pillow's bundled font
    centre = (LOGO_SIDE // 2, LOGO_SIDE // 2)
    ImageDraw.Draw(image).text(
        centre, _initials(charity.name), fill="white", font=font, anchor="mm"
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _give_logo(charity: Charity, result: SeedResult) -> None:
    """A generated logo, where the charity has none, through the same checks and
    re-encoding as an upload (charities.images) and into default_storage. The file is
    named by EIN: one already stored (an earlier seed) is used again, not rewritten."""
    if charity.logo:
        return
    name = f"logos/demo-{charity.ein}.png"
    if not default_storage.exists(name):
        upload = ContentFile(demo_logo_png(charity), name="logo.png")
        name = default_storage.save(name, prepare_logo(upload))
        result.add("logo file")
    charity.logo.name = name
    charity.save(update_fields=["logo", "updated_at"])
    forget_places()
    result.add("logo")


def _need_description(charity: Charity, category: str) -> str:
    rng = _rng("need description", charity.ein, category)
    return rng.choice(NEED_DESCRIPTIONS[category]).format(n=rng.choice([12, 20, 25, 40, 60]))


def _give_needs(charity: Charity, admin: User, result: SeedResult, now: dt.datetime) -> None:
    fresh_after = now - dt.timedelta(days=settings.NEEDS_MAX_AGE_DAYS // 2)
    rng = _rng("needs", charity.ein)
    categories = [NEED_FOR_CATEGORY[charity.category]]
    if rng.random() < 0.4:
        categories.append("operations")
    for category in categories:
        urgency = rng.randint(35, 95)
        gap_cents = rng.randint(20, 400) * 25_000  # $250 steps, $5,000 to $100,000
        description = _need_description(charity, category)
        current = Need.objects.filter(charity=charity, category=category, source="manual")
        fresh = current.filter(last_updated__gte=fresh_after).first()
        if fresh is not None and fresh.description:
            continue
        if fresh is not None:  # seeded before needs had descriptions: keep its figures
            urgency, gap_cents = fresh.urgency_score, fresh.funding_gap_cents
        create_need(
            charity=charity,
            category=category,
            urgency_score=urgency,
            funding_gap_cents=gap_cents,
            changed_by=admin,
            at=now,
            note="Demo needs.",
            description=description,
        )
        result.add("need")


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
            result.add("subscription")
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
            result.add("contribution", int(created))


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
    picked = _charities(admin, result, now)
    donors = _donors(result)
    _subscriptions_and_payments(donors, result.weeks, result)
    _charity_member(result)
    _application(picked, result, now)
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
        result.add("charity member")


LEGAL_SUFFIX = re.compile(r"\s+(inc|incorporated|corp|corporation)\.?$", re.IGNORECASE)


def _application(picked: dict, result: SeedResult, now: dt.datetime) -> None:
    """applicant@example.org applies, through the site's own service, for the first
    pending charity of Burlington, VT, writing its name without "Inc" as people do (so
    staff see a flag). Once they have applied (whatever staff decided since) nothing
    more is done."""
    applicant = _ensure_user(
        APPLICANT_EMAIL, result=result, name="Demo Applicant", city="Burlington", state="VT"
    )
    if Charity.objects.filter(applied_by=applicant).exists():
        return
    eins = [r.ein for r in picked[place_key(*APPLICATION_CITY)][APPROVED_PER_CITY:]]
    candidates = Charity.objects.filter(
        ein__in=eins,
        verification_status=CharityStatus.PENDING,
        applied_by__isnull=True,
        members__isnull=True,
    )
    charity = min(candidates, key=lambda c: eins.index(c.ein), default=None)
    if charity is None:
        return
    kind = NEED_FOR_CATEGORY[charity.category]
    apply_for_charity(
        user=applicant,
        ein=charity.ein,
        name=LEGAL_SUFFIX.sub("", charity.name),
        city=charity.city,
        state=charity.state,
        zip_code=charity.zip_code,
        category=charity.category,
        mission=_rng("application", charity.ein).choice(MISSIONS[kind]).format(city=charity.city),
        contact_email=APPLICANT_EMAIL,
        at=now,
    )
    result.add("application")


def distribute_demo_weeks(weeks: list[dt.date], result: SeedResult) -> None:
    """Run the weekly engine and the reports for the demo's weeks, oldest first, as the
    Monday jobs would have (without emailing 200 demo donors). Both are idempotent, so a
    second seed adds nothing."""
    rows, reports = Distribution.objects.count(), Report.objects.count()
    for monday in weeks:
        distribute_funds(monday)
        generate_reports(monday)
    result.add("distribution row", Distribution.objects.count() - rows)
    result.add("report", Report.objects.count() - reports)


def pay_demo_month(result: SeedResult, *, now: dt.datetime | None = None) -> None:
    """The monthly payouts of the last month that is over, as the beat job would run them
    (idempotent: a second seed finds nothing unpaid)."""
    now = now or timezone.now()
    run = run_payouts(previous_period(now), now=now)
    result.add("payout", run.created_count)


def demo_counts() -> dict[str, int]:
    """What the demo holds now, by noun (singular: core.text.counted words them)."""
    return {
        "approved charity": get_all_charities(status=CharityStatus.APPROVED).count(),
        "pending charity": get_pending_charities().count(),
        "donor": User.objects.filter(is_staff=False).count(),
        "subscription": Subscription.objects.count(),
        "contribution": Contribution.objects.count(),
        "held contribution": Contribution.objects.filter(distributed_week__isnull=True).count(),
        "distribution row": Distribution.objects.count(),
        "report": Report.objects.count(),
        "payout": Payout.objects.count(),
    }


def email_destination() -> str:
    """Where the emails the site sends go, in words (make run prints it)."""
    backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2]
    if backend == "filebased":
        return f"are written as files to {settings.EMAIL_FILE_PATH}/"
    if backend == "console":
        return "are printed to the console"
    if backend == "smtp":
        return f"are sent through {settings.EMAIL_HOST}"
    if backend == "locmem":
        return "are kept in memory (tests)"
    return f"go to {settings.EMAIL_BACKEND}"

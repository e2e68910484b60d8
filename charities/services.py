"""Writes for charities: creation, edits, vetting and coordinates.

Vetting (approve/reject) checks the acting user's permission here as well as in the
admin, so no other entry point can approve a charity on a donor's behalf.
"""

import dataclasses
import logging

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage, get_connection, send_mail
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.db.models import Case, F, TextField, Value, When
from django.db.models.functions import Concat
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from core.places import normalize_city, normalize_state
from core.validation import UNSET, require_choice, require_instance, require_text

from .categories import CATEGORY_CHOICES
from .images import prepare_logo
from .models import Charity, CharityMember, CharityStatus, CoordinatesSource, MemberRole
from .selectors import PLACES_CACHE_KEY, VERSION_CACHE_KEY

VET_PERMISSION = "charities.vet_charity"
logger = logging.getLogger(__name__)

# Fields a caller may set through create_charity/update_charity, with their checks.
_TEXT_FIELDS = {
    "name": 200,
    "description": 5000,
    "admin_notes": 10000,
    "website": 300,
    "contact_email": 254,
    "needs_feed_url": 500,
}


def _clean_ein(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({"ein": "EIN must be text of 9 digits."})
    ein = value.strip().replace("-", "")
    if ein and (len(ein) != 9 or not ein.isdigit()):
        raise ValidationError({"ein": f"{value!r} is not an EIN (9 digits, like 12-3456789)."})
    return ein


def _apply(charity: Charity, fields: dict) -> list[str]:
    changed = []
    for field, value in fields.items():
        if value is UNSET:
            continue
        if field in _TEXT_FIELDS:
            value = require_text(
                value, field, max_length=_TEXT_FIELDS[field], required=field == "name"
            )
        elif field == "city":
            value = normalize_city(value)
        elif field == "state":
            value = normalize_state(value)
        elif field == "zip_code":
            value = require_text(value, field, max_length=5, required=False)
            if value and not (len(value) == 5 and value.isdigit()):
                raise ValidationError({field: f"{value!r} is not a 5-digit ZIP code."})
        elif field == "category":
            value = require_choice(value, field, CATEGORY_CHOICES)
        elif field == "ein":
            value = _clean_ein(value)
        else:
            raise ValidationError({field: f"{field} cannot be set here."})
        setattr(charity, field, value)
        changed.append(field)
    return changed


def forget_places() -> None:
    """Charities changed: once committed, drop the cached list of cities with approved
    charities and move on the version public pages are cached under (charities.selectors)."""
    transaction.on_commit(lambda: cache.delete_many([PLACES_CACHE_KEY, VERSION_CACHE_KEY]))


def _check_ein_free(ein: str, *, exclude_pk=None) -> None:
    if ein and Charity.objects.filter(ein=ein).exclude(pk=exclude_pk).exists():
        raise ValidationError({"ein": f"A charity with EIN {ein} already exists."})


@transaction.atomic
def create_charity(
    *,
    name: str,
    city: str,
    state: str,
    zip_code: str = "",
    category: str = "other",
    description: str = "",
    ein: str = "",
    website: str = "",
    contact_email: str = "",
    needs_feed_url: str = "",
    admin_notes: str = "",
) -> Charity:
    """A new charity, pending review until staff approve it."""
    charity = Charity(verification_status=CharityStatus.PENDING)
    _apply(
        charity,
        dict(
            name=name,
            city=city,
            state=state,
            zip_code=zip_code,
            category=category,
            description=description,
            ein=ein,
            website=website,
            contact_email=contact_email,
            needs_feed_url=needs_feed_url,
            admin_notes=admin_notes,
        ),
    )
    _check_ein_free(charity.ein)
    charity.full_clean()
    charity.save()
    return charity


@transaction.atomic
def update_charity(
    charity: Charity,
    *,
    name=UNSET,
    description=UNSET,
    city=UNSET,
    state=UNSET,
    zip_code=UNSET,
    category=UNSET,
    ein=UNSET,
    website=UNSET,
    contact_email=UNSET,
    needs_feed_url=UNSET,
    admin_notes=UNSET,
) -> Charity:
    """Edit a charity's details. Status and coordinates have their own functions."""
    require_instance(charity, "charity", Charity)
    changed = _apply(
        charity,
        dict(
            name=name,
            description=description,
            city=city,
            state=state,
            zip_code=zip_code,
            category=category,
            ein=ein,
            website=website,
            contact_email=contact_email,
            needs_feed_url=needs_feed_url,
            admin_notes=admin_notes,
        ),
    )
    if "ein" in changed:
        _check_ein_free(charity.ein, exclude_pk=charity.pk)
    if changed:
        charity.full_clean(validate_unique=False)
        charity.save(update_fields=[*changed, "updated_at"])
        if {"city", "state"} & set(changed):
            forget_places()
    return charity


VETTING_FIELDS = ["verification_status", "approved_at", "approved_by", "admin_notes", "updated_at"]


def _require_vetter(by) -> User:
    require_instance(by, "by", User)
    if not (by.is_active and by.is_staff and by.has_perm(VET_PERMISSION)):
        raise PermissionDenied(f"{by} may not approve or reject charities.")
    return by


def _note_line(by: User | None, verb: str, note: str, *, at=None) -> str:
    stamp = timezone.localtime(at).strftime("%Y-%m-%d %H:%M")
    who = f" by {by.email}" if by is not None else ""
    return f"[{stamp}] {verb}{who}" + (f": {note}" if note else "")


def _append_note(charity: Charity, line: str) -> None:
    charity.admin_notes = f"{charity.admin_notes}\n{line}".strip()


@transaction.atomic
def approve_charity(charity: Charity, *, by: User, note: str = "") -> Charity:
    """Approve: the charity appears to donors and takes part in distributions. A rejected
    charity may be approved after all; an approved one is left as it is."""
    require_instance(charity, "charity", Charity)
    _require_vetter(by)
    approve_charities([charity.pk], by=by, note=note, from_statuses=APPROVABLE)
    return Charity.objects.get(pk=charity.pk)


APPROVABLE = (CharityStatus.PENDING, CharityStatus.REJECTED)


@transaction.atomic
def approve_charities(
    charity_ids,
    *,
    by: User | None,
    note: str = "",
    from_statuses=(CharityStatus.PENDING,),
    at=None,
) -> int:
    """Approve many charities at once (approve_charity is this for one): each whose
    status is in `from_statuses` becomes approved, with the time, the vetter and a line
    in its admin notes. One UPDATE, so an import of thousands stays fast. Returns how
    many were approved.

    by=None is the platform itself approving on a staff member's command at the command
    line (import_charities --approve), where there is no signed-in user; every view and
    admin action goes through approve_charity with the request's user, whose permission
    is checked.
    """
    if by is not None:
        _require_vetter(by)
    note = require_text(note, "note", max_length=1000, required=False)
    at = timezone.now() if at is None else at
    line = _note_line(by, "Approved", note, at=at)
    ids = [require_instance(c, "charity", Charity).pk if isinstance(c, Charity) else c
           for c in charity_ids]  # fmt: skip
    # Applicants hear of the approval: their rows are locked here so the list is exactly
    # the rows the UPDATE below approves.
    applications = list(
        Charity.objects.select_for_update()
        .filter(pk__in=ids, verification_status__in=from_statuses, applied_by__isnull=False)
        .values_list("pk", flat=True)
    )
    approved = Charity.objects.filter(pk__in=ids, verification_status__in=from_statuses).update(
        verification_status=CharityStatus.APPROVED,
        approved_at=at,
        approved_by=by,
        admin_notes=Case(
            When(admin_notes="", then=Value(line)),
            default=Concat(F("admin_notes"), Value("\n" + line), output_field=TextField()),
            output_field=TextField(),
        ),
        updated_at=at,
    )
    if approved:
        forget_places()
    _email_decisions_on_commit(applications, approved=True)
    return approved


@transaction.atomic
def reject_charity(charity: Charity, *, by: User, note: str) -> Charity:
    """Reject, keeping the reason in admin_notes. A rejected charity gets no money."""
    require_instance(charity, "charity", Charity)
    _require_vetter(by)
    note = require_text(note, "note", max_length=1000)
    charity = Charity.objects.select_for_update().get(pk=charity.pk)
    charity.verification_status = CharityStatus.REJECTED
    charity.approved_at = None
    charity.approved_by = None
    _append_note(charity, _note_line(by, "Rejected", note))
    charity.save(update_fields=VETTING_FIELDS)
    forget_places()
    if charity.applied_by_id is not None:
        _email_decisions_on_commit([charity.pk], approved=False, note=note)
    return charity


def _require_coordinate(value, field, limit) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError({field: f"{field} must be a number, got {value!r}."})
    value = float(value)
    if not -limit <= value <= limit:
        raise ValidationError({field: f"{field} must be between -{limit} and {limit}."})
    return value


@transaction.atomic
def update_charity_coordinates(
    charity: Charity,
    *,
    latitude,
    longitude,
    source: str = CoordinatesSource.MANUAL,
    overwrite_manual: bool = True,
) -> Charity:
    """Set (or, with both None, clear) a charity's coordinates and where they came from.

    With overwrite_manual=False (geocoding, imports) coordinates set by hand are kept.
    """
    require_instance(charity, "charity", Charity)
    if latitude is None and longitude is None:
        lat = lon = None
        source = None
    else:
        lat = _require_coordinate(latitude, "latitude", 90)
        lon = _require_coordinate(longitude, "longitude", 180)
        source = require_choice(source, "source", CoordinatesSource.choices)
    if not overwrite_manual and charity.coordinates_source == CoordinatesSource.MANUAL:
        return charity
    charity.latitude, charity.longitude, charity.coordinates_source = lat, lon, source
    charity.save(update_fields=["latitude", "longitude", "coordinates_source", "updated_at"])
    return charity


# --- membership -------------------------------------------------------------------------


@transaction.atomic
def add_member(charity: Charity, *, user: User, role: str, by: User | None = None):
    """Make a user a member of a charity (or change their role). Returns the membership."""
    require_instance(charity, "charity", Charity)
    require_instance(user, "user", User)
    role = require_choice(role, "role", MemberRole.choices)
    member, created = CharityMember.objects.select_for_update().get_or_create(
        charity=charity, user=user, defaults={"role": role, "added_by": by}
    )
    if not created and member.role != role:
        if member.role == MemberRole.OWNER:
            _keep_an_owner(charity, leaving=member)
        member.role = role
        member.save(update_fields=["role"])
    return member


@transaction.atomic
def remove_member(member: CharityMember) -> None:
    """Remove a membership; a charity's last owner stays (ValidationError)."""
    require_instance(member, "member", CharityMember)
    member = CharityMember.objects.select_for_update().get(pk=member.pk)
    if member.role == MemberRole.OWNER:
        _keep_an_owner(member.charity, leaving=member)
    member.delete()


def _keep_an_owner(charity: Charity, *, leaving: CharityMember) -> None:
    owners = CharityMember.objects.select_for_update().filter(
        charity=charity, role=MemberRole.OWNER
    )
    if not owners.exclude(pk=leaving.pk).exists():
        raise ValidationError(
            {"role": f"{charity.name} needs at least one owner: add another owner first."}
        )


# --- applications (/charities/apply/) ---------------------------------------------------

MISSION_MAX_LENGTH = 2000
NOT_IN_IRS_FILE = "EIN not in the imported IRS file: check it is a registered charity."
NOT_IN_RECORDED_IMPORT = (
    "EIN is on file here but no recorded IRS import listed it: check its standing."
)


def _refusal(charity: Charity, user: User) -> str | None:
    """Why an application for this EIN is refused, or None when it may claim the row.

    Only a pending row nobody works for and nobody applied for (what a BMF import made)
    may be claimed; anything else already belongs to someone."""
    if charity.verification_status == CharityStatus.APPROVED:
        return (
            f"{charity.name} is already on Hometown Fund. Ask its owner to add you "
            "from the charity portal, or write to our staff from the charity's address."
        )
    if charity.verification_status == CharityStatus.REJECTED:
        return (
            f"An application for {charity.name} (EIN {charity.ein_display}) was turned "
            "down. Write to our staff from the charity's address if that should change."
        )
    if charity.applied_by_id == user.pk:
        return f"You have applied for {charity.name} already; it is waiting for review."
    if charity.applied_by_id is not None or charity.members.exists():
        return (
            f"{charity.name} (EIN {charity.ein_display}) has applied already and is "
            "waiting for review. Ask whoever applied to add you once it is approved."
        )
    return None


def _required_ein(value) -> str:
    ein = _clean_ein(value)
    if not ein:
        raise ValidationError({"ein": "Give the charity's EIN (9 digits, like 12-3456789)."})
    return ein


def check_ein_for_application(ein, *, user: User) -> Charity | None:
    """The row an application for this EIN would claim (an imported, unclaimed one), or
    None for an EIN we hold nothing for. ValidationError({"ein": ...}) when refused."""
    require_instance(user, "user", User)
    charity = Charity.objects.filter(ein=_required_ein(ein)).first()
    if charity is not None and (reason := _refusal(charity, user)):
        raise ValidationError({"ein": reason})
    return charity


def _same_words(a: str, b: str) -> bool:
    def words(text):
        return "".join(c if c.isalnum() else " " for c in text.casefold()).split()

    return words(a) == words(b)


def _irs_mismatches(charity: Charity, *, name, city, state, category) -> list[str]:
    """Where what the applicant wrote disagrees with what the IRS file said of the EIN."""
    flags = []
    if not _same_words(name, charity.name):
        flags.append(f"Name: applicant wrote {name!r}, the IRS file says {charity.name!r}.")
    if normalize_city(city).casefold() != charity.city.casefold() or state != charity.state:
        flags.append(f"Place: applicant wrote {city}, {state}; the IRS file says {charity.place}.")
    if category != charity.category:
        labels = dict(CATEGORY_CHOICES)
        flags.append(
            f"Category: applicant chose {labels.get(category, category)}, the IRS file's "
            f"NTEE code says {labels.get(charity.category, charity.category)}."
        )
    if charity.irs_last_import_id is None:
        flags.append(NOT_IN_RECORDED_IMPORT)
    return flags


@transaction.atomic
def apply_for_charity(
    *,
    user: User,
    ein: str,
    name: str,
    city: str,
    state: str,
    zip_code: str = "",
    category: str,
    mission: str,
    website: str = "",
    contact_email: str,
    at=None,
) -> Charity:
    """A signed-in user asks for their charity to be listed: a pending Charity staff
    approve or reject in the admin, with the user as its owner.

    An EIN an IRS import brought in (a pending row nobody claimed) is claimed: the IRS
    file's name, place and category are kept, and where the applicant disagrees it is
    written to application_flags for staff. An EIN we hold nothing for makes a new row,
    flagged as not in the IRS file. An EIN that is approved, rejected or applied for
    already is refused (ValidationError on "ein"); nothing is written then.
    """
    require_instance(user, "user", User)
    if not user.is_active:
        raise PermissionDenied("An inactive user may not apply.")
    at = timezone.now() if at is None else at
    ein = _required_ein(ein)
    state = normalize_state(state)
    category = require_choice(category, "category", CATEGORY_CHOICES)
    mission = require_text(mission, "mission", max_length=MISSION_MAX_LENGTH)
    contact_email = require_text(contact_email, "contact_email", max_length=254)
    # Locked, so two applicants for one imported charity cannot both claim it.
    charity = Charity.objects.select_for_update().filter(ein=ein).first()
    if charity is not None and (reason := _refusal(charity, user)):
        raise ValidationError({"ein": reason})
    if charity is not None:
        flags = _irs_mismatches(charity, name=name, city=city, state=state, category=category)
        changed = _apply(charity, {"website": website, "contact_email": contact_email})
        if zip_code and not charity.zip_code:
            changed += _apply(charity, {"zip_code": zip_code})
    else:
        try:
            with transaction.atomic():
                charity = create_charity(
                    name=name, city=city, state=state, zip_code=zip_code, category=category,
                    ein=ein, website=website, contact_email=contact_email,
                )  # fmt: skip
        except IntegrityError:  # another application for this EIN committed first
            raise ValidationError(
                {"ein": f"A charity with EIN {ein} has just applied; look it up again."}
            ) from None
        flags, changed = [NOT_IN_IRS_FILE], []
    charity.mission = mission
    charity.applied_by = user
    charity.applied_at = at
    charity.application_flags = "\n".join(flags)
    charity.full_clean(validate_unique=False)
    charity.save(
        update_fields=[*changed, "mission", "applied_by", "applied_at", "application_flags",
                       "updated_at"]
    )  # fmt: skip
    add_member(charity, user=user, role=MemberRole.OWNER, by=user)
    return charity


def _send_decisions(charity_ids: list[int], *, approved: bool, note: str = "") -> None:
    """Email each applicant the staff's decision. Runs after the decision committed, so a
    mail server that fails loses an email (logged), never the decision."""
    charities = Charity.objects.filter(pk__in=charity_ids, applied_by__isnull=False)
    connection = get_connection()
    for charity in charities.select_related("applied_by"):
        context = {
            "charity": charity,
            "user": charity.applied_by,
            "approved": approved,
            "note": note,
            "portal_url": f"{settings.SITE_URL}/portal/{charity.pk}/",
            "page_url": f"{settings.SITE_URL}/charities/{charity.pk}/",
        }
        subject = " ".join(
            render_to_string("charities/email/decision_subject.txt", context).split()
        )
        body = render_to_string(
            f"charities/email/{'approved' if approved else 'rejected'}.txt", context
        )
        message = EmailMessage(
            subject=subject,
            body=body,
            to=[charity.applied_by.email],
            connection=connection,
        )
        try:
            message.send()
        except Exception:  # one bad address or a server down must not stop the rest
            logger.exception("could not email the decision on charity %s", charity.pk)


def _email_decisions_on_commit(charity_ids: list[int], *, approved: bool, note: str = "") -> None:
    if charity_ids:
        transaction.on_commit(
            lambda: _send_decisions(list(charity_ids), approved=approved, note=note)
        )


# --- the charity's profile (the portal) ----------------------------------------------------

GIFT_LINE_MAX_LENGTH = 160
# Who the charity is (what staff vetted and payouts rely on): a member's edit of these is
# a request that staff apply in the admin, never a direct write. Sending the charity back
# to pending instead would stop its donations over a typo; a request does not.
REVIEWED_FIELDS = ("name", "ein", "city", "state")
CHANGE_REQUEST_MARK = "Change requested"
_validate_url = URLValidator(schemes=["http", "https"])


@dataclasses.dataclass
class ProfileUpdate:
    charity: Charity
    changed: list[str] = dataclasses.field(default_factory=list)
    # (field, current value, requested value) for the edits that wait for staff
    requested: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)


def _clean_profile_text(value, name, max_length) -> str:
    value = require_text(value, name, max_length=max_length, required=False)
    if "\x00" in value:
        raise ValidationError({name: "Plain text only, please."})
    return value.replace("\r\n", "\n")


def _clean_website(value) -> str:
    value = require_text(value, "website", max_length=300, required=False)
    if value:
        try:
            _validate_url(value)
        except ValidationError:
            raise ValidationError(
                {"website": "Enter a web address starting with https://."}
            ) from None
    return value


def _clean_contact_email(value) -> str:
    value = require_text(value, "contact_email", max_length=254, required=False)
    if value:
        try:
            validate_email(value)
        except ValidationError:
            raise ValidationError({"contact_email": "Enter an email address."}) from None
    return value


def _require_member(charity: Charity, by, *, owner: bool = False) -> User:
    require_instance(by, "by", User)
    members = CharityMember.objects.filter(charity=charity, user=by)
    if owner:
        members = members.filter(role=MemberRole.OWNER)
    if not (by.is_active and members.exists()):
        raise PermissionDenied(f"{by} is not {'an owner' if owner else 'a member'} of {charity}.")
    return by


@transaction.atomic
def update_profile(
    charity: Charity,
    *,
    by: User,
    mission=UNSET,
    gift_line=UNSET,
    website=UNSET,
    contact_email=UNSET,
    name=UNSET,
    ein=UNSET,
    city=UNSET,
    state=UNSET,
    logo=UNSET,
) -> ProfileUpdate:
    """A member edits the charity's profile. mission, gift line, website, contact email
    and logo (an upload, or None to remove it) are written; a different name, EIN, city
    or state is recorded as a change request in application_flags for staff to apply.
    Everything is checked before anything is written: on ValidationError nothing changed.
    """
    require_instance(charity, "charity", Charity)
    _require_member(charity, by)
    charity = Charity.objects.select_for_update().get(pk=charity.pk)
    result = ProfileUpdate(charity=charity)
    checks = {
        "mission": lambda v: _clean_profile_text(v, "mission", MISSION_MAX_LENGTH),
        "gift_line": lambda v: _clean_profile_text(v, "gift_line", GIFT_LINE_MAX_LENGTH),
        "website": _clean_website,
        "contact_email": _clean_contact_email,
    }
    given = dict(
        mission=mission, gift_line=gift_line, website=website, contact_email=contact_email
    )
    direct = {f: None if v is UNSET else checks[f](v) for f, v in given.items()}
    if "\n" in (direct["gift_line"] or ""):
        raise ValidationError({"gift_line": "The gift line is one line."})
    wanted = {}
    if name is not UNSET:
        wanted["name"] = require_text(name, "name", max_length=200)
    if ein is not UNSET:
        wanted["ein"] = _clean_ein(ein)
        if wanted["ein"] != charity.ein:
            _check_ein_free(wanted["ein"], exclude_pk=charity.pk)
    if city is not UNSET:
        wanted["city"] = normalize_city(city)
    if state is not UNSET:
        wanted["state"] = normalize_state(state)
    new_logo = None if logo is UNSET or logo is None else prepare_logo(logo)

    for name_, value in direct.items():
        if value is not None and value != getattr(charity, name_):
            setattr(charity, name_, value)
            result.changed.append(name_)
    for name_ in REVIEWED_FIELDS:
        if name_ in wanted and wanted[name_] != getattr(charity, name_):
            result.requested.append((name_, getattr(charity, name_), wanted[name_]))
    if result.requested:
        asked = "; ".join(f'{f} "{old}" -> "{new}"' for f, old, new in result.requested)
        line = _note_line(by, CHANGE_REQUEST_MARK, asked, at=timezone.now())
        charity.application_flags = f"{charity.application_flags}\n{line}".strip()
        result.changed.append("application_flags")
    old_logo = charity.logo.name if charity.logo else ""
    if new_logo is not None or (logo is None and old_logo):
        if new_logo is not None:
            # The stored name is ours (the upload's name is never used).
            charity.logo.save(f"charity-{charity.pk}.png", new_logo, save=False)
        else:
            charity.logo = ""
        result.changed.append("logo")
        if old_logo:
            transaction.on_commit(lambda: default_storage.delete(old_logo))
    if result.changed:
        charity.full_clean(validate_unique=False)
        charity.save(update_fields=[*result.changed, "updated_at"])
        forget_places()  # public pages show the profile
    return result


# --- members, by the charity's owners ----------------------------------------------------

INVITATION_SALT = "charities.invitation"
INVITATION_MAX_AGE = 14 * 24 * 3600  # seconds


def _normalize_email(email) -> str:
    email = require_text(email, "email", max_length=254)
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": f"{email!r} is not an email address."}) from None
    return email


def _mail(template: str, context: dict, to: str) -> None:
    subject = render_to_string(f"charities/email/{template}_subject.txt", context)
    subject = " ".join(subject.split())
    body = render_to_string(f"charities/email/{template}.txt", context)
    transaction.on_commit(lambda: send_mail(subject, body, None, [to]))


@transaction.atomic
def invite_member(charity: Charity, *, email: str, by: User, role: str = MemberRole.EDITOR) -> str:
    """An owner adds someone by email. A user with that email becomes a member at once and
    is told so ("added"); anyone else is emailed a signed invitation ("invited"): a link
    that, once they have signed up (or in) with that email, makes them a member
    (accept_invitation). Invitations live in the link itself (no table): they expire
    after INVITATION_MAX_AGE and are void once the inviter is no longer an owner."""
    require_instance(charity, "charity", Charity)
    _require_member(charity, by, owner=True)
    email = _normalize_email(email)
    role = require_choice(role, "role", MemberRole.choices)
    context = {"charity": charity, "by": by, "role": MemberRole(role).label.lower(),
               "portal_url": f"{settings.SITE_URL}{reverse('portal:home')}"}  # fmt: skip
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        if CharityMember.objects.filter(charity=charity, user=user).exists():
            raise ValidationError({"email": f"{user.email} is already a member."})
        add_member(charity, user=user, role=role, by=by)
        _mail("added", context, user.email)
        return "added"
    token = signing.dumps(
        {"c": charity.pk, "e": email.lower(), "r": role, "b": by.pk}, salt=INVITATION_SALT
    )
    join = reverse("portal:join", kwargs={"token": token})
    context["join_url"] = f"{settings.SITE_URL}{join}"
    context["signup_url"] = f"{settings.SITE_URL}{reverse('account_signup')}?next={join}"
    _mail("invitation", context, email)
    return "invited"


@transaction.atomic
def accept_invitation(token: str, *, user: User) -> CharityMember:
    """The invited person, signed in as the invited email, becomes a member."""
    require_instance(user, "user", User)
    try:
        data = signing.loads(token, salt=INVITATION_SALT, max_age=INVITATION_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError(
            "This invitation has expired: ask the charity for a new one."
        ) from None
    except signing.BadSignature:
        raise ValidationError("This invitation link is not valid.") from None
    if user.email.lower() != data["e"]:
        raise ValidationError(
            f"This invitation is for {data['e']}: sign in with that address to accept it."
        )
    owner = CharityMember.objects.filter(
        charity_id=data["c"], user_id=data["b"], role=MemberRole.OWNER
    ).select_related("charity", "user").first()  # fmt: skip
    if owner is None:
        raise ValidationError("This invitation is no longer valid: ask the charity for a new one.")
    existing = CharityMember.objects.filter(charity_id=data["c"], user=user).first()
    if existing is not None:
        return existing  # a second click changes nothing (not even a role)
    return add_member(owner.charity, user=user, role=data["r"], by=owner.user)


@transaction.atomic
def change_member_role(member: CharityMember, *, role: str, by: User) -> CharityMember:
    """An owner changes a member's role; the last owner stays one (ValidationError)."""
    require_instance(member, "member", CharityMember)
    _require_member(member.charity, by, owner=True)
    return add_member(member.charity, user=member.user, role=role, by=by)


@transaction.atomic
def remove_member_by_owner(member: CharityMember, *, by: User) -> None:
    """An owner removes a member (themselves included, unless the last owner)."""
    require_instance(member, "member", CharityMember)
    _require_member(member.charity, by, owner=True)
    remove_member(member)

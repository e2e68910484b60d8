from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from core.places import CITY_MAX_LENGTH, STATE_CHOICES

from .categories import CATEGORY_CHOICES, OTHER


class CharityStatus(models.TextChoices):
    PENDING = "pending", "Pending review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class CoordinatesSource(models.TextChoices):
    MANUAL = "manual", "Set by hand"
    GEOCODER = "geocoder", "Geocoded address"
    ZIP = "zip", "ZIP code centroid"


class IrsImport(models.Model):
    """One import of an IRS EO BMF file: which states it covers (the states of its rows).

    A charity with an EIN is payable only while the most recent import covering its
    state saw it, with deductible status (charities.selectors.get_payout_eligibility).
    """

    source_name = models.CharField(max_length=255)
    states = models.JSONField(default=list, help_text="Two-letter states the file covers.")
    rows = models.IntegerField(default=0)
    imported_at = models.DateTimeField()

    class Meta:
        ordering = ["-imported_at", "-id"]
        verbose_name = "IRS BMF import"
        constraints = [
            models.CheckConstraint(condition=Q(rows__gte=0), name="irsimport_rows_not_negative"),
        ]

    def __str__(self):
        return f"{self.source_name} ({', '.join(self.states)}, {self.imported_at:%Y-%m-%d})"


class Charity(models.Model):
    """A local charity. Only approved ones are shown to donors or receive money.

    irs_* record what the most recent IRS BMF import that saw this EIN said of it (its
    STATUS, DEDUCTIBILITY and SUBSECTION columns) and which import that was; payouts read
    them (charities.selectors.get_payout_eligibility).
    """

    Status = CharityStatus
    CoordinatesSource = CoordinatesSource

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    ein = models.CharField(
        "EIN", max_length=9, blank=True, help_text="IRS employer id, 9 digits, no dash."
    )
    city = models.CharField(max_length=CITY_MAX_LENGTH)
    state = models.CharField(max_length=2, choices=STATE_CHOICES)
    zip_code = models.CharField("ZIP code", max_length=5, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    # DESIGN.md: null when there are no coordinates (blank would be a fourth "source").
    coordinates_source = models.CharField(  # noqa: DJ001
        max_length=10, choices=CoordinatesSource.choices, null=True, blank=True
    )
    category = models.CharField(max_length=20, choices=CATEGORY_CHOICES, default=OTHER[0])
    verification_status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    admin_notes = models.TextField(blank=True)
    website = models.URLField(max_length=300, blank=True)
    contact_email = models.EmailField(blank=True)
    needs_feed_url = models.URLField(max_length=500, blank=True)
    needs_feed_error = models.TextField(blank=True)
    needs_feed_checked_at = models.DateTimeField(null=True, blank=True)
    needs_feed_succeeded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The charity's own words (the portal's profile page; shown to donors).
    mission = models.TextField(blank=True, help_text="What the charity does, in its words.")
    gift_line = models.CharField(
        "what a gift does", max_length=160, blank=True,
        help_text='One line donors read, e.g. "$25 feeds a family for a week."',
    )  # fmt: skip
    # Re-encoded by charities.images (never the uploaded bytes); stored via default_storage.
    logo = models.ImageField(upload_to="logos/", blank=True, max_length=200)
    # An application made at /charities/apply/ (a pending charity a user asked for).
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    application_flags = models.TextField(
        blank=True, help_text="What staff should check (e.g. the IRS file disagrees)."
    )
    irs_last_import = models.ForeignKey(
        IrsImport,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The most recent IRS BMF import that listed this EIN.",
    )
    irs_status = models.CharField("IRS status", max_length=2, blank=True)
    irs_deductibility = models.CharField("IRS deductibility", max_length=1, blank=True)
    irs_subsection = models.CharField("IRS subsection", max_length=2, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name_plural = "charities"
        ordering = ["name", "id"]
        permissions = [("vet_charity", "Can approve or reject charities")]
        constraints = [
            models.UniqueConstraint(
                fields=["ein"], condition=~Q(ein=""), name="charity_ein_unique_when_present"
            ),
            models.CheckConstraint(
                condition=Q(ein="") | Q(ein__regex=r"^[0-9]{9}$"), name="charity_ein_9_digits"
            ),
            models.CheckConstraint(
                condition=Q(verification_status__in=[s.value for s in CharityStatus]),
                name="charity_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(category__in=[c for c, _ in CATEGORY_CHOICES]),
                name="charity_category_valid",
            ),
            models.CheckConstraint(
                condition=Q(state__in=[code for code, _ in STATE_CHOICES]),
                name="charity_state_valid",
            ),
            models.CheckConstraint(condition=~Q(city=""), name="charity_city_present"),
            models.CheckConstraint(condition=~Q(name=""), name="charity_name_present"),
            models.CheckConstraint(
                condition=Q(zip_code="") | Q(zip_code__regex=r"^[0-9]{5}$"),
                name="charity_zip_code_5_digits",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | (Q(latitude__gte=-90) & Q(latitude__lte=90)),
                name="charity_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True)
                | (Q(longitude__gte=-180) & Q(longitude__lte=180)),
                name="charity_longitude_range",
            ),
            # Coordinates come as a pair, and a pair always says where it came from.
            models.CheckConstraint(
                condition=(
                    Q(latitude__isnull=True)
                    & Q(longitude__isnull=True)
                    & Q(coordinates_source__isnull=True)
                )
                | (
                    Q(latitude__isnull=False)
                    & Q(longitude__isnull=False)
                    # Spelled out: a CHECK passes when it is NULL, and NULL IN (...) is NULL.
                    & Q(coordinates_source__isnull=False)
                    & Q(coordinates_source__in=[s.value for s in CoordinatesSource])
                ),
                name="charity_coordinates_complete",
            ),
            models.CheckConstraint(
                condition=~Q(verification_status="approved") | Q(approved_at__isnull=False),
                name="charity_approved_has_date",
            ),
        ]
        indexes = [
            models.Index(
                Lower("city"), "state", "verification_status", name="charity_city_status_idx"
            ),
            models.Index(fields=["verification_status"], name="charity_status_idx"),
        ]

    def __str__(self):
        return f"{self.name} ({self.city}, {self.state})"

    @property
    def has_coordinates(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    @property
    def place(self) -> str:
        return f"{self.city}, {self.state}"

    @property
    def ein_display(self) -> str:
        return f"{self.ein[:2]}-{self.ein[2:]}" if self.ein else ""


class MemberRole(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"


class CharityMember(models.Model):
    """A user who works for a charity: sees and edits its portal pages (/portal/).

    Owners also manage the charity's members; editors keep its profile and needs current.
    One user may belong to several charities, once each. Staff add and remove members in
    the admin; owners invite editors from the portal.
    """

    Role = MemberRole

    charity = models.ForeignKey(Charity, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="charity_memberships"
    )
    role = models.CharField(max_length=10, choices=MemberRole.choices, default=MemberRole.EDITOR)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["charity", "role", "id"]
        verbose_name = "charity member"
        constraints = [
            models.UniqueConstraint(fields=["charity", "user"], name="charitymember_once"),
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in MemberRole]),
                name="charitymember_role_valid",
            ),
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display().lower()} of {self.charity.name})"

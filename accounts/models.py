from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from core.places import CITY_MAX_LENGTH, STATE_CHOICES


def normalize_email_address(email: str) -> str:
    """Emails are stored lower-case: the login is case-insensitive, and a database
    constraint (email = lower(email), plus unique email) makes that hold for every row."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_email_address(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **fields):
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **fields)

    def get_by_natural_key(self, username):
        return self.get(email=normalize_email_address(username))


class User(AbstractBaseUser, PermissionsMixin):
    """A donor or a staff member. The email address is the login.

    city/state/zip_code place a donor in a city's pool; blank until the donor sets them
    (money of a donor with no city is held, see portfolio.services).
    """

    email = models.EmailField("email address", max_length=254, unique=True)
    name = models.CharField(max_length=150, blank=True)
    city = models.CharField(max_length=CITY_MAX_LENGTH, blank=True)
    state = models.CharField(max_length=2, blank=True, choices=STATE_CHOICES)
    zip_code = models.CharField("ZIP code", max_length=5, blank=True)
    wants_report_emails = models.BooleanField(
        default=True, help_text="Send the weekly report of where the money went by email."
    )
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(condition=Q(email=Lower("email")), name="user_email_lowercase"),
            models.CheckConstraint(
                condition=Q(state="") | Q(state__in=[code for code, _ in STATE_CHOICES]),
                name="user_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(zip_code="") | Q(zip_code__regex=r"^[0-9]{5}$"),
                name="user_zip_code_5_digits",
            ),
            # A donor is in a city only with both halves of the pair.
            models.CheckConstraint(
                condition=(Q(city="") & Q(state="")) | (~Q(city="") & ~Q(state="")),
                name="user_city_and_state_together",
            ),
        ]
        indexes = [
            models.Index(Lower("city"), "state", name="user_city_state_idx"),
        ]

    def __str__(self):
        return self.email

    def get_full_name(self):
        return self.name or self.email

    def get_short_name(self):
        return self.name or self.email.split("@")[0]

    @property
    def place(self) -> str:
        return f"{self.city}, {self.state}" if self.city else ""

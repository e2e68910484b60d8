from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.models import MONDAY

NEED_CATEGORY_CHOICES = [
    ("food", "Food"),
    ("housing", "Housing & shelter"),
    ("health", "Health"),
    ("mental_health", "Mental health"),
    ("education", "Education"),
    ("youth", "Children & youth"),
    ("seniors", "Seniors"),
    ("employment", "Jobs & training"),
    ("emergency", "Emergency relief"),
    ("environment", "Environment"),
    ("animals", "Animals"),
    ("arts", "Arts & culture"),
    ("community", "Community"),
    ("operations", "Running costs"),
    ("other", "Other"),
]
NEED_CATEGORY_VALUES = [value for value, _ in NEED_CATEGORY_CHOICES]
MAX_URGENCY = 100
MAX_GAP_CENTS = 10**13  # $100 billion: far above any local need, far below overflow.


class Source(models.TextChoices):
    MANUAL = "manual", "Entered by staff"
    API = "api", "Charity's needs feed"
    CALCULATED = "calculated", "Calculated after a distribution"


class Need(models.Model):
    """What a charity needs now in one category, from one source.

    At most one row per (charity, category, source): a calculated row (the reported gap
    less what the platform has since given) lives beside the reported one and never
    overwrites it. needs.selectors.effective_needs says which row counts.
    """

    charity = models.ForeignKey(
        "charities.Charity", on_delete=models.CASCADE, related_name="needs"
    )
    category = models.CharField(max_length=20, choices=NEED_CATEGORY_CHOICES)
    urgency_score = models.PositiveSmallIntegerField(help_text="0 (none) to 100 (critical).")
    funding_gap_cents = models.BigIntegerField(help_text="Money still needed, in cents.")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    metadata = models.JSONField(default=dict, blank=True)
    last_updated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["charity_id", "category", "source"]
        constraints = [
            models.UniqueConstraint(
                fields=["charity", "category", "source"], name="need_one_per_category_source"
            ),
            models.CheckConstraint(
                condition=Q(urgency_score__gte=0) & Q(urgency_score__lte=MAX_URGENCY),
                name="need_urgency_0_100",
            ),
            models.CheckConstraint(
                condition=Q(funding_gap_cents__gte=0), name="need_gap_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(source__in=[s.value for s in Source]), name="need_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(category__in=NEED_CATEGORY_VALUES), name="need_category_valid"
            ),
        ]
        indexes = [models.Index(fields=["charity", "last_updated"], name="need_charity_idx")]

    def __str__(self):
        return f"{self.category}: urgency {self.urgency_score}, gap {self.funding_gap_cents}c"

    @property
    def weight(self) -> int:
        return self.urgency_score * self.funding_gap_cents


class NeedChange(models.Model):
    """Every change of a Need, kept: who, when, from which source, old and new values."""

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="changes")
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    old_urgency_score = models.PositiveSmallIntegerField(null=True, blank=True)
    new_urgency_score = models.PositiveSmallIntegerField()
    old_funding_gap_cents = models.BigIntegerField(null=True, blank=True)
    new_funding_gap_cents = models.BigIntegerField()
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(source__in=[s.value for s in Source]),
                name="needchange_source_valid",
            ),
            models.CheckConstraint(
                condition=Q(new_urgency_score__lte=MAX_URGENCY)
                & (Q(old_urgency_score__isnull=True) | Q(old_urgency_score__lte=MAX_URGENCY)),
                name="needchange_urgency_0_100",
            ),
            models.CheckConstraint(
                condition=Q(new_funding_gap_cents__gte=0)
                & (Q(old_funding_gap_cents__isnull=True) | Q(old_funding_gap_cents__gte=0)),
                name="needchange_gap_not_negative",
            ),
        ]

    def __str__(self):
        return f"{self.need_id} changed at {self.changed_at:%Y-%m-%d %H:%M}"


class MoneyReceived(models.Model):
    """Money a charity received in a week, as the weekly engine told needs when it gave
    it (needs.services.record_money_received, in the same transaction as the ledger's
    rows, so the two never disagree). The calculated needs are worked out from these
    rows; needs never reads the distribution ledger itself.
    """

    charity = models.ForeignKey(
        "charities.Charity", on_delete=models.PROTECT, related_name="money_received"
    )
    week_start = models.DateField()
    amount_cents = models.BigIntegerField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["charity_id", "received_at", "id"]
        verbose_name_plural = "money received"
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0), name="moneyreceived_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(week_start__iso_week_day=MONDAY),
                name="moneyreceived_week_start_monday",
            ),
        ]
        indexes = [
            models.Index(fields=["charity", "received_at"], name="moneyreceived_charity_at_idx"),
            models.Index(fields=["week_start"], name="moneyreceived_week_idx"),
        ]

    def __str__(self):
        return f"{self.amount_cents}c to {self.charity_id} (week of {self.week_start})"

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
DESCRIPTION_MAX_LENGTH = 200
# Days before a need goes stale that its charity's members are told (portal and email).
STALE_WARNING_DAYS = 7
# The plain-words urgency scale members and staff read: (lowest score, words).
URGENCY_SCALE = [(80, "critical"), (50, "high"), (20, "moderate"), (1, "low"), (0, "none")]


def urgency_words(score: int) -> str:
    """0 -> "none", 1-19 "low", 20-49 "moderate", 50-79 "high", 80-100 "critical"."""
    return next(words for lowest, words in URGENCY_SCALE if score >= lowest)


class Source(models.TextChoices):
    MANUAL = "manual", "Entered by staff"
    API = "api", "Charity's needs feed"
    # No longer written: the remaining gap is worked out from MoneyReceived whenever it is
    # needed (needs.selectors). Kept so that the rows and history of before stay valid.
    CALCULATED = "calculated", "Calculated after a distribution (no longer written)"


class Need(models.Model):
    """What a charity needs now in one category, as reported by one source (staff or the
    charity's feed).

    At most one row per (charity, category, source); needs.selectors says which row counts
    (the newest current one per category). Its remaining gap is the reported gap less the
    money it has received since gap_set_at (MoneyReceived), never stored.
    """

    charity = models.ForeignKey(
        "charities.Charity", on_delete=models.CASCADE, related_name="needs"
    )
    category = models.CharField(max_length=20, choices=NEED_CATEGORY_CHOICES)
    urgency_score = models.PositiveSmallIntegerField(help_text="0 (none) to 100 (critical).")
    funding_gap_cents = models.BigIntegerField(help_text="Money still needed, in cents.")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    metadata = models.JSONField(default=dict, blank=True)
    description = models.CharField(
        max_length=DESCRIPTION_MAX_LENGTH,
        blank=True,
        help_text="One line donors read about this need.",
    )
    # When the charity's members were reminded that this need goes stale (once per report).
    stale_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    last_updated = models.DateTimeField(default=timezone.now)
    # When the urgency and gap were last set: the report the gap counts from. Re-reporting
    # the same figures refreshes last_updated (the need is still current) but not this, so
    # a feed that says the same thing every day does not restart the count each day.
    gap_set_at = models.DateTimeField(default=timezone.now)

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
    def received_cents(self) -> int:
        """Money received since gap_set_at (annotated by needs.selectors; 0 otherwise)."""
        return getattr(self, "received_since_report", 0) or 0

    @property
    def remaining_gap_cents(self) -> int:
        return max(0, self.funding_gap_cents - self.received_cents)

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
    """Money a need received in a week, as the weekly engine credited it (needs.services.
    record_money_received, in the same transaction as the ledger's rows, so the two never
    disagree). A need's remaining gap is its reported gap less what it received since its
    gap was set; needs never reads the distribution ledger itself.
    """

    charity = models.ForeignKey(
        "charities.Charity", on_delete=models.PROTECT, related_name="money_received"
    )
    # Null only if the need was deleted since (its charity still received the money).
    need = models.ForeignKey(
        Need, on_delete=models.SET_NULL, null=True, blank=True, related_name="money_received"
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
            models.Index(fields=["need", "received_at"], name="moneyreceived_need_at_idx"),
            models.Index(fields=["week_start"], name="moneyreceived_week_idx"),
        ]

    def __str__(self):
        return f"{self.amount_cents}c to {self.charity_id} (week of {self.week_start})"

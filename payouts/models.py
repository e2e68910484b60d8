"""Payouts: how the money a charity was given leaves the platform (DESIGN.md, "Payouts").

A charity's Distribution rows are owed to it until a live payout covers them. A payout
covers rows by slices: one slice is the rows of one charity, one week and one ledger
write (Distribution.created_at: every row a run writes in one city pass carries the same
time), so a slice never grows once written, and a row that a later rerun adds to the
same week is a new slice, owed on its own. Each slice is in at most one live payout (a
partial unique constraint on PayoutSlice), so no cent is paid twice; a payout that
fails or is reversed marks its slices not live, and their rows are owed again.

Statuses: pending (batched, the money has not left yet: a Stripe transfer about to be
made, or a manual payment staff have to make), sent (a cheque or bank transfer staff
recorded, not yet confirmed), paid (a Stripe transfer Stripe confirmed, or a manual
payment staff confirmed), failed (nothing left the platform; the rows are owed again),
reversed (a Stripe transfer was taken back; the rows are owed again). pending, sent and
paid are live.

Money words used on every page and in money_report: distributed = the charity's rows;
paid out = live payouts sent or paid; in payment = live payouts pending; owed =
distributed - paid out (what has not reached the charity yet, in payment included).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from charities.models import Charity


class PayoutMethod(models.TextChoices):
    STRIPE = "stripe", "Stripe Connect transfer"
    MANUAL = "manual", "By hand (cheque or bank transfer)"


class PayoutStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"
    REVERSED = "reversed", "Reversed"


LIVE_STATUSES = (PayoutStatus.PENDING, PayoutStatus.SENT, PayoutStatus.PAID)
SETTLED_STATUSES = (PayoutStatus.PAID, PayoutStatus.FAILED, PayoutStatus.REVERSED)


class PayoutAccount(models.Model):
    """A charity's Stripe Connect (Express) account and whether Stripe lets it receive
    payouts, kept current from `account.updated` events."""

    charity = models.OneToOneField(
        Charity, on_delete=models.PROTECT, related_name="payout_account"
    )
    stripe_account_id = models.CharField(max_length=255, unique=True)
    details_submitted = models.BooleanField(default=False)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    requirements_due = models.JSONField(default=list, blank=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    stripe_state_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(stripe_account_id__startswith="acct_"),
                name="payoutaccount_stripe_id_shape",
            ),
        ]

    def __str__(self):
        return f"{self.stripe_account_id} ({'ready' if self.ready else 'not ready'})"

    @property
    def ready(self) -> bool:
        """Stripe accepts transfers to it and pays them out to the charity's bank."""
        return self.details_submitted and self.payouts_enabled


class Payout(models.Model):
    Method = PayoutMethod
    Status = PayoutStatus

    charity = models.ForeignKey(Charity, on_delete=models.PROTECT, related_name="payouts")
    period = models.DateField(help_text="The month paid for: its first day.")
    amount_cents = models.BigIntegerField()
    method = models.CharField(max_length=10, choices=PayoutMethod.choices)
    status = models.CharField(
        max_length=10, choices=PayoutStatus.choices, default=PayoutStatus.PENDING
    )
    stripe_account_id = models.CharField(max_length=255, blank=True)
    stripe_transfer_id = models.CharField(max_length=255, blank=True)
    manual_reference = models.CharField(
        max_length=255, blank=True, help_text="Cheque number or bank reference."
    )
    # The facts the payout was made on (charities.selectors.get_payout_eligibility).
    eligibility = models.JSONField(default=dict)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-period", "-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(condition=Q(period__day=1), name="payout_period_first_day"),
            models.CheckConstraint(
                condition=Q(method__in=[m.value for m in PayoutMethod]), name="payout_method_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in PayoutStatus]), name="payout_status_valid"
            ),
            # A Stripe payout names its connected account; a transfer id only on one.
            models.CheckConstraint(
                condition=(
                    Q(method=PayoutMethod.STRIPE) & Q(stripe_account_id__startswith="acct_")
                )
                | (
                    Q(method=PayoutMethod.MANUAL)
                    & Q(stripe_account_id="")
                    & Q(stripe_transfer_id="")
                ),
                name="payout_stripe_fields_match_method",
            ),
            models.CheckConstraint(
                condition=Q(method=PayoutMethod.MANUAL) | Q(manual_reference=""),
                name="payout_reference_only_manual",
            ),
            # Money that left has its evidence: a transfer id, or staff's reference.
            models.CheckConstraint(
                condition=~Q(
                    status__in=[PayoutStatus.SENT, PayoutStatus.PAID, PayoutStatus.REVERSED]
                )
                | (Q(method=PayoutMethod.STRIPE) & ~Q(stripe_transfer_id=""))
                | (Q(method=PayoutMethod.MANUAL) & ~Q(manual_reference="")),
                name="payout_sent_has_evidence",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in SETTLED_STATUSES])
                | Q(settled_at__isnull=True),
                name="payout_settled_only_when_settled",
            ),
            models.UniqueConstraint(
                fields=["stripe_transfer_id"],
                condition=~Q(stripe_transfer_id=""),
                name="payout_transfer_unique",
            ),
        ]
        indexes = [models.Index(fields=["charity", "status"], name="payout_charity_status_idx")]

    def __str__(self):
        return f"Payout {self.pk} to {self.charity_id} for {self.period:%Y-%m} ({self.status})"

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES


class PayoutSlice(models.Model):
    """The Distribution rows of one charity, week and ledger write that a payout covers."""

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="slices")
    charity = models.ForeignKey(Charity, on_delete=models.PROTECT, related_name="+")
    week_start = models.DateField()
    rows_created_at = models.DateTimeField()
    amount_cents = models.BigIntegerField()
    rows_count = models.IntegerField()
    live = models.BooleanField(default=True)

    class Meta:
        ordering = ["week_start", "rows_created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0) & Q(rows_count__gt=0),
                name="payoutslice_amount_positive",
            ),
            # Each Distribution row is in at most one live payout.
            models.UniqueConstraint(
                fields=["charity", "week_start", "rows_created_at"],
                condition=Q(live=True),
                name="payoutslice_one_live_payout",
            ),
        ]

    def __str__(self):
        return f"{self.charity_id} week {self.week_start} ({self.amount_cents}c)"

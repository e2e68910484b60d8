from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.models import MONDAY

# Weekly amount bounds, in cents ($1 to $5,000; README says why).
MIN_AMOUNT_CENTS = 100
MAX_AMOUNT_CENTS = 500_000


# Demo billing (settings.DEMO_BILLING): local subscriptions with no Stripe object.
DEMO_ID_PREFIX = "demo_"


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"


class StripeStatus(models.TextChoices):
    NONE = "", "(none: demo billing)"
    INCOMPLETE = "incomplete", "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired", "incomplete_expired"
    TRIALING = "trialing", "trialing"
    ACTIVE = "active", "active"
    PAST_DUE = "past_due", "past_due"
    CANCELED = "canceled", "canceled"
    UNPAID = "unpaid", "unpaid"
    PAUSED = "paused", "paused"


class Subscription(models.Model):
    """A donor's promise to give amount_cents every week.

    `status` is the platform's three-valued view; `stripe_status` keeps Stripe's own word
    beside it (the mapping is subscriptions.stripe_status.to_local_status).

    amount_cents is what the donor is charged each week. A donor who covers the fees
    chose gift_cents, and amount_cents is that gift grossed up with the published rate
    (subscriptions.fees), so that what the processor leaves is the gift.
    """

    Status = SubscriptionStatus
    StripeStatus = StripeStatus

    # Looked up through subscription_user_status_idx (user, status), which serves user
    # alone too: no second index on user for the weekly UPDATE to keep.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="subscriptions",
        db_index=False,
    )
    amount_cents = models.IntegerField(help_text="Weekly amount in cents.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # Unique by Meta.constraints (subscription_stripe_id_once), not unique=True, which on
    # PostgreSQL adds a second (LIKE) index nobody queries.
    stripe_subscription_id = models.CharField(max_length=255)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_status = models.CharField(
        max_length=20, choices=StripeStatus.choices, blank=True, default=""
    )
    # `created` of the newest Stripe event applied to this row: an older event that
    # arrives late never overwrites newer state.
    stripe_state_at = models.DateTimeField(null=True, blank=True)
    start_date = models.DateField(default=timezone.localdate)
    last_distribution_date = models.DateField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # A pause with an end: no payment is taken before this date, and the gift is active
    # again from it (Stripe: pause_collection.resumes_at, Stripe resumes it by itself;
    # demo billing: bill_demo_week skips the weeks that start before it, then resumes).
    # Null for an open-ended pause and whenever the gift is not paused.
    paused_until = models.DateField(
        null=True, blank=True, help_text="Paused until this date (payments start again on it)."
    )
    # When Stripe next bills (the end of the current weekly period), as Stripe last said;
    # null in demo billing, which bills by calendar week (subscriptions.selectors).
    current_period_end = models.DateTimeField(null=True, blank=True)
    covers_fees = models.BooleanField(
        default=False, help_text="The donor adds the processing fee to each payment."
    )
    gift_cents = models.IntegerField(
        null=True,
        blank=True,
        help_text="When the donor covers the fees: the weekly amount chosen for charities.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(covers_fees=False) & Q(gift_cents__isnull=True))
                | (
                    Q(covers_fees=True)
                    & Q(gift_cents__gte=MIN_AMOUNT_CENTS)
                    & Q(gift_cents__lt=F("amount_cents"))
                ),
                name="subscription_gift_only_when_covering_fees",
            ),
            models.CheckConstraint(
                condition=Q(amount_cents__gte=MIN_AMOUNT_CENTS)
                & Q(amount_cents__lte=MAX_AMOUNT_CENTS),
                name="subscription_amount_in_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in SubscriptionStatus]),
                name="subscription_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(stripe_status__in=[s.value for s in StripeStatus]),
                name="subscription_stripe_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(stripe_subscription_id=""),
                name="subscription_stripe_id_present",
            ),
            models.UniqueConstraint(
                fields=["stripe_subscription_id"], name="subscription_stripe_id_once"
            ),
            # Only a paused gift has a date to resume on.
            models.CheckConstraint(
                condition=Q(paused_until__isnull=True) | Q(status=SubscriptionStatus.PAUSED),
                name="subscription_paused_until_only_when_paused",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "status"], name="subscription_user_status_idx"),
        ]

    def __str__(self):
        return f"{self.user} {self.amount_cents}c/week ({self.status})"

    @property
    def is_demo(self) -> bool:
        return self.stripe_subscription_id.startswith(DEMO_ID_PREFIX)

    @property
    def covered_fee_cents(self) -> int:
        """What the donor adds for the fees each week (0 when not covering them)."""
        return self.amount_cents - self.gift_cents if self.covers_fees else 0


class FeeSource(models.TextChoices):
    PENDING = "", "Not read from Stripe yet"
    STRIPE = "stripe", "Read from Stripe (the payment's balance transaction)"
    DEMO = "demo", "Demo billing: no card processor, so no fee"
    LEGACY = "legacy", "Recorded before fees were read (counted as no fee)"


class Contribution(models.Model):
    """One payment actually collected: the ledger the distribution takes money from.

    amount_cents is what the donor paid (gross); fee_cents what the card processor kept,
    read from Stripe's balance transaction of the payment, never estimated; net_cents =
    amount - fee is what can be given, and the only money the engine pools. Until the fee
    is read (fee_source ""), fee and net are null and the contribution waits: the engine
    takes only contributions whose net is known. invoice.paid records every payment
    this way; the fee read task reads the fee after the commit (subscriptions.fee_reads),
    sync_stripe reads missing ones too.

    Money that was not collected never appears here; every row is distributed exactly
    once (distributed_week is set in the same transaction as its Distribution rows).
    """

    FeeSource = FeeSource

    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="contributions"
    )
    amount_cents = models.IntegerField(help_text="What the donor paid (gross), in cents.")
    fee_cents = models.IntegerField(
        null=True, blank=True, help_text="The processor's fee, in cents (null: not read yet)."
    )
    net_cents = models.IntegerField(
        null=True, blank=True, help_text="What can be given: paid minus the fee, in cents."
    )
    fee_source = models.CharField(
        max_length=10, choices=FeeSource.choices, blank=True, default=FeeSource.PENDING
    )
    stripe_balance_transaction_id = models.CharField(max_length=255, blank=True)
    paid_at = models.DateTimeField()
    # Unique by Meta.constraints (contribution_invoice_once): one row per Stripe invoice.
    stripe_invoice_id = models.CharField(max_length=255)
    distributed_week = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0), name="contribution_amount_positive"
            ),
            # Gross = fee + net, to the cent; a fee is never negative and never the whole
            # payment. Before the fee is read, both are null.
            models.CheckConstraint(
                condition=(
                    Q(fee_cents__isnull=True)
                    & Q(net_cents__isnull=True)
                    & Q(fee_source=FeeSource.PENDING)
                )
                | (
                    # IS NOT NULL said outright: a CHECK passes when it is unknown, so
                    # "fee >= 0" alone would let a null fee beside a net through.
                    Q(fee_cents__isnull=False)
                    & Q(net_cents__isnull=False)
                    & Q(fee_cents__gte=0)
                    & Q(net_cents__gt=0)
                    & Q(amount_cents=F("fee_cents") + F("net_cents"))
                    & Q(fee_source__in=[FeeSource.STRIPE, FeeSource.DEMO, FeeSource.LEGACY])
                ),
                name="contribution_gross_is_fee_plus_net",
            ),
            models.CheckConstraint(
                condition=Q(fee_source=FeeSource.STRIPE) | Q(stripe_balance_transaction_id=""),
                name="contribution_balance_transaction_only_from_stripe",
            ),
            # Only known net money is given.
            models.CheckConstraint(
                condition=Q(distributed_week__isnull=True) | Q(net_cents__isnull=False),
                name="contribution_distributed_has_net",
            ),
            models.CheckConstraint(
                condition=~Q(stripe_invoice_id=""), name="contribution_invoice_id_present"
            ),
            models.UniqueConstraint(
                fields=["stripe_invoice_id"], name="contribution_invoice_once"
            ),
            models.CheckConstraint(
                condition=Q(distributed_week__isnull=True)
                | Q(distributed_week__iso_week_day=MONDAY),
                name="contribution_distributed_week_monday",
            ),
        ]
        indexes = [
            models.Index(
                fields=["paid_at"],
                condition=Q(distributed_week__isnull=True),
                name="contribution_undistributed_idx",
            ),
            # The week's money, and within it what was paid before the week (released
            # money, reports.services): a range of one index either way.
            models.Index(
                fields=["distributed_week", "paid_at"], name="contribution_week_paid_idx"
            ),
        ]

    def __str__(self):
        return f"{self.stripe_invoice_id}: {self.amount_cents}c"


class StripeEventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored (type not handled)"
    FAILED = "failed", "Failed"


class StripeEvent(models.Model):
    """Every verified webhook delivery, stored once (event id unique) with its outcome."""

    Status = StripeEventStatus

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    created = models.DateTimeField(help_text="When Stripe created the event.")
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    digested_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When this failed event was listed in the daily digest mailed to ADMINS.",
    )

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in StripeEventStatus]),
                name="stripeevent_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(stripe_event_id=""), name="stripeevent_id_present"
            ),
        ]
        indexes = [models.Index(fields=["status", "type"], name="stripeevent_status_idx")]

    def __str__(self):
        return f"{self.stripe_event_id} {self.type} ({self.status})"

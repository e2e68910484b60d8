from django.db import models
from django.db.models import Q

from core.models import MONDAY


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    PARTIAL = "partial", "Partly done (some cities failed; rerun completes them)"
    FAILED = "failed", "Failed"


class DistributionRun(models.Model):
    """The audit record of one week's distribution: what was pooled, given and held, per
    city and why. One row per week; a rerun after a partial failure completes the same row.
    """

    Status = RunStatus

    week_start = models.DateField(unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    pooled_cents = models.BigIntegerField(default=0)
    distributed_cents = models.BigIntegerField(default=0)
    held_cents = models.BigIntegerField(default=0)
    contributions_count = models.IntegerField(default=0)
    distributions_count = models.IntegerField(default=0)
    # {"Springfield, VT": {"pooled_cents": ..., "distributed_cents": ..., "held_cents": ...,
    #  "why": "...", "charities": n, "status": "done"|"held"|"failed"}, ...}
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-week_start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(week_start__iso_week_day=MONDAY), name="run_week_start_monday"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in RunStatus]), name="run_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(pooled_cents__gte=0)
                & Q(distributed_cents__gte=0)
                & Q(held_cents__gte=0)
                & Q(contributions_count__gte=0)
                & Q(distributions_count__gte=0),
                name="run_totals_not_negative",
            ),
            # Every pooled cent is either given or held, never lost or made up.
            models.CheckConstraint(
                condition=Q(pooled_cents=models.F("distributed_cents") + models.F("held_cents")),
                name="run_pooled_is_distributed_plus_held",
            ),
        ]

    def __str__(self):
        return f"Run for week of {self.week_start} ({self.status})"


class Distribution(models.Model):
    """Cents of one subscription given to one charity in one week, with the reason."""

    subscription = models.ForeignKey(
        "subscriptions.Subscription", on_delete=models.PROTECT, related_name="distributions"
    )
    charity = models.ForeignKey(
        "charities.Charity", on_delete=models.PROTECT, related_name="distributions"
    )
    run = models.ForeignKey(
        DistributionRun,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="distributions",
    )
    amount_cents = models.IntegerField()
    distribution_date = models.DateField()
    week_start = models.DateField()
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-week_start", "charity_id", "subscription_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "charity", "week_start"],
                name="distribution_once_per_week",
            ),
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0), name="distribution_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(week_start__iso_week_day=MONDAY),
                name="distribution_week_start_monday",
            ),
        ]
        indexes = [
            models.Index(fields=["charity", "week_start"], name="distribution_charity_week_idx"),
            models.Index(fields=["week_start"], name="distribution_week_idx"),
        ]

    def __str__(self):
        return f"{self.amount_cents}c to {self.charity_id} (week of {self.week_start})"

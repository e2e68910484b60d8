from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import MONDAY


class Report(models.Model):
    """A donor's weekly report: where their money went that week, with reasons.

    distribution_breakdown is a list of {charity_id, charity_name, amount_cents, reason},
    one entry per charity (a donor's subscriptions are added together).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports"
    )
    week_start = models.DateField()
    total_distributed_cents = models.BigIntegerField()
    charities_supported = models.PositiveIntegerField()
    distribution_breakdown = models.JSONField(default=list)
    generated_at = models.DateTimeField(auto_now_add=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-week_start"]
        constraints = [
            models.UniqueConstraint(fields=["user", "week_start"], name="report_once_per_week"),
            models.CheckConstraint(
                condition=Q(total_distributed_cents__gte=0), name="report_total_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(week_start__iso_week_day=MONDAY), name="report_week_start_monday"
            ),
        ]

    def __str__(self):
        return f"Report for {self.user} (week of {self.week_start})"

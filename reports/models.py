from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.models import MONDAY

from .words import held_words, released_words


class Report(models.Model):
    """A donor's weekly report: where their money went that week, with reasons.

    distribution_breakdown is a list of {charity_id, charity_name, amount_cents, reason},
    one entry per charity (a donor's subscriptions are added together).

    Revisions: when a week's money for the donor changes after the report was written (a
    late payment, a rerun), the report is revised (revision + 1, revised_at) and, if the
    donor had been emailed the old figures, previous_breakdown and previous_total_cents
    keep what they were told, so the one "corrected" email can name what changed.
    emailed_revision is the revision last emailed (0: never); the email services send
    whatever is behind.

    Money that waited: held_cents is what the week's run found of the donor's and could
    not give (hold_reason says why, in distributions.HoldReason codes; held_place is the
    place's label then; held_since the oldest payment); released_cents is what the week
    gave that had been paid before the week began (paid between released_from and
    released_to; released_reason why it had waited, "" when it was recorded after its own
    week's run). reports.words puts them in sentences.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports"
    )
    week_start = models.DateField()
    total_distributed_cents = models.BigIntegerField()
    charities_supported = models.PositiveIntegerField()
    distribution_breakdown = models.JSONField(default=list)
    generated_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)
    revision = models.PositiveIntegerField(default=1)
    revised_at = models.DateTimeField(null=True, blank=True)
    emailed_revision = models.PositiveIntegerField(default=0)
    previous_breakdown = models.JSONField(null=True, blank=True)
    previous_total_cents = models.BigIntegerField(null=True, blank=True)
    held_cents = models.BigIntegerField(default=0)
    held_since = models.DateField(null=True, blank=True)
    hold_reason = models.CharField(max_length=20, blank=True)
    held_place = models.CharField(max_length=110, blank=True)
    released_cents = models.BigIntegerField(default=0)
    released_from = models.DateField(null=True, blank=True)
    released_to = models.DateField(null=True, blank=True)
    released_reason = models.CharField(max_length=20, blank=True)

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
            models.CheckConstraint(
                condition=Q(revision__gte=1) & Q(emailed_revision__lte=F("revision")),
                name="report_emailed_revision_at_most_revision",
            ),
            models.CheckConstraint(
                condition=Q(held_cents__gte=0) & Q(released_cents__gte=0),
                name="report_held_and_released_not_negative",
            ),
            # Held money has a date and a reason; released money has its dates.
            models.CheckConstraint(
                condition=(Q(held_cents=0) & Q(held_since__isnull=True) & Q(hold_reason=""))
                | (Q(held_cents__gt=0) & Q(held_since__isnull=False) & ~Q(hold_reason="")),
                name="report_held_has_since_and_reason",
            ),
            models.CheckConstraint(
                condition=(
                    Q(released_cents=0)
                    & Q(released_from__isnull=True)
                    & Q(released_to__isnull=True)
                )
                | (
                    Q(released_cents__gt=0)
                    & Q(released_from__isnull=False)
                    & Q(released_to__gte=F("released_from"))
                ),
                name="report_released_has_dates",
            ),
        ]

    def __str__(self):
        return f"Report for {self.user} (week of {self.week_start})"

    @property
    def held_text(self) -> str:
        if not self.held_cents:
            return ""
        return held_words(self.held_cents, self.hold_reason, self.held_place)

    @property
    def released_text(self) -> str:
        if not self.released_cents:
            return ""
        return released_words(
            self.released_cents, self.released_from, self.released_to, self.released_reason
        )

    @property
    def corrected(self) -> bool:
        return self.revision > 1 and self.previous_breakdown is not None

    def changes(self) -> list[dict]:
        """Per charity, what the donor was last told and what it is now (only those that
        differ), biggest now first: what a correction names."""
        before = {i["charity_id"]: i for i in self.previous_breakdown or []}
        now = {i["charity_id"]: i for i in self.distribution_breakdown or []}
        out = []
        for charity_id in before.keys() | now.keys():
            old = before.get(charity_id, {}).get("amount_cents", 0)
            new = now.get(charity_id, {}).get("amount_cents", 0)
            if old != new:
                name = (now.get(charity_id) or before.get(charity_id))["charity_name"]
                out.append({"charity_name": name, "before_cents": old, "now_cents": new})
        return sorted(out, key=lambda c: (-c["now_cents"], c["charity_name"]))

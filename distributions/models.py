import secrets

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from core.models import MONDAY
from core.places import format_place

NO_CITY_LABEL = "(no city set)"


def new_salt() -> str:
    return secrets.token_hex(16)


def explanations_words(by_model: int, fallbacks: dict[str, int]) -> str:
    """How a place's sentences were written, for staff (admin, run_distribution):
    "template", or "2 by the model, 1 by the template (wrong number 1)"."""
    by_template = sum(fallbacks.values())
    if not by_model and not by_template:
        return "template"
    text = f"{by_model} by the model"
    if by_template:
        why = ", ".join(
            f"{reason.replace('_', ' ')} {n}" for reason, n in sorted(fallbacks.items())
        )
        text += f", {by_template} by the template ({why})"
    return text


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    PARTIAL = "partial", "Partly done (some cities failed; rerun completes them)"
    FAILED = "failed", "Failed"


class DistributionRun(models.Model):
    """The audit record of one week's distribution: what was pooled, given and held (the
    totals of its RunCity lines, one per place, with the why). One row per week; a rerun
    after a partial failure completes the same row.
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
    error = models.TextField(blank=True)
    # The public ledger (/transparency/): subscriptions appear there as tokens, a hash of
    # this week's random salt and the subscription id, so nobody can follow a donor from
    # week to week; rows_sha256 seals the week's rows as published (distributions.selectors.
    # week_rows), written when the run closes.
    salt = models.CharField(max_length=32, default=new_salt)
    rows_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-week_start"]
        # Queueing a week's run from the admin (web.services.queue_week_run) moves money,
        # so it is a permission of its own, not implied by seeing or "changing" runs.
        permissions = [
            ("run_distribution_week", "Can queue the distribution of a week from the admin")
        ]
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


class CityStatus(models.TextChoices):
    DONE = "done", "Distributed"
    HELD = "held", "Held"
    FAILED = "failed", "Failed (rerun the week to complete it)"


class HoldReason(models.TextChoices):
    NONE = "", "Not held"
    NO_CITY = "no_city", "The donors have not set their city"
    NO_CHARITY = "no_charity", "No approved charity in the city"
    NO_CURRENT_NEED = "no_current_need", "No approved charity with a current need"
    FAILED = "failed", "The city's run failed"


class RunCity(models.Model):
    """One place's line of a week's run: what its donors' money pooled, what was given and
    what is held, and why. One row per run and place (a place compared trimmed and
    case-insensitively); a second pass over the place in the same week (a --city run, a
    rerun after a failure, late money) adds to the same row. Donors who have not set a
    city form the place with an empty city and state.
    """

    Status = CityStatus

    run = models.ForeignKey(DistributionRun, on_delete=models.CASCADE, related_name="cities")
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    status = models.CharField(max_length=10, choices=CityStatus.choices)
    pooled_cents = models.BigIntegerField(default=0)
    distributed_cents = models.BigIntegerField(default=0)
    held_cents = models.BigIntegerField(default=0)
    contributions_count = models.IntegerField(default=0)  # contributions given out
    held_contributions = models.IntegerField(default=0)  # contributions still waiting
    distributions_count = models.IntegerField(default=0)  # Distribution rows written
    charities_count = models.IntegerField(default=0)  # charities that received money
    why = models.TextField(blank=True)
    # What each pass over the place worked from, as published and as verify_week checks
    # it: [{"at", "pool_cents", "subscriptions": [[subscription id, paid cents], ...],
    # "charities": [{"charity_id", "name", "weight", "gap_cents", "spread",
    # "amount_cents", "needs": [{"need_id", "category", "source", "urgency",
    # "reported_gap_cents", "received_cents", "remaining_gap_cents", "reported_at",
    # "credited_cents"}]}]}]. Subscription ids never leave the database as such.
    inputs = models.JSONField(default=list, blank=True)
    # Why money is held, as a code donors' pages and reports put in their own words.
    hold_reason = models.CharField(
        max_length=20, choices=HoldReason.choices, default=HoldReason.NONE, blank=True
    )
    # The sentences of the place's rows (portfolio.explain), per charity that received
    # money, summed over the week's passes: how many a model wrote, and why the others
    # are the template's ({"wrong_number": 1, "timeout": 2, ...}: reason -> charities,
    # each count > 0). Both stay 0 and {} when no model is configured.
    explained_by_model = models.IntegerField(default=0)
    explainer_fallbacks = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["state", "city"]
        verbose_name = "run city"
        verbose_name_plural = "run cities"
        constraints = [
            models.UniqueConstraint("run", Lower("city"), "state", name="run_city_once_per_place"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in CityStatus]),
                name="run_city_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(hold_reason__in=[r.value for r in HoldReason]),
                name="run_city_hold_reason_valid",
            ),
            # Money held has a reason; a line with nothing held has none.
            models.CheckConstraint(
                condition=(Q(held_cents=0) & Q(hold_reason=""))
                | (Q(held_cents__gt=0) & ~Q(hold_reason="")),
                name="run_city_held_iff_reason",
            ),
            models.CheckConstraint(
                condition=Q(pooled_cents__gte=0)
                & Q(distributed_cents__gte=0)
                & Q(held_cents__gte=0)
                & Q(contributions_count__gte=0)
                & Q(held_contributions__gte=0)
                & Q(distributions_count__gte=0)
                & Q(charities_count__gte=0),
                name="run_city_totals_not_negative",
            ),
            # Every pooled cent of the place is either given or held.
            models.CheckConstraint(
                condition=Q(pooled_cents=F("distributed_cents") + F("held_cents")),
                name="run_city_pooled_is_distributed_plus_held",
            ),
            models.CheckConstraint(
                condition=Q(explained_by_model__gte=0),
                name="run_city_explained_by_model_not_negative",
            ),
            # A place is a city and a state, or neither (donors with no city yet).
            models.CheckConstraint(
                condition=(Q(city="") & Q(state=""))
                | (~Q(city="") & Q(state__regex=r"^[A-Z]{2}$")),
                name="run_city_place_complete",
            ),
        ]

    def __str__(self):
        return f"{self.place}: {self.status}"

    @property
    def place(self) -> str:
        return format_place(self.city, self.state) if self.city else NO_CITY_LABEL


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
            # Ordered (subscription, week, charity): a run asks whether a subscription has
            # rows in one week (portfolio.services._claimable), a range of at most one row
            # per charity; ordered by charity first, it read the subscription's whole history.
            models.UniqueConstraint(
                fields=["subscription", "week_start", "charity"],
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

"""The weekly distribution engine, and the one place that runs a week (DESIGN.md,
"Meaning" and "Interfaces").

- calculate_distribution(city, state, week_start) -> CityPlan: what a run would do in one
  city, row by row. Writes nothing.
- get_distribution_preview(week_start) -> [CityPlan]: the same for every city, totals only
  (no rows, so memory stays flat however many cities). Writes nothing.
- distribute_funds(week_start) -> DistributionRun: does it. distribute_week, the same in
  this process, also answers what this invocation did in each place (WeekInvocation),
  since the run's totals count every invocation of the week.

A week runs in five steps, written once, in distribute_funds:
1. check the week (a Monday, over) and the city when one is given;
2. bill the demo subscriptions (subscriptions.services.bill_demo_week; nothing without
   demo billing): the engine itself only ever distributes Contribution rows;
3. open the week's run (distributions.services.get_or_start_run), refresh PostgreSQL's
   statistics of the contributions (refresh_claim_statistics: the claims are planned on
   what waits now) and list the places with money waiting;
4. distribute each place in its own transaction (distribute_city); a place that fails is
   recorded (record_city_failure) and the others go on;
5. close the run (finish_run): its status (completed, or partial while a city failed).
run_distribution and seed_demo let distribute_funds do step 4 itself, one place after
another. The Celery tasks (portfolio.tasks) pass `fan_out`, which runs step 4 as one
task per place and step 5 (then the week's reports) as the chord's callback.

Which money: every contribution not yet distributed whose paid_at is before the end of
the week, whatever week it was paid in, pooled by the donor's city (city, state), compared
trimmed and case-insensitively. A subscription's contributions are added together: it
gets one row per charity and week. Paused and cancelled subscriptions' collected money is
distributed like any other; money never collected does not exist here.

Who may receive: the approved charities of the city (charities.selectors.
get_charities_by_city) with a current need among the city's needs (needs.selectors.
get_needs_by_city: one per charity and category, with its remaining gap). A charity's
weight is urgency x remaining gap over its needs; no charity gets past its remaining gap
while another still has room; once every gap is met the rest is shared by urgency x
reported gap (never held for that reason). Each charity's amount is credited to its needs
the same way (portfolio.allocation), and needs records it (MoneyReceived), so a need
receives at most its gap from its report until it is reported again.

Held money: a city with no approved charity with a current need (weight > 0), or a donor
with no city, keeps its contributions undistributed; the run's line for the place shows
them as held, and the first later run that can place them does. One more case waits for
the next week: a contribution that arrives late for a week whose run already gave that
subscription its rows (a subscription has at most one row per charity and week).

Exactly once: each city is one transaction. It takes the city's undistributed
contributions and marks them in one conditional UPDATE ... RETURNING (distributions.
services.claim_contributions: the rows stay locked until the city commits; a place that
holds its money hands them back unmarked, and donors with no city are only locked,
SELECT ... FOR UPDATE), writes the rows, tells needs what each need received, and
writes the city's line of the run. A second run at the same time waits on the locks
and then finds nothing left to take; a rerun after a crash or an error redoes only the
cities that did not commit. An error in one city is recorded in its line (status
"failed") and the other cities go on; the run is then "partial" until a rerun completes
it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Sum
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.selectors import get_users_by_city
from charities.selectors import get_all_charities, get_charities_by_city, get_place_label
from core.money_log import log_money_on_commit
from core.places import (
    city_q,
    format_place,
    normalize_city,
    normalize_state,
    place_key,
)
from core.templatetags.money import format_cents, percentages
from core.text import counted
from core.validation import require_aware_datetime
from core.weeks import require_ended_week, week_bounds
from distributions import services as ledger
from distributions.models import (
    NO_CITY_LABEL,
    CityStatus,
    Distribution,
    DistributionRun,
    HoldReason,
    RunStatus,
)
from distributions.selectors import get_run_cities
from needs.models import NEED_CATEGORY_CHOICES
from needs.selectors import get_needs_by_city
from needs.services import record_money_received
from subscriptions import fee_reads
from subscriptions.models import Contribution
from subscriptions.selectors import get_demo_charges_due
from subscriptions.services import bill_demo_week

from .allocation import Candidate, StreamedSplit, allocate_pool
from .explain import CharityFacts, Explainer, get_explainer, reset_breaker

logger = logging.getLogger(__name__)


@dataclass
class NeedShare:
    need_id: int
    urgency: int
    reported_gap_cents: int
    remaining_gap_cents: int
    category: str = ""
    source: str = ""
    reported_at: str = ""  # ISO time its figures were set
    received_cents: int = 0  # since then
    description: str = ""  # the charity's one line about it (donors read it)

    def published(self, credited: int) -> dict:
        return {
            "need_id": self.need_id,
            "category": self.category,
            "source": self.source,
            "urgency": self.urgency,
            "reported_gap_cents": self.reported_gap_cents,
            "received_cents": self.received_cents,
            "remaining_gap_cents": self.remaining_gap_cents,
            "reported_at": self.reported_at,
            "credited_cents": credited,
        }

    def candidate(self) -> Candidate:
        room = self.remaining_gap_cents if self.urgency else 0
        return Candidate(
            self.need_id,
            self.urgency * self.remaining_gap_cents,
            room,
            spread=self.urgency * self.reported_gap_cents,
        )


CATEGORY_WORDS = dict(NEED_CATEGORY_CHOICES)


@dataclass
class CharityShare:
    charity_id: int
    name: str
    weight: int  # urgency x remaining gap, over its counted needs
    gap_cents: int  # remaining gap of its needs with an urgency
    urgency: int
    rank: int
    amount_cents: int = 0
    spread: int = 0  # urgency x reported gap: how money past every gap is shared
    reported_gap_cents: int = 0
    needs: list[NeedShare] = field(default_factory=list)

    @classmethod
    def of(cls, charity_id: int, name: str, needs: list[NeedShare]) -> CharityShare:
        parts = [n.candidate() for n in needs]
        return cls(
            charity_id,
            name,
            weight=sum(c.weight for c in parts),
            gap_cents=sum(c.gap_cents for c in parts),
            urgency=max((n.urgency for n in needs), default=0),
            rank=0,
            spread=sum(c.spread_weight for c in parts),
            reported_gap_cents=sum(n.reported_gap_cents for n in needs),
            needs=needs,
        )

    def candidate(self) -> Candidate:
        return Candidate(self.charity_id, self.weight, self.gap_cents, spread=self.spread)

    @property
    def top_need(self) -> NeedShare | None:
        """The need the explanation names: the most urgent, one the charity described
        before one it did not, then the largest remaining gap. The sentence quotes its
        line (the charity's own words) or names its category, beside its urgency."""
        weighed = [n for n in self.needs if n.urgency]
        if not weighed:
            return None
        return max(
            weighed,
            key=lambda n: (n.urgency, bool(n.description), n.remaining_gap_cents, -n.need_id),
        )

    def facts(self, place: str, charities: int) -> CharityFacts:
        """What the explanation says of this charity (the same for every donor)."""
        top = self.top_need
        return CharityFacts(
            self.charity_id,
            self.name,
            place,
            self.urgency,
            self.gap_cents,
            self.rank,
            charities,
            reported_gap_cents=self.reported_gap_cents,
            need=top.description if top else "",
            need_category=CATEGORY_WORDS.get(top.category, "") if top else "",
            week_cents=self.amount_cents,
        )

    def credit_needs(self) -> dict[int, int]:
        """This charity's amount over its needs: each up to its remaining gap by urgency x
        remaining gap, what is past every gap by urgency x reported gap (DESIGN)."""
        return allocate_pool(self.amount_cents, [n.candidate() for n in self.needs])


@dataclass
class CityPlan:
    city: str
    state: str
    week_start: dt.date
    pooled_cents: int = 0
    distributed_cents: int = 0
    held_cents: int = 0
    why: str = ""
    hold_reason: str = ""  # distributions.models.HoldReason, when held
    charities: list[CharityShare] = field(default_factory=list)
    subscriptions: int = 0
    contributions: int = 0
    # (subscription_id, charity_id, amount_cents, reason); only when asked for
    # (calculate_distribution). A run streams its rows to the ledger instead (_iter_rows).
    rows: list[tuple[int, int, int, str]] = field(default_factory=list)
    row_count: int = 0  # rows written (or listed in `rows`)
    # What the sentences say of each charity taking part (rank order not implied).
    facts: list[CharityFacts] = field(default_factory=list)
    # Charities whose sentence a model wrote, and why the others fell back to the
    # template ({reason: charities}); both empty with the template alone.
    explained_by_model: int = 0
    explainer_fallbacks: dict[str, int] = field(default_factory=dict)
    # need id -> cents credited to it (what needs records as received).
    need_credits: dict[int, int] = field(default_factory=dict)
    # subscription id -> cents it paid into this pass's pool
    per_subscription: dict[int, int] = field(default_factory=dict)
    contribution_ids: list[int] = field(default_factory=list)
    subscription_ids: list[int] = field(default_factory=list)
    # Once the rows are out: subscription id -> its rows as final, for the few
    # subscriptions whose rows the rounding's repair changed after they were given out
    # (_rows_of); their earlier rows are to be replaced by these. Usually empty.
    amended: dict[int, list[tuple[int, int, int, str]]] = field(default_factory=dict)

    @property
    def place(self) -> str:
        return format_place(self.city, self.state) if self.city else NO_CITY_LABEL

    @property
    def status(self) -> str:
        return CityStatus.HELD if self.held_cents else CityStatus.DONE

    def inputs(self, at: dt.datetime) -> dict:
        """What this pass worked from and gave, as the public ledger shows it and
        verify_week recomputes it (distributions.RunCity.inputs)."""
        return {
            "at": at.isoformat(),
            "pool_cents": self.pooled_cents,
            "subscriptions": [
                [sid, cents] for sid, cents in sorted(self.per_subscription.items())
            ],
            "charities": [
                {
                    "charity_id": c.charity_id,
                    "name": c.name,
                    "weight": c.weight,
                    "gap_cents": c.gap_cents,
                    "spread": c.spread,
                    "amount_cents": c.amount_cents,
                    "needs": [n.published(self.need_credits.get(n.need_id, 0)) for n in c.needs],
                }
                for c in sorted(self.charities, key=lambda c: c.charity_id)
            ],
        }

    def line(self) -> dict:
        """The figures of this pass for the run's line of the place (distributions.RunCity)."""
        return {
            "pooled_cents": self.pooled_cents,
            "distributed_cents": self.distributed_cents,
            "held_cents": self.held_cents,
            "contributions_count": self.contributions if self.distributed_cents else 0,
            "distributions_count": self.row_count,
            "held_contributions": 0 if self.distributed_cents else self.contributions,
            "charities_count": sum(1 for c in self.charities if c.amount_cents),
        }


# --- arguments ----------------------------------------------------------------------


def _now(now) -> dt.datetime:
    return timezone.now() if now is None else require_aware_datetime(now, "now")


def check_place(city, state) -> tuple[str, str]:
    """A city that has donors or charities (of any status), as (its label, state), or
    ValidationError naming city."""
    city = normalize_city(city)
    state = normalize_state(state)
    if not (
        get_users_by_city(city, state).exists()
        or get_all_charities(city=city, state=state).exists()
    ):
        raise ValidationError({"city": f"No donor or charity is in {format_place(city, state)}."})
    return canonical_place(city, state)


def canonical_place(city: str, state: str) -> tuple[str, str]:
    """The one spelling of a place in every sentence, run line and page (core.places):
    its charities', else the donors' in title case. ("", "") stays the no-city place."""
    if not city:
        return "", ""
    return get_place_label(city, state), state


# --- fees read before a run -----------------------------------------------------------


def read_fees_before_the_run(week_start, *, now=None) -> str:
    """Read from Stripe the processing fees still pending, before the week is shared out.

    Only net money is pooled (_claimable takes only contributions whose fee is known), so
    a payment whose fee the worker has not read yet would wait a whole week. The weekly
    task and run_distribution call this first, so such a payment goes out this week. If
    Stripe cannot answer, the run goes on without it: those payments keep waiting, are
    counted nowhere as given, and go out in the first run after their fee is read (no
    cent is given on a guessed fee, none twice: record_fee writes a pending fee once).
    Returns one line saying what happened ("" when no fee was pending). A week that has
    not ended is refused first (ValidationError), before anything is asked or written."""
    require_ended_week(week_start, now=_now(now))
    try:
        report = fee_reads.read_pending_fees()
    except fee_reads.StripeUnavailable as exc:
        logger.warning("Fees could not be read before the run: %s", exc)
        waiting = fee_reads.count_pending_fees()
        return (
            f"Stripe did not answer for the pending fees ({exc}): "
            f"{counted(waiting, 'payment')} wait for their fee and go out in a later run."
        )
    waiting = report.not_settled + len(report.refused)
    if not (report.read or waiting):
        return ""
    line = f"Read {counted(report.read, 'pending fee')} from Stripe before the run."
    if waiting:
        line += (
            f" {counted(waiting, 'payment')} still without a fee wait for it "
            "(not given this week; a later run gives them)."
        )
    return line


# --- reads --------------------------------------------------------------------------


def _claimable(week_start: dt.date):
    """The contributions a run for the week takes: not distributed yet, paid before the
    week's end, and with their net known (a payment whose processor fee Stripe has not
    reported yet waits for it: only net money is pooled, never a guess)."""
    end = week_bounds(week_start)[1]
    already = Distribution.objects.filter(
        subscription_id=OuterRef("subscription_id"), week_start=week_start
    )
    return Contribution.objects.filter(
        distributed_week__isnull=True, paid_at__lt=end, net_cents__isnull=False
    ).filter(~Exists(already))


def _in_place(qs, city: str, state: str, prefix: str):
    if not city:
        return qs.filter(**{f"{prefix}city": ""})
    return qs.filter(city_q(city, state, prefix=prefix))


def _pending_places(week_start: dt.date) -> list[tuple[str, str]]:
    """(city, state) of every city with claimable money; ("", "") for donors with no city."""
    rows = (
        _claimable(week_start)
        .values(key=Lower("subscription__user__city"), st=F("subscription__user__state"))
        .annotate(city=Min("subscription__user__city"))
        .order_by("st", "key")
    )
    return [canonical_place(r["city"], r["st"]) for r in rows]


def _candidates(city: str, state: str, now: dt.datetime) -> tuple[list[CharityShare], str, str]:
    """The charities taking part, or none with why (words, and a HoldReason)."""
    place = format_place(city, state)
    charities = list(get_charities_by_city(city, state).order_by("id").values_list("id", "name"))
    if not charities:
        return [], f"no approved charity in {place} yet", HoldReason.NO_CHARITY
    needs: dict[int, list[NeedShare]] = {}
    for need in get_needs_by_city(city, state, now=now).select_related(None):  # ids suffice
        needs.setdefault(need.charity_id, []).append(
            NeedShare(
                need.pk,
                need.urgency_score,
                need.funding_gap_cents,
                need.remaining_gap_cents,
                category=need.category,
                source=need.source,
                reported_at=need.gap_set_at.isoformat(),
                received_cents=need.received_cents,
                description=need.description,
            )
        )
    shares = [
        share
        for share in (CharityShare.of(cid, name, needs.get(cid, [])) for cid, name in charities)
        if share.spread > 0
    ]
    if not shares:
        return (
            [],
            f"no approved charity in {place} has a current need "
            f"(needs count for {settings.NEEDS_MAX_AGE_DAYS} days after their last update)",
            HoldReason.NO_CURRENT_NEED,
        )
    order = sorted(shares, key=lambda s: (-s.weight, -s.spread, s.charity_id))
    for rank, share in enumerate(order, 1):
        share.rank = rank
    return shares, "", ""


def _plan(
    city: str,
    state: str,
    week_start: dt.date,
    contributions: list[tuple[int | None, int, int]],
    *,
    now: dt.datetime,
) -> CityPlan:
    """contributions: (contribution id or None for a demo one not yet recorded,
    subscription id, net amount: what the processor left, the only money pooled). The
    rows are _fill_rows' to add."""
    per_sub: dict[int, int] = {}
    for _, sub_id, amount in contributions:
        per_sub[sub_id] = per_sub.get(sub_id, 0) + amount
    plan = CityPlan(
        city=city,
        state=state,
        week_start=week_start,
        per_subscription=per_sub,
        pooled_cents=sum(per_sub.values()),
        subscriptions=len(per_sub),
        contributions=len(contributions),
        contribution_ids=[cid for cid, _, _ in contributions if cid is not None],
    )
    if not city:
        plan.held_cents = plan.pooled_cents
        plan.why = "the donors have not set their city yet"
        plan.hold_reason = HoldReason.NO_CITY
        return plan
    shares, why, reason = _candidates(city, state, now)
    if not shares:
        plan.held_cents = plan.pooled_cents
        plan.why, plan.hold_reason = why, reason
        return plan
    allocation = allocate_pool(plan.pooled_cents, [s.candidate() for s in shares])
    for share in shares:
        share.amount_cents = allocation[share.charity_id]
        if share.amount_cents:
            plan.need_credits.update(share.credit_needs())
    plan.charities = shares
    plan.distributed_cents = plan.pooled_cents
    plan.why = f"split over {counted(sum(1 for s in shares if s.amount_cents), 'charity')} by need"
    plan.facts = [s.facts(plan.place, len(shares)) for s in shares]
    return plan


def _fill_rows(plan: CityPlan, explainer: Explainer) -> None:
    """The plan's rows as a list (calculate_distribution: the whole city at once), the
    amended subscriptions' rows (if any) in place of those first given out."""
    rows = list(_iter_rows(plan, explainer))
    if plan.amended:
        rows = [row for row in rows if row[0] not in plan.amended]
        rows.extend(row for amended in plan.amended.values() for row in amended)
        column = {fact.charity_id: j for j, fact in enumerate(plan.facts)}
        rows.sort(key=lambda row: (row[0], column[row[1]]))
    plan.rows = rows
    plan.row_count = len(rows)


def _iter_rows(plan: CityPlan, explainer: Explainer):
    """The plan's rows, (subscription_id, charity_id, amount_cents, reason), each
    subscription's money split over the charities with controlled rounding and a sentence
    per row: one frame per charity (explainer.frame, counted), its slots filled per row.
    Asks no model. Frames and the explainer's tally are taken at once; the rows come as
    the rounding decides them, DISTRIBUTION_CHUNK_DONORS subscriptions at a time
    (portfolio.allocation.StreamedSplit), so a city of any size never holds its matrix or
    its rows, and its first rows are on their way while the rest are worked out. Once
    they are exhausted, plan.amended holds the final rows of the subscriptions the
    rounding's repair changed (rare; usually none): whoever consumes the rows replaces
    those subscriptions' rows with them and sets plan.row_count."""
    plan.amended = {}
    if not plan.distributed_cents:
        return iter(())
    plan.subscription_ids = sorted(plan.per_subscription)
    facts = plan.facts
    frames = [explainer.frame(f) if f.week_cents else None for f in facts]
    plan.explained_by_model, plan.explainer_fallbacks = explainer.tally()
    return _rows_of(plan, explainer, facts, frames)


def _rows_of(plan: CityPlan, explainer: Explainer, facts, frames):
    """The rows, block by block. The hot loop of a run (a million rows a week): one
    tuple per row and nothing else per cell; each row's percentages once, each sentence
    once per (charity, paid, share) (Explainer.sentence keeps them for the place). Then
    plan.amended: the rows, as final, of the subscriptions the repair changed."""
    sub_ids = plan.subscription_ids
    amounts = [plan.per_subscription[s] for s in sub_ids]
    sentence = explainer.sentence
    columns = [(j, f, frames[j], f.charity_id) for j, f in enumerate(facts)]

    def rows_of(sub_id, paid, cells):
        shares = percentages(cells)
        paid_text = format_cents(paid)
        return [
            (sub_id, charity_id, cells[j], sentence(fact, frame, cells[j], paid, shares[j],
                                                   paid_text))
            for j, fact, frame, charity_id in columns
            if cells[j]
        ]  # fmt: skip

    split = StreamedSplit(
        amounts, [f.week_cents for f in facts], settings.DISTRIBUTION_CHUNK_DONORS
    )
    start = 0
    for block in split:
        end = start + len(block)
        for sub_id, paid, cells in zip(sub_ids[start:end], amounts[start:end], block, strict=True):
            yield from rows_of(sub_id, paid, cells)
        start = end
    plan.amended = {
        sub_ids[i]: rows_of(sub_ids[i], amounts[i], cells)
        for i, cells in sorted(split.amended.items())
    }


def _inside_callers_transaction() -> bool:
    """Whether the caller holds a transaction open around this place (seed_demo runs its
    weeks inside one): the places it already gave stay locked until it commits, so no
    model is asked and the template writes the sentences ("not_asked"). A test case's own
    transaction, which Django marks as such, does not count."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _ask_model_first(week_start, city, state, *, now, run_id, explainer: Explainer) -> None:
    """Ask the explainer's model about the place's charities before the place's
    transaction, from its figures read without locks: no ledger row is locked while a
    model thinks. The locked pass works the plan out again and uses an answer only for a
    charity whose figures are still exactly those (portfolio.explain)."""
    contributions = list(
        _in_place(_claimable(week_start), city, state, "subscription__user__")
        .order_by("id")
        .values_list("id", "subscription_id", "net_cents")
    )
    if not contributions:
        return
    preview = _plan(city, state, week_start, contributions, now=now)
    explainer.prepare([f for f in preview.facts if f.week_cents], run_id=run_id)


def calculate_distribution(city, state, week_start, *, now=None) -> CityPlan:
    """What distribute_funds would do in one city for the week, row by row. Writes nothing.

    In demo billing, the weekly contributions the run would first record are included.
    """
    now = _now(now)
    week_start = require_ended_week(week_start, now=now)
    city, state = check_place(city, state)
    contributions = list(
        _in_place(_claimable(week_start), city, state, "subscription__user__")
        .order_by("id")
        .values_list("id", "subscription_id", "net_cents")
    )
    if settings.DEMO_BILLING:
        due = get_demo_charges_due(week_start, city=city, state=state)
        contributions += [(None, sid, amount) for sid, amount in
                          due.order_by("id").values_list("id", "amount_cents")]  # fmt: skip
    explainer = get_explainer()
    try:
        plan = _plan(city, state, week_start, contributions, now=now)
        explainer.prepare([f for f in plan.facts if f.week_cents])
        _fill_rows(plan, explainer)
        return plan
    finally:
        explainer.close()


def get_distribution_preview(week_start, *, now=None) -> list[CityPlan]:
    """The plan of every city for the week, totals per charity only. Writes nothing."""
    now = _now(now)
    week_start = require_ended_week(week_start, now=now)
    by_place: dict[tuple[str, str], list] = {}
    claimable = (
        _claimable(week_start)
        .values(
            key=Lower("subscription__user__city"),
            st=F("subscription__user__state"),
            sub=F("subscription_id"),
        )
        .annotate(city=Min("subscription__user__city"), total=Sum("net_cents"), n=Count("id"))
    )
    for r in claimable.iterator():
        by_place.setdefault((r["key"], r["st"]), []).append(
            (r["city"], r["sub"], r["total"], r["n"])
        )
    if settings.DEMO_BILLING:
        due = get_demo_charges_due(week_start).values_list(
            Lower("user__city"), "user__state", "user__city", "id", "amount_cents"
        )
        for key, st, city, sid, amount in due.iterator():
            by_place.setdefault((key, st), []).append((city, sid, amount, 1))
    plans = []
    for (_, state), items in sorted(by_place.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        city, state = canonical_place(min(item[0] for item in items), state)
        # One entry per subscription is enough for totals; the count is kept aside.
        contributions = [(None, sid, total) for _, sid, total, _n in items]
        plan = _plan(city, state, week_start, contributions, now=now)
        plan.contributions = sum(item[3] for item in items)
        plans.append(plan)
    return plans


# --- a week: the five steps ------------------------------------------------------------

# fan_out(run, places): runs step 4 for each (city, state) and then step 5 (finish_run),
# somewhere else (portfolio.tasks: a Celery chord). Returns nothing.
FanOut = Callable[[DistributionRun, list[tuple[str, str]]], None]


@dataclass
class PlaceOutcome:
    """What one invocation did in one place that had money waiting when it started:
    "done" or "held" (this invocation wrote the place's line), "failed", or "elsewhere"
    (nothing was left to take: another process took it meanwhile)."""

    place: str
    status: str
    given_cents: int = 0
    held_cents: int = 0
    rows: int = 0
    charities: int = 0
    why: str = ""
    explained_by_model: int = 0
    explainer_fallbacks: dict[str, int] = field(default_factory=dict)


ELSEWHERE = "elsewhere"


@dataclass
class WeekInvocation:
    """What one call of distribute_week did, beside the week's run (whose totals count
    every invocation of the week: an earlier one, or another process at the same time)."""

    run: DistributionRun
    places: list[PlaceOutcome] = field(default_factory=list)

    @property
    def given_cents(self) -> int:
        return sum(p.given_cents for p in self.places)

    @property
    def held_cents(self) -> int:
        return sum(p.held_cents for p in self.places)

    @property
    def done_here(self) -> list[PlaceOutcome]:
        return [p for p in self.places if p.status != ELSEWHERE]

    @property
    def done_elsewhere(self) -> list[PlaceOutcome]:
        return [p for p in self.places if p.status == ELSEWHERE]


def _open_week(week_start, *, city, state, now):
    """Steps 1 to 3: the checked week, its run and the places with money waiting."""
    week_start = require_ended_week(week_start, now=now)
    place = check_place(city, state) if city is not None or state is not None else None
    if place is None:
        bill_demo_week(week_start)
    else:
        bill_demo_week(week_start, city=place[0], state=place[1])
    run = ledger.get_or_start_run(week_start=week_start, now=now)
    reset_breaker(run.pk)
    ledger.refresh_claim_statistics()
    places = _pending_places(week_start)
    if place is not None:
        places = [p for p in places if place_key(*p) == place_key(*place)]
    return week_start, run, places


def distribute_funds(
    week_start, *, city=None, state=None, now=None, fan_out: FanOut | None = None
) -> DistributionRun:
    """Run the week (or, with city and state, one city of it): the five steps of the
    module docstring. Safe to rerun: money already given is never given again.

    Returns the closed run; with `fan_out`, the run as opened (steps 4 and 5 are then
    fan_out's to run). The run's totals are the week's, whoever gave them; what this call
    itself did is distribute_week's answer.
    """
    if fan_out is None:
        return distribute_week(week_start, city=city, state=state, now=now).run
    now = _now(now)
    week_start, run, places = _open_week(week_start, city=city, state=state, now=now)
    fan_out(run, places)
    return run


def distribute_week(week_start, *, city=None, state=None, now=None) -> WeekInvocation:
    """distribute_funds in this process, one place after another, answering what this
    invocation did in each place (run_distribution prints it) with the closed run."""
    now = _now(now)
    week_start, run, places = _open_week(week_start, city=city, state=state, now=now)
    outcomes = []
    explainer = get_explainer()
    try:
        for c, s in places:
            outcomes.append(
                _distribute_place(week_start, c, s, run_id=run.pk, now=now, explainer=explainer)
            )
    finally:
        explainer.close()
    return WeekInvocation(run=finish_run(week_start, now=now), places=outcomes)


def _distribute_place(week_start, city, state, *, run_id, now, explainer) -> PlaceOutcome:
    label = _label(city, state)
    try:
        plan = _distribute_city_plan(
            week_start, city, state, run_id=run_id, now=now, explainer=explainer
        )
    except Exception as exc:
        logger.exception("Distribution for %s failed", label)
        record_city_failure(week_start, city, state, run_id=run_id, error=exc)
        return PlaceOutcome(label, CityStatus.FAILED, why=f"{type(exc).__name__}: {exc}")
    if plan is None:
        return PlaceOutcome(label, ELSEWHERE)
    return PlaceOutcome(
        plan.place,
        plan.status,
        given_cents=plan.distributed_cents,
        held_cents=plan.held_cents,
        rows=plan.row_count,
        charities=sum(1 for c in plan.charities if c.amount_cents),
        why=plan.why,
        explained_by_model=plan.explained_by_model,
        explainer_fallbacks=plan.explainer_fallbacks,
    )


def distribute_city_or_record_failure(
    week_start: dt.date, city: str, state: str, *, run_id: int, now=None, explainer=None
) -> CityStatus | None:
    """Step 4 for one place: distribute it, or record why it failed (the run goes on)."""
    try:
        return distribute_city(
            week_start, city, state, run_id=run_id, now=now, explainer=explainer
        )
    except Exception as exc:
        logger.exception("Distribution for %s failed", _label(city, state))
        record_city_failure(week_start, city, state, run_id=run_id, error=exc)
        return CityStatus.FAILED


def distribute_city(
    week_start: dt.date,
    city: str,
    state: str,
    *,
    run_id: int,
    now=None,
    explainer: Explainer | None = None,
) -> CityStatus | None:
    """Distribute one city's claimable money for the week, in one transaction.

    Returns the status of the city's line (done or held), or None when there was nothing
    left to take (already distributed by this or another run). Raises when it fails, with
    nothing written: the caller records the failure (record_city_failure) or retries.
    """
    plan = _distribute_city_plan(
        week_start, city, state, run_id=run_id, now=now, explainer=explainer
    )
    return None if plan is None else plan.status


def _distribute_city_plan(
    week_start: dt.date,
    city: str,
    state: str,
    *,
    run_id: int,
    now=None,
    explainer: Explainer | None = None,
) -> CityPlan | None:
    """distribute_city's work: the plan it carried out, or None (nothing left to take)."""
    now = _now(now)
    own_explainer = explainer is None
    explainer = get_explainer() if own_explainer else explainer
    explainer.start_place()
    try:
        if explainer.asks_model and not _inside_callers_transaction():
            _ask_model_first(week_start, city, state, now=now, run_id=run_id, explainer=explainer)
        with transaction.atomic():
            claimable = _in_place(_claimable(week_start), city, state, "subscription__user__")
            if city:
                # Taken and marked in one statement, locked until the city commits; handed
                # back below when the place holds them.
                contributions = ledger.claim_contributions(claimable, week_start=week_start)
            else:  # donors with no city: always held, so only locked
                contributions = list(
                    claimable.select_for_update(of=("self",))
                    .order_by("id")
                    .values_list("id", "subscription_id", "net_cents")
                )
            if not contributions:
                return None
            plan = _plan(city, state, week_start, contributions, now=now)
            del contributions  # the plan keeps the ids and each subscription's sum
            rows = _iter_rows(plan, explainer)
            if plan.distributed_cents:
                day = timezone.localdate(now)
                # Marked before the rows go in, while the claim has just read these
                # subscriptions (their pages are still in PostgreSQL's cache).
                ledger.mark_distributed(
                    subscription_ids=plan.subscription_ids, distribution_date=day, now=now
                )
                plan.row_count = ledger.write_rows(
                    run_id=run_id,
                    week_start=week_start,
                    distribution_date=day,
                    rows=rows,
                    created_at=now,
                )
                if plan.amended:
                    plan.row_count += ledger.replace_rows(
                        run_id=run_id,
                        week_start=week_start,
                        distribution_date=day,
                        subscription_ids=list(plan.amended),
                        rows=[row for rows in plan.amended.values() for row in rows],
                        created_at=now,
                    )
                record_money_received(week_start=week_start, amounts=plan.need_credits, at=now)
            elif city:
                ledger.release_contributions(plan.contribution_ids)
            line = plan.line()
            ledger.record_city(
                run_id=run_id,
                city=city,
                state=state,
                status=plan.status,
                line=line,
                why=plan.why,
                hold_reason=plan.hold_reason,
                inputs=plan.inputs(now),
                explained_by_model=plan.explained_by_model,
                explainer_fallbacks=plan.explainer_fallbacks,
            )
            _log_city(plan, line, run_id=run_id)
            return plan
    finally:
        if own_explainer:
            explainer.close()
        else:
            explainer.start_place()


def _label(city: str, state: str) -> str:
    return format_place(city, state) if city else NO_CITY_LABEL


def _log_city(plan: CityPlan, line: dict, *, run_id: int) -> None:
    """One line per city once its transaction commits: given, or held and why."""
    common = {"run_id": run_id, "week": plan.week_start.isoformat(), "city": plan.place}
    if plan.distributed_cents:
        log_money_on_commit(
            "city_distributed",
            **common,
            cents=plan.distributed_cents,
            contributions=plan.contributions,
            subscriptions=plan.subscriptions,
            charities=line["charities_count"],
            rows=plan.row_count,
        )
    if plan.held_cents:
        log_money_on_commit(
            "city_held",
            **common,
            cents=plan.held_cents,
            contributions=plan.contributions,
            why=plan.why,
        )


def record_city_failure(week_start: dt.date, city: str, state: str, *, run_id: int, error) -> None:
    """Write a failed city's line (its money counted as held) after its transaction
    rolled back, so the run shows what is missing and a rerun completes it."""
    pooled = _in_place(_claimable(week_start), city, state, "subscription__user__").aggregate(
        total=Sum("net_cents"), n=Count("id")
    )
    cents = pooled["total"] or 0
    line = {"pooled_cents": cents, "held_cents": cents, "held_contributions": pooled["n"]}
    why = f"failed ({type(error).__name__}: {error}); rerun the week to complete it"
    with transaction.atomic():
        ledger.record_city(
            run_id=run_id,
            city=city,
            state=state,
            status=CityStatus.FAILED,
            line=line,
            why=why,
            hold_reason=HoldReason.FAILED,
        )
        log_money_on_commit(
            "city_failed",
            run_id=run_id,
            week=week_start.isoformat(),
            city=_label(city, state),
            cents=cents,
            contributions=pooled["n"],
            error=f"{type(error).__name__}: {error}"[:500],
        )


def finish_run(week_start: dt.date, *, now=None) -> DistributionRun:
    """Step 5: close the week's run, completed, or partial while a city failed or still
    has money that could be placed (e.g. after a --city run)."""
    now = _now(now)
    run = DistributionRun.objects.get(week_start=week_start)
    lines = get_run_cities(run)
    failed = sorted(line.place for line in lines if line.status == CityStatus.FAILED)
    held = {place_key(line.city, line.state) for line in lines if line.status == CityStatus.HELD}
    waiting = [_label(c, s) for c, s in _pending_places(week_start) if place_key(c, s) not in held]
    if failed or waiting:
        status = RunStatus.PARTIAL
        error = "; ".join(
            ([f"failed: {', '.join(failed)}"] if failed else [])
            + ([f"not yet run: {', '.join(waiting)}"] if waiting else [])
        )
    else:
        status, error = RunStatus.COMPLETED, ""
    run = ledger.finish_run(run_id=run.pk, status=status, now=now, error=error)
    log_money_on_commit(
        "run_finished",
        run_id=run.pk,
        week=week_start.isoformat(),
        status=run.status,
        pooled_cents=run.pooled_cents,
        distributed_cents=run.distributed_cents,
        held_cents=run.held_cents,
        rows=run.distributions_count,
        cities=len(lines),
    )
    return run

"""Payouts: gather what each charity is owed, batch it into payouts, send Stripe transfers,
record manual payments and what Stripe tells us later (payouts/models.py has the words).

    run_payouts(period, dry_run=..., now=..., say=...)
      1. gather: ONE aggregate over the ledger (distributions_distribution), grouped by
         slice (charity, week, ledger write), for the weeks starting up to the period's
         last day, without the slices a live payout already covers;
      2. batch, BATCH_SIZE charities per transaction with their rows locked in id order
         (two runs at once take turns; the second finds the slices taken): eligibility,
         the minimum, the method, then the Payouts and their PayoutSlice rows, written
         in bulk (one transaction per charity cost ~5 queries each: 17x the floor);
      3. send every pending Stripe payout that has no transfer yet (this period's and any
         an earlier run left pending), each under a lock on its payout row.

Exactly one transfer per payout, whatever happens:
- the payout row is locked (select_for_update) while its transfer is asked for and
  recorded, so two runs never ask for the same payout at once;
- before creating, Stripe is asked for a transfer of the payout's transfer_group
  (f"payout-{id}"): a crash after Stripe made the transfer but before our commit is found
  on the next run, however late (Stripe's idempotency keys last 24 hours; this does not);
- the create itself carries an idempotency key derived from the payout and the run (its
  `now`), so the SDK's own network retries within a run cannot make two either. The run
  is part of the key because Stripe keeps the first answer to a key for 24 hours, a 500
  included: with the payout alone, a payout whose create once met a 500 could not be
  sent for a day. Across runs the transfer_group look-up is what prevents a second one.

What the answer must say: the payout's amount, in usd, to the payout's connected account.
An answer that says anything else is not recorded as paid: the payout stays pending with
the mismatch in failure_reason, "held for staff review", and no later run sends it again
(money may have moved, so its rows are not put back to owed by code; staff decide).
Stripe refusing the transfer (an invalid request, an account that cannot receive, our
balance too low): the payout is failed and its slices stop being live, in one transaction,
so its rows are owed again. Stripe unreachable: the payout stays pending, the run says so,
and the next run tries again.

Partial reversals: `transfer.reversed` marks the payout reversed (rows owed again) only
when Stripe says the transfer is reversed in full. A partial reversal is recorded on the
payout (failure_reason) for staff review and changes no status: part of the money stayed
with the charity, and the ledger has no way to say which rows that part was.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import stripe
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from charities.models import Charity
from charities.selectors import get_payout_eligibility, latest_irs_imports
from core.months import period_last_day, require_ended_period
from core.templatetags.money import format_cents
from core.text import counted
from subscriptions.stripe_client import CURRENCY, BillingNotConfigured, get_client, idempotency_key
from subscriptions.stripe_objects import InvalidStripeData, as_dict, require_stripe_id
from subscriptions.webhooks import EventContext

from .models import Payout, PayoutAccount, PayoutMethod, PayoutSlice, PayoutStatus

logger = logging.getLogger(__name__)

REVIEW = "held for staff review"


# --- periods --------------------------------------------------------------------------


# --- step 1: what is owed -------------------------------------------------------------


@dataclass(frozen=True)
class Slice:
    charity_id: int
    week_start: dt.date
    rows_created_at: dt.datetime
    amount_cents: int
    rows_count: int


UNPAID_SQL = """
    SELECT g.charity_id, g.week_start, g.created_at, g.amount, g.rows_count
    FROM (
        SELECT charity_id, week_start, created_at,
               SUM(amount_cents) AS amount, COUNT(*) AS rows_count
        FROM distributions_distribution
        WHERE week_start <= %s {charity}
        GROUP BY charity_id, week_start, created_at
    ) g
    WHERE NOT EXISTS (
        SELECT 1 FROM payouts_payoutslice s
        WHERE s.live AND s.charity_id = g.charity_id AND s.week_start = g.week_start
              AND s.rows_created_at = g.created_at
    )
    ORDER BY g.charity_id, g.week_start, g.created_at
"""


def _aware(value) -> dt.datetime:
    # SQLite hands a computed column back as text; PostgreSQL as an aware datetime.
    value = parse_datetime(value) if isinstance(value, str) else value
    return value if timezone.is_aware(value) else value.replace(tzinfo=dt.UTC)


def _date(value) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def unpaid_slices(last_day: dt.date, *, charity_id: int | None = None) -> list[Slice]:
    """Every slice of the ledger up to weeks starting on `last_day` that no live payout
    covers: one GROUP BY over the rows, then the groups (a few per charity and week, not
    the rows) anti-joined with the live slices."""
    params = [last_day]
    charity = ""
    if charity_id is not None:
        charity, params = "AND charity_id = %s", [last_day, charity_id]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One short aggregate: PostgreSQL's JIT compiles it for longer than it runs
            # (~130 ms of ~600 ms at a million rows), so it is off for this query only.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(UNPAID_SQL.format(charity=charity), params)
        return [
            Slice(c, _date(w), _aware(t), int(a), int(n)) for c, w, t, a, n in cursor.fetchall()
        ]


# --- results --------------------------------------------------------------------------


@dataclass
class CharityLine:
    charity_id: int
    charity_name: str
    outcome: str  # batched | below_minimum | not_eligible | nothing
    amount_cents: int
    method: str = ""
    payout_id: int | None = None
    detail: str = ""


@dataclass
class SendLine:
    payout_id: int
    charity_name: str
    amount_cents: int
    outcome: str  # paid | failed | held | retry | skipped
    detail: str = ""


@dataclass
class PayoutRun:
    period: dt.date
    dry_run: bool
    charities: list[CharityLine] = field(default_factory=list)
    sends: list[SendLine] = field(default_factory=list)

    def _batched(self):
        return [c for c in self.charities if c.outcome == "batched"]

    @property
    def created_count(self) -> int:
        return len(self._batched())

    @property
    def created_cents(self) -> int:
        return sum(c.amount_cents for c in self._batched())

    def sends_with(self, outcome: str) -> list[SendLine]:
        return [s for s in self.sends if s.outcome == outcome]

    def summary(self) -> str:
        verb = "would create" if self.dry_run else "created"
        manual = [c for c in self._batched() if c.method == PayoutMethod.MANUAL]
        skipped = [c for c in self.charities if c.outcome in ("below_minimum", "not_eligible")]
        parts = [
            f"{self.period:%Y-%m}: {verb} {counted(self.created_count, 'payout')} totalling "
            f"{format_cents(self.created_cents)} ({len(manual)} to pay by hand)",
            f"{counted(len(skipped), 'charity')} skipped",
        ]
        if self.dry_run:
            would = counted(len(self.sends_with("would_send")), "transfer")
            parts.append(f"{would} would be sent")
        else:
            paid = self.sends_with("paid")
            parts.append(
                f"{counted(len(paid), 'transfer')} made "
                f"({format_cents(sum(s.amount_cents for s in paid))})"
            )
            parts.append(f"{len(self.sends_with('failed'))} failed")
            held = len(self.sends_with("held"))
            retry = len(self.sends_with("retry"))
            if held:
                parts.append(f"{held} held for staff review")
            if retry:
                parts.append(f"{retry} left pending to retry")
        return "; ".join(parts) + "."


# --- step 2: batch --------------------------------------------------------------------


def _ready_accounts(charity_ids) -> dict[int, PayoutAccount]:
    return {
        a.charity_id: a
        for a in PayoutAccount.objects.filter(charity_id__in=charity_ids)
        if a.ready
    }


BATCH_SIZE = 500  # charities per step-2 transaction


def _batch(by_charity: dict[int, list[Slice]], *, period, now, minimum, latest, dry_run):
    """Step 2 for a group of charities, in the caller's transaction: lock their rows (in
    id order, so two runs never deadlock), drop the slices a live payout took since step
    1 (a run that waited on the lock finds what the other one took), then decide and
    write each charity's payout. A slice never grows once written, so what step 1 summed
    is still what it holds; rows a later ledger write added are new slices, for the next
    run. Returns one CharityLine per charity."""
    ids = sorted(by_charity)
    if dry_run:
        charities = Charity.objects.in_bulk(ids)
    else:
        charities = {c.pk: c for c in Charity.objects.select_for_update().filter(pk__in=ids)
                     .order_by("pk")}  # fmt: skip
        taken = set(
            PayoutSlice.objects.filter(live=True, charity_id__in=ids).values_list(
                "charity_id", "week_start", "rows_created_at"
            )
        )
        if taken:
            by_charity = {
                cid: [s for s in slices
                      if (cid, s.week_start, s.rows_created_at) not in taken]
                for cid, slices in by_charity.items()
            }  # fmt: skip
    eligibility = get_payout_eligibility(charities.values(), latest=latest, at=now)
    accounts = _ready_accounts(ids)
    lines, payouts, payout_slices = [], [], []
    for cid in ids:
        charity, slices = charities[cid], by_charity[cid]
        amount = sum(s.amount_cents for s in slices)
        line = CharityLine(cid, charity.name, "nothing", amount)
        lines.append(line)
        if not slices:
            line.detail = "nothing owed (another run took it)"
            continue
        if not eligibility[cid].eligible:
            line.outcome, line.detail = "not_eligible", eligibility[cid].reason
            continue
        if amount < minimum:
            line.outcome = "below_minimum"
            line.detail = f"below the {format_cents(minimum)} minimum; carries forward"
            continue
        account = accounts.get(cid)
        line.outcome = "batched"
        line.method = PayoutMethod.STRIPE if account else PayoutMethod.MANUAL
        if dry_run:
            continue
        payouts.append(
            Payout(
                charity=charity,
                period=period,
                amount_cents=amount,
                method=line.method,
                status=PayoutStatus.PENDING,
                stripe_account_id=account.stripe_account_id if account else "",
                eligibility=eligibility[cid].facts,
                created_at=now,
            )
        )
        payout_slices.append(slices)
    if payouts:
        _write_payouts(payouts, payout_slices)
        by_id = {p.charity_id: p.pk for p in payouts}
        for line in lines:
            line.payout_id = by_id.get(line.charity_id)
    return lines


PAYOUT_COLUMNS = ("id", "charity_id", "period", "amount_cents", "method", "status",
                  "stripe_account_id", "stripe_transfer_id", "manual_reference", "eligibility",
                  "failure_reason", "created_at", "updated_at")  # fmt: skip
SLICE_COLUMNS = ("payout_id", "charity_id", "week_start", "rows_created_at", "amount_cents",
                 "rows_count", "live")  # fmt: skip


def _write_payouts(payouts: list[Payout], slices: list[list[Slice]]) -> None:
    """Insert new pending payouts and their slices, in the caller's transaction. On
    PostgreSQL with COPY (ids drawn from the table's sequence first): Django's bulk
    insert binds every value through Python (~1 s for 500 payouts and 2,000 slices),
    COPY streams them (the benchmark's goal is 3x a plain SUM over the ledger)."""
    if connection.vendor != "postgresql":
        Payout.objects.bulk_create(payouts)
        PayoutSlice.objects.bulk_create(
            (PayoutSlice(payout=p, charity_id=p.charity_id, week_start=s.week_start,
                         rows_created_at=s.rows_created_at, amount_cents=s.amount_cents,
                         rows_count=s.rows_count)
             for p, group in zip(payouts, slices, strict=True) for s in group),
            batch_size=2000,
        )  # fmt: skip
        return
    payout_table, slice_table = Payout._meta.db_table, PayoutSlice._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [payout_table, len(payouts)],
        )
        for payout, (pk,) in zip(payouts, cursor.fetchall(), strict=True):
            payout.pk = pk
            payout.updated_at = payout.created_at
        with cursor.copy(f"COPY {payout_table} ({', '.join(PAYOUT_COLUMNS)}) FROM STDIN") as copy:
            for p in payouts:
                copy.write_row((p.pk, p.charity_id, p.period, p.amount_cents, p.method, p.status,
                                p.stripe_account_id, p.stripe_transfer_id, p.manual_reference,
                                json.dumps(p.eligibility), p.failure_reason, p.created_at,
                                p.updated_at))  # fmt: skip
        with cursor.copy(f"COPY {slice_table} ({', '.join(SLICE_COLUMNS)}) FROM STDIN") as copy:
            for p, group in zip(payouts, slices, strict=True):
                for s in group:
                    copy.write_row((p.pk, p.charity_id, s.week_start, s.rows_created_at,
                                    s.amount_cents, s.rows_count, True))  # fmt: skip
    for p in payouts:
        p._state.adding = False


# --- step 3: send ---------------------------------------------------------------------


def transfer_group(payout: Payout) -> str:
    return f"payout-{payout.pk}"


def transfer_params(payout: Payout) -> dict:
    return {
        "amount": payout.amount_cents,
        "currency": CURRENCY,
        "destination": payout.stripe_account_id,
        "transfer_group": transfer_group(payout),
        "description": f"Hometown Fund payout {payout.pk} for {payout.period:%Y-%m}",
        "metadata": {"payout_id": str(payout.pk), "period": f"{payout.period:%Y-%m}"},
    }


def after_transfer(payout: Payout, transfer: dict) -> None:
    """Called between Stripe's answer and the commit. Does nothing: fault tests replace
    it to crash at the worst moment (the transfer made, nothing of it recorded)."""


def _mismatch(payout: Payout, transfer: dict) -> str:
    problems = []
    if transfer.get("amount") != payout.amount_cents:
        problems.append(f"amount {transfer.get('amount')!r} instead of {payout.amount_cents}")
    if transfer.get("currency") != CURRENCY:
        problems.append(f"currency {transfer.get('currency')!r} instead of {CURRENCY!r}")
    if transfer.get("destination") != payout.stripe_account_id:
        problems.append(
            f"destination {transfer.get('destination')!r} instead of {payout.stripe_account_id!r}"
        )
    group = transfer.get("transfer_group")
    if group not in (None, transfer_group(payout)):
        problems.append(f"transfer group {group!r} instead of {transfer_group(payout)!r}")
    if not isinstance(transfer.get("id"), str) or not transfer["id"].startswith("tr_"):
        problems.append(f"transfer id {transfer.get('id')!r}")
    return "; ".join(problems)


def _owe_again(payout: Payout) -> None:
    payout.slices.filter(live=True).update(live=False)


def _find_or_create_transfer(client, payout: Payout, *, attempt: str) -> tuple[dict, bool]:
    group = transfer_group(payout)
    found = client.v1.transfers.list(params={"transfer_group": group, "limit": 10})
    existing = [as_dict(t) for t in found.data]
    if existing:
        return existing[0], False
    params = transfer_params(payout)
    transfer = client.v1.transfers.create(
        params=params,
        options={
            "idempotency_key": idempotency_key(
                "payout-transfer", payout.pk, attempt, params=params
            )
        },
    )
    return as_dict(transfer), True


def send_payout(payout_id: int, *, now: dt.datetime, client=None) -> SendLine:
    """Make (or find) the transfer of one pending Stripe payout and record the outcome.
    The payout row stays locked from the look-up to the commit."""
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update(of=("self",))
            .select_related("charity")
            .get(pk=payout_id)
        )
        line = SendLine(payout.pk, payout.charity.name, payout.amount_cents, "skipped")
        if (
            payout.method != PayoutMethod.STRIPE
            or payout.status != PayoutStatus.PENDING
            or payout.stripe_transfer_id
        ):
            line.detail = f"already {payout.status}"
            return line
        if payout.failure_reason:
            line.outcome, line.detail = "held", payout.failure_reason
            return line
        try:
            client = client or get_client()
            transfer, created = _find_or_create_transfer(client, payout, attempt=now.isoformat())
        except (stripe.InvalidRequestError, stripe.CardError, stripe.PermissionError) as exc:
            message = exc.user_message or str(exc)
            payout.status = PayoutStatus.FAILED
            payout.failure_reason = f"Stripe refused the transfer: {message}"[:2000]
            payout.settled_at = now
            payout.save(update_fields=["status", "failure_reason", "settled_at", "updated_at"])
            _owe_again(payout)
            line.outcome, line.detail = "failed", payout.failure_reason
            return line
        except (stripe.StripeError, BillingNotConfigured) as exc:
            # Unreachable, rate limited, a 5xx, keys missing: nothing is known to have
            # happened; the payout stays pending and the next run asks again.
            logger.warning("Payout %s: transfer not made: %s", payout.pk, exc)
            line.outcome, line.detail = "retry", f"{type(exc).__name__}: {exc}"[:500]
            return line
        after_transfer(payout, transfer)
        problem = _mismatch(payout, transfer)
        if problem:
            payout.failure_reason = (
                f"Stripe answered transfer {transfer.get('id')!r} with {problem}; "
                f"not recorded as paid, {REVIEW}."
            )[:2000]
            payout.save(update_fields=["failure_reason", "updated_at"])
            line.outcome, line.detail = "held", payout.failure_reason
            return line
        payout.status = PayoutStatus.PAID
        payout.stripe_transfer_id = transfer["id"]
        payout.sent_at = payout.settled_at = now
        payout.save(
            update_fields=["status", "stripe_transfer_id", "sent_at", "settled_at", "updated_at"]
        )
        line.outcome = "paid"
        line.detail = f"transfer {transfer['id']}" + ("" if created else " (found, not re-made)")
        return line


# --- the run --------------------------------------------------------------------------


def run_payouts(
    period: dt.date,
    *,
    dry_run: bool = False,
    now: dt.datetime,
    say: Callable[[str], None] | None = None,
) -> PayoutRun:
    """Pay each charity what it is owed for the weeks starting up to the end of `period`
    (a month that is over). Safe to rerun and to run twice at once (module docstring)."""
    require_ended_period(period, now=now, field="--period")
    say = say or (lambda message: None)
    result = PayoutRun(period=period, dry_run=dry_run)
    last_day = period_last_day(period)
    minimum = settings.PAYOUT_MINIMUM_CENTS
    latest = latest_irs_imports()

    by_charity: dict[int, list[Slice]] = defaultdict(list)
    for s in unpaid_slices(last_day):
        by_charity[s.charity_id].append(s)

    ids = sorted(by_charity)
    for i in range(0, len(ids), BATCH_SIZE):
        group = {cid: by_charity[cid] for cid in ids[i : i + BATCH_SIZE]}
        with transaction.atomic():
            lines = _batch(group, period=period, now=now, minimum=minimum, latest=latest,
                           dry_run=dry_run)  # fmt: skip
        for line in lines:
            if line.outcome != "nothing":
                result.charities.append(line)
                say(_charity_sentence(line, dry_run))

    pending = Payout.objects.filter(
        method=PayoutMethod.STRIPE, status=PayoutStatus.PENDING, stripe_transfer_id=""
    ).order_by("id")
    if dry_run:
        for payout in pending.select_related("charity"):
            held = bool(payout.failure_reason)
            result.sends.append(
                SendLine(
                    payout.pk,
                    payout.charity.name,
                    payout.amount_cents,
                    "held" if held else "would_send",
                    payout.failure_reason,
                )
            )
        for line in result._batched():
            if line.method == PayoutMethod.STRIPE:
                result.sends.append(
                    SendLine(0, line.charity_name, line.amount_cents, "would_send")
                )
        return result

    try:
        client = get_client() if pending.exists() else None
        problem = ""
    except BillingNotConfigured as exc:
        client, problem = None, str(exc)
    for payout in pending.select_related("charity"):
        if client is None:
            line = SendLine(payout.pk, payout.charity.name, payout.amount_cents, "retry", problem)
        else:
            line = send_payout(payout.pk, now=now, client=client)
        if line.outcome != "skipped":
            result.sends.append(line)
            say(_send_sentence(line))
    return result


def _charity_sentence(line: CharityLine, dry_run: bool) -> str:
    who = f"{line.charity_name} (#{line.charity_id}): {format_cents(line.amount_cents)}"
    if line.outcome == "batched":
        how = "Stripe transfer" if line.method == PayoutMethod.STRIPE else "pending manual payment"
        if dry_run:
            return f"{who} would be paid ({how})."
        return f"{who} batched as payout {line.payout_id} ({how})."
    if line.outcome == "not_eligible":
        return f"{who} not paid: not eligible, {line.detail}."
    return f"{who} not paid: {line.detail}."


def _send_sentence(line: SendLine) -> str:
    who = f"Payout {line.payout_id} ({line.charity_name}, {format_cents(line.amount_cents)})"
    return {
        "paid": f"{who}: paid, {line.detail}.",
        "failed": f"{who}: failed: {line.detail}",
        "held": f"{who}: {line.detail}",
        "retry": f"{who}: transfer not made now, will retry: {line.detail}",
    }.get(line.outcome, f"{who}: {line.outcome}")


# --- manual payments (the admin) ------------------------------------------------------


MANUAL_TRANSITIONS = {
    PayoutStatus.PENDING: (PayoutStatus.SENT, PayoutStatus.PAID, PayoutStatus.FAILED),
    PayoutStatus.SENT: (PayoutStatus.PAID, PayoutStatus.FAILED),
}


def record_manual_payment(
    payout_id: int, *, status: str, reference: str = "", reason: str = "", by, now: dt.datetime
) -> Payout:
    """Staff's record of a payment made by hand: pending -> sent | paid | failed,
    sent -> paid | failed. A reference (cheque number, bank reference) is required to
    send or pay, a reason to fail; failing puts the rows back to owed."""
    reference, reason = (reference or "").strip(), (reason or "").strip()
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout_id)
        if payout.method != PayoutMethod.MANUAL:
            raise ValidationError("Only a manual payout is recorded by hand.")
        allowed = MANUAL_TRANSITIONS.get(payout.status, ())
        if status not in allowed:
            raise ValidationError(
                f"A {payout.get_status_display().lower()} payout cannot become {status}."
            )
        if status in (PayoutStatus.SENT, PayoutStatus.PAID):
            reference = reference or payout.manual_reference
            if not reference:
                raise ValidationError({"reference": "Give the cheque number or bank reference."})
            if len(reference) > 255:
                raise ValidationError({"reference": "At most 255 characters."})
            payout.manual_reference = reference
            payout.sent_at = payout.sent_at or now
        if status == PayoutStatus.FAILED:
            if not reason:
                raise ValidationError({"reason": "Say why the payment failed."})
            payout.failure_reason = reason
        if status in (PayoutStatus.PAID, PayoutStatus.FAILED):
            payout.settled_at = now
        payout.status = status
        payout.recorded_by = by
        payout.save()
        if status == PayoutStatus.FAILED:
            _owe_again(payout)
    return payout


def is_held_for_review(payout: Payout) -> bool:
    """A Stripe payout whose transfer answer did not match (send_payout): no run sends it
    again until staff resolve it (resolve_held_payout)."""
    return (
        payout.method == PayoutMethod.STRIPE
        and payout.status == PayoutStatus.PENDING
        and REVIEW in payout.failure_reason
    )


def resolve_held_payout(
    payout_id: int, *, status: str, transfer_id: str = "", reason: str = "", by, now: dt.datetime
) -> Payout:
    """Staff's decision on a Stripe payout held for review, after looking in Stripe:
    - paid: the transfer named (tr_...) did reach the charity's account for this payout;
      it is recorded as the payout's transfer (one transfer per payout: unique);
    - failed: no money reached the charity; the rows are owed again (a later run pays
      them in a new payout, with a new transfer group).
    What was held and why stays in failure_reason, with staff's decision added."""
    transfer_id, reason = (transfer_id or "").strip(), (reason or "").strip()
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout_id)
        if not is_held_for_review(payout):
            raise ValidationError("Only a Stripe payout held for review is resolved here.")
        if status == PayoutStatus.PAID:
            if not re.fullmatch(r"tr_[A-Za-z0-9_]{1,250}", transfer_id):
                raise ValidationError({"reference": "Give the Stripe transfer id (tr_...)."})
            if Payout.objects.filter(stripe_transfer_id=transfer_id).exists():
                raise ValidationError(
                    {"reference": f"Transfer {transfer_id} is already another payout's."}
                )
            payout.stripe_transfer_id = transfer_id
            payout.sent_at = payout.sent_at or now
            decision = f"Staff confirmed transfer {transfer_id} as this payout."
        elif status == PayoutStatus.FAILED:
            if not reason:
                raise ValidationError({"reason": "Say what Stripe shows happened."})
            decision = f"Staff marked it failed: {reason}"
        else:
            raise ValidationError({"status": "A held payout becomes paid or failed."})
        payout.failure_reason = f"{payout.failure_reason} {decision}"[:2000]
        payout.status = status
        payout.settled_at = now
        payout.recorded_by = by
        payout.save()
        if status == PayoutStatus.FAILED:
            _owe_again(payout)
    return payout


# --- Stripe events --------------------------------------------------------------------


def handle_transfer_reversed(transfer: dict, context: EventContext) -> None:
    """transfer.reversed: a transfer reversed in full makes its payout reversed and its
    rows owed again; a partial one is recorded for staff review (module docstring)."""
    transfer = as_dict(transfer)
    transfer_id = require_stripe_id(transfer.get("id"), "transfer.id")
    amount, reversed_cents = transfer.get("amount"), transfer.get("amount_reversed")
    for name, value in (("amount", amount), ("amount_reversed", reversed_cents)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidStripeData(f"transfer.{name} must be a whole number of cents.")
    payout = Payout.objects.select_for_update().filter(stripe_transfer_id=transfer_id).first()
    if payout is None:
        raise InvalidStripeData(f"unknown transfer {transfer_id}: no payout made it.")
    if payout.status == PayoutStatus.REVERSED:
        return
    if amount != payout.amount_cents:
        raise InvalidStripeData(
            f"transfer {transfer_id} is for {amount} cents; payout {payout.pk} for "
            f"{payout.amount_cents}."
        )
    when = f"{context.created:%Y-%m-%d %H:%M} UTC (event {context.id})"
    if transfer.get("reversed") is True and reversed_cents >= amount:
        payout.status = PayoutStatus.REVERSED
        payout.failure_reason = f"Stripe reversed transfer {transfer_id} in full on {when}."
        payout.settled_at = context.created
        payout.save(update_fields=["status", "failure_reason", "settled_at", "updated_at"])
        _owe_again(payout)
        return
    payout.failure_reason = (
        f"Stripe reversed {format_cents(reversed_cents)} of {format_cents(amount)} of "
        f"transfer {transfer_id} on {when}; the payout stays {payout.status}, {REVIEW}."
    )
    payout.save(update_fields=["failure_reason", "updated_at"])

"""Reconcile local subscriptions and the contribution ledger with Stripe.

The webhook is the normal path; this catches what it missed (an endpoint that was down
for longer than Stripe's three days of retries, events refused while misconfigured).
Each fix goes through the same code as the webhook (stripe_objects), one transaction per
object, so a failure halfway leaves every earlier fix in place and nothing half-written.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone

from core.templatetags.money import format_cents
from core.text import counted

from .models import DEMO_ID_PREFIX, Contribution, FeeSource, Subscription
from .selectors import get_contributions_with_pending_fee, get_subscription_by_stripe_id
from .services import record_fee
from .stripe_client import get_client
from .stripe_objects import (
    InvalidStripeData,
    apply_subscription,
    as_dict,
    parse_balance_transaction,
    parse_invoice,
    parse_paid_invoice,
    parse_subscription,
    read_invoice_fee,
    record_paid_invoice,
)

PAGE_SIZE = 100
COMPARED_FIELDS = (
    "status", "stripe_status", "amount_cents", "stripe_customer_id", "paused_until",
)  # fmt: skip


@dataclass
class SyncReport:
    dry_run: bool
    subscriptions_checked: int = 0
    invoices_checked: int = 0
    fixed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    fees_pending: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verb = "would fix" if self.dry_run else "fixed"
        return (
            f"Checked {counted(self.subscriptions_checked, 'Stripe subscription')} and "
            f"{counted(self.invoices_checked, 'paid invoice')}: {verb} "
            f"{counted(len(self.fixed), 'drift')}, "
            f"{len(self.errors)} could not be reconciled."
            + (
                f" {counted(len(self.fees_pending), 'fee')} not settled at Stripe yet "
                "(left pending)."
                if self.fees_pending
                else ""
            )
            + (" Dry run: nothing was written." if self.dry_run else "")
        )


def sync_stripe(*, dry_run: bool, say: Callable[[str], None] = lambda line: None) -> SyncReport:
    """Make local state match Stripe; `say` receives one line per drift and error.
    Stripe errors (unreachable, bad key) propagate: the caller reports and exits."""
    report = SyncReport(dry_run=dry_run)
    client = get_client()
    prefix = "would fix" if dry_run else "fixed"

    def fixed(line):
        report.fixed.append(line)
        say(f"{prefix}: {line}")

    def error(line):
        report.errors.append(line)
        say(f"error: {line}")

    def pending(line):
        report.fees_pending.append(line)
        say(f"pending: {line}")

    seen = set()
    listing = client.v1.subscriptions.list(params={"status": "all", "limit": PAGE_SIZE})
    for remote in listing.auto_paging_iter():
        report.subscriptions_checked += 1
        obj = as_dict(remote)
        try:
            state = parse_subscription(obj)
        except InvalidStripeData as exc:
            error(f"subscription {obj.get('id')!r}: {exc}")
            continue
        seen.add(state.stripe_subscription_id)
        local = get_subscription_by_stripe_id(state.stripe_subscription_id)
        if local is None:
            drift = [f"missing locally, {state.status} {format_cents(state.amount_cents)}/week"]
        else:
            drift = [
                f"{name} {getattr(local, name)!r} -> {getattr(state, name)!r}"
                for name in COMPARED_FIELDS
                if getattr(local, name) != getattr(state, name)
            ]
        if not drift:
            continue
        line = f"subscription {state.stripe_subscription_id}: {'; '.join(drift)}"
        if dry_run:
            fixed(line)
            continue
        try:
            apply_subscription(obj, at=timezone.now(), current=True)
        except InvalidStripeData as exc:
            error(f"{line}: {exc}")
        else:
            fixed(line)

    unknown_to_stripe = (
        Subscription.objects.exclude(stripe_subscription_id__startswith=DEMO_ID_PREFIX)
        .exclude(stripe_subscription_id__in=seen)
        .values_list("stripe_subscription_id", flat=True)
    )
    for stripe_id in unknown_to_stripe:
        error(f"subscription {stripe_id}: Stripe does not have it (left unchanged).")

    seen_invoices: set[int] = set()

    def check_fee(existing, obj):
        _check_fee(
            existing,
            obj,
            client=client,
            dry_run=dry_run,
            fixed=fixed,
            error=error,
            pending=pending,
        )

    listing = client.v1.invoices.list(params={"status": "paid", "limit": PAGE_SIZE})
    for remote in listing.auto_paging_iter():
        report.invoices_checked += 1
        obj = as_dict(remote)
        try:
            facts = parse_invoice(obj)
        except InvalidStripeData as exc:
            if "not for a subscription" in str(exc):
                continue  # a one-off invoice is not a weekly gift
            error(f"invoice {obj.get('id')!r}: {exc}")
            continue
        existing = Contribution.objects.filter(stripe_invoice_id=facts.stripe_invoice_id).first()
        if existing is not None:
            seen_invoices.add(existing.pk)
            if existing.amount_cents != obj.get("amount_paid"):
                # The ledger is append-only: the money may already have been distributed.
                error(
                    f"invoice {facts.stripe_invoice_id}: recorded {existing.amount_cents} "
                    f"cents, Stripe says {obj.get('amount_paid')!r} (left unchanged)."
                )
            else:
                check_fee(existing, obj)
            continue
        line = (
            f"invoice {facts.stripe_invoice_id}: paid {format_cents(obj.get('amount_paid'))} "
            f"for {facts.stripe_subscription_id}, not in the ledger"
        )
        if dry_run:
            fixed(line)
            continue
        try:
            contribution, _ = record_paid_invoice(obj)
        except InvalidStripeData as exc:
            error(f"{line}: {exc}")
            continue
        seen_invoices.add(contribution.pk)
        fixed(f"{line}; {_read_new_fee(contribution, obj, error=error)}")

    for contribution in get_contributions_with_pending_fee().exclude(pk__in=seen_invoices):
        error(
            f"invoice {contribution.stripe_invoice_id}: its fee is pending and Stripe does "
            f"not list it among paid invoices (left pending)."
        )
    return report


def _read_new_fee(contribution: Contribution, obj: dict, *, error) -> str:
    """record_paid_invoice leaves the fee to a task; sync reads it here and now, so its
    report is complete (a command is not a request anyone waits on)."""
    if contribution.fee_source != FeeSource.PENDING:
        return _fee_and_net(contribution)
    invoice_id = contribution.stripe_invoice_id
    try:
        fee = read_invoice_fee(obj, amount_paid=contribution.amount_cents)
    except InvalidStripeData as exc:
        error(f"invoice {invoice_id}: fee pending, Stripe's cannot be used: {exc}")
        return "fee pending (Stripe's cannot be used)"
    if fee.fee_cents is None:
        return "fee not settled at Stripe yet (pending)"
    try:
        record_fee(
            contribution,
            fee_cents=fee.fee_cents,
            balance_transaction_id=fee.balance_transaction_id,
        )
    except ValidationError:
        contribution.refresh_from_db()  # read meanwhile by the fee task
    return _fee_and_net(contribution)


def _fee_and_net(contribution: Contribution) -> str:
    return (
        f"fee {format_cents(contribution.fee_cents)}, net {format_cents(contribution.net_cents)}"
    )


def _check_fee(existing: Contribution, obj: dict, *, client, dry_run, fixed, error, pending):
    """A contribution's fee against Stripe's: a pending one is read and recorded (once:
    services.record_fee), a recorded one is compared with its balance transaction and a
    difference is reported, never rewritten (the ledger is append-only)."""
    invoice_id = existing.stripe_invoice_id
    if existing.fee_source == FeeSource.PENDING:
        try:
            fee = read_invoice_fee(obj, amount_paid=parse_paid_invoice(obj).amount_cents)
        except InvalidStripeData as exc:
            error(f"invoice {invoice_id}: fee pending, Stripe's cannot be used: {exc}")
            return
        if fee.fee_cents is None:
            pending(f"invoice {invoice_id}: Stripe has no balance transaction for it yet.")
            return
        line = (
            f"invoice {invoice_id}: fee {format_cents(fee.fee_cents)} read from "
            f"{fee.balance_transaction_id}, net "
            f"{format_cents(existing.amount_cents - fee.fee_cents)} (was pending)"
        )
        if dry_run:
            fixed(line)
            return
        try:
            record_fee(
                existing,
                fee_cents=fee.fee_cents,
                balance_transaction_id=fee.balance_transaction_id,
            )
        except ValidationError as exc:
            error(f"{line}: {'; '.join(exc.messages)}")
        else:
            fixed(line)
    elif existing.fee_source == FeeSource.STRIPE:
        bt_id = existing.stripe_balance_transaction_id
        try:
            bt = as_dict(client.v1.balance_transactions.retrieve(bt_id))
            fee = parse_balance_transaction(
                bt, amount_paid=existing.amount_cents, where=f"invoice {invoice_id}"
            )
        except InvalidStripeData as exc:
            error(f"invoice {invoice_id}: recorded fee {existing.fee_cents} cents: {exc}")
            return
        if fee.fee_cents != existing.fee_cents:
            error(
                f"invoice {invoice_id}: recorded fee {existing.fee_cents} cents, Stripe's "
                f"balance transaction {bt_id} says {fee.fee_cents} (left unchanged)."
            )

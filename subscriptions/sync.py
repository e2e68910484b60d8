"""Reconcile local subscriptions and the contribution ledger with Stripe.

The webhook is the normal path; this catches what it missed (an endpoint that was down
for longer than Stripe's three days of retries, events refused while misconfigured).
Each fix goes through the same code as the webhook (stripe_objects), one transaction per
object, so a failure halfway leaves every earlier fix in place and nothing half-written.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

from core.templatetags.money import format_cents

from .models import DEMO_ID_PREFIX, Contribution, Subscription
from .selectors import get_subscription_by_stripe_id
from .stripe_client import get_client
from .stripe_objects import (
    InvalidStripeData,
    apply_subscription,
    as_dict,
    parse_invoice,
    parse_subscription,
    record_paid_invoice,
)

PAGE_SIZE = 100
COMPARED_FIELDS = ("status", "stripe_status", "amount_cents", "stripe_customer_id")


@dataclass
class SyncReport:
    dry_run: bool
    subscriptions_checked: int = 0
    invoices_checked: int = 0
    fixed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verb = "would fix" if self.dry_run else "fixed"
        return (
            f"Checked {self.subscriptions_checked} Stripe subscriptions and "
            f"{self.invoices_checked} paid invoices: {verb} {len(self.fixed)} drift(s), "
            f"{len(self.errors)} could not be reconciled."
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
            if existing.amount_cents != obj.get("amount_paid"):
                # The ledger is append-only: the money may already have been distributed.
                error(
                    f"invoice {facts.stripe_invoice_id}: recorded {existing.amount_cents} "
                    f"cents, Stripe says {obj.get('amount_paid')!r} (left unchanged)."
                )
            continue
        line = (
            f"invoice {facts.stripe_invoice_id}: paid {format_cents(obj.get('amount_paid'))} "
            f"for {facts.stripe_subscription_id}, not in the ledger"
        )
        if dry_run:
            fixed(line)
            continue
        try:
            record_paid_invoice(obj)
        except InvalidStripeData as exc:
            error(f"{line}: {exc}")
        else:
            fixed(line)
    return report

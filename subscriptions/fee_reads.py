"""Reading the processor fee of payments recorded with their fee pending.

invoice.paid records the payment at once with its fee pending (fee_cents and net_cents
null) and queues subscriptions.tasks.read_pending_fees on commit (services.
request_fee_read: one task per burst of payments, not one per payment). That task, and
beat every hour as a safety net, call read_pending_fees here, which reads every pending
fee Stripe can answer: the invoice's payment, then its balance transaction (two calls),
checked by stripe_objects.read_invoice_fee and written once by services.record_fee.

What happens to a payment whose fee is pending meanwhile (the contract with the engine):
it is in the ledger and in every total of money paid, it is shown as "fee not read yet"
(the donor's giving, the staff dashboard, money_report), and no distribution takes it:
portfolio.services takes only contributions whose net is known, and the weekly run first
reads the pending fees itself (portfolio.services.read_fees_before_the_run), so a payment
the worker has not reached yet still goes out that week. Its net is given once its fee
is read, never before and never twice: record_fee writes a pending fee only (one
conditional UPDATE).

Outcomes, per payment:
- read: fee and net written.
- not settled: Stripe has no balance transaction for the payment yet; it stays pending
  and a later read tries again (Stripe settles card payments within minutes to hours).
- refused: Stripe answered something that cannot be this payment's fee (another
  currency, another amount, a fee of the whole payment...). Nothing is written, the fee
  stays pending (so the money is never given on a guess), and the invoice.paid event that
  recorded it is marked failed with the reason: staff see it in the admin's "failed"
  filter and the daily digest, and Reprocess it once the cause is fixed (which queues a
  new read).
- Stripe unreachable or failing (network, 5xx, rate limit): the read stops and raises
  StripeUnavailable; the task retries with backoff, and what was read before stays read.
"""

import logging
from dataclasses import dataclass, field

import stripe
from django.core.exceptions import ValidationError
from django.db import transaction

from .models import Contribution, StripeEvent, StripeEventStatus
from .selectors import get_contributions_with_pending_fee
from .services import record_fee
from .stripe_client import BillingNotConfigured
from .stripe_objects import InvalidStripeData, read_invoice_fee

logger = logging.getLogger(__name__)


class StripeUnavailable(Exception):
    """Stripe could not answer (network, its 5xx, rate limiting): try again later."""


@dataclass
class FeeReadReport:
    read: int = 0
    not_settled: int = 0
    refused: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"read": self.read, "not_settled": self.not_settled, "refused": self.refused}


def read_pending_fees() -> FeeReadReport:
    """Read every pending fee Stripe can answer, oldest payment first.

    Safe to run twice at once: each payment is read under a row lock taken with SKIP
    LOCKED (another read skips it) and written by record_fee, which writes a pending fee
    only. Without Stripe keys (demo billing) there is nothing to read."""
    report = FeeReadReport()
    ids = list(
        get_contributions_with_pending_fee().order_by("paid_at", "pk").values_list("pk", flat=True)
    )
    for pk in ids:
        try:
            _read_one(pk, report)
        except BillingNotConfigured:
            logger.warning("Fees pending but Stripe is not configured: nothing read.")
            break
    return report


def _read_one(pk: int, report: FeeReadReport) -> None:
    with transaction.atomic():
        contribution = (
            get_contributions_with_pending_fee()
            .select_for_update(skip_locked=True, of=("self",))
            .filter(pk=pk)
            .first()
        )
        if contribution is None:
            return  # read meanwhile, or being read by another task
        try:
            fee = read_invoice_fee(
                {"id": contribution.stripe_invoice_id}, amount_paid=contribution.amount_cents
            )
        except InvalidStripeData as exc:
            _refuse(contribution, str(exc), report)
            return
        except stripe.StripeError as exc:
            raise StripeUnavailable(
                f"Stripe did not answer for invoice {contribution.stripe_invoice_id}: {exc}"
            ) from exc
        if fee.fee_cents is None:
            report.not_settled += 1
            return
        try:
            record_fee(
                contribution,
                fee_cents=fee.fee_cents,
                balance_transaction_id=fee.balance_transaction_id,
            )
        except ValidationError:
            return  # written meanwhile by a writer that takes no lock (sync_stripe)
        report.read += 1


def _refuse(contribution: Contribution, reason: str, report: FeeReadReport) -> None:
    """Leave the fee pending and mark the payment's invoice.paid event failed (listed in
    the next digest, once per failure: a new failure clears digested_at)."""
    invoice_id = contribution.stripe_invoice_id
    message = f"The fee of invoice {invoice_id} cannot be read: {reason}"
    report.refused.append(message)
    logger.error("%s (left pending)", message)
    StripeEvent.objects.filter(type="invoice.paid", payload__data__object__id=invoice_id).exclude(
        status=StripeEventStatus.FAILED
    ).update(
        status=StripeEventStatus.FAILED, error=message[:2000], processed_at=None, digested_at=None
    )


def count_pending_fees() -> int:
    return get_contributions_with_pending_fee().count()

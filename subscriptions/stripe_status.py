"""Stripe's subscription status -> the platform's three-valued status.

| Stripe status                         | pause_collection | local status |
|---------------------------------------|------------------|--------------|
| active, trialing, past_due            | not set          | active       |
| active, trialing, past_due            | set              | paused       |
| paused                                | any              | paused       |
| incomplete                            | any              | paused       |
| canceled, incomplete_expired, unpaid  | any              | cancelled    |

Why: "active" means money is being collected (past_due: Stripe is still retrying the
card, the donor still means to give). "paused" means no money is collected now but the
subscription can come back by itself (a pause, or a first payment not yet made).
"cancelled" means Stripe has stopped trying: canceled and incomplete_expired are final in
Stripe, unpaid leaves invoices open without charging them. Only payments actually
collected (invoice.paid) ever become Contributions, whatever the status says.
"""

from .models import StripeStatus, SubscriptionStatus

_TO_LOCAL = {
    StripeStatus.ACTIVE: SubscriptionStatus.ACTIVE,
    StripeStatus.TRIALING: SubscriptionStatus.ACTIVE,
    StripeStatus.PAST_DUE: SubscriptionStatus.ACTIVE,
    StripeStatus.PAUSED: SubscriptionStatus.PAUSED,
    StripeStatus.INCOMPLETE: SubscriptionStatus.PAUSED,
    StripeStatus.CANCELED: SubscriptionStatus.CANCELLED,
    StripeStatus.INCOMPLETE_EXPIRED: SubscriptionStatus.CANCELLED,
    StripeStatus.UNPAID: SubscriptionStatus.CANCELLED,
}


def to_local_status(stripe_status: str, *, pause_collection=None) -> str:
    """The local status for Stripe's word; KeyError for a word Stripe does not use."""
    local = _TO_LOCAL[StripeStatus(stripe_status)]
    if local == SubscriptionStatus.ACTIVE and pause_collection:
        local = SubscriptionStatus.PAUSED
    return local.value

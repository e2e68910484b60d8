"""Billing (layer 6, beside needs): subscriptions, the Contribution ledger of money
actually collected, Stripe (checkout, webhooks, self-service, sync) and demo billing
(bill_demo_week, which the weekly run calls before the engine)."""

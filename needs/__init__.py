"""Needs (layer 6, beside subscriptions): what charities need (urgency, funding gap), from
staff and feeds, with every change kept, and what each need has received (MoneyReceived,
credited by the engine), from which its remaining gap is worked out. needs never reads the
distribution ledger."""

"""Needs (layer 6, beside subscriptions): what charities need (urgency, funding gap), from
staff, feeds and the calculated rule, with every change kept. The engine tells needs what
each charity received (MoneyReceived); needs never reads the distribution ledger."""

"""One structured log line per money movement, on the logger "hometown.money".

Events (fields beside `event`):
- contribution_recorded: contribution_id, subscription_id, cents, fee_cents, paid_at, invoice
- contribution_fee_recorded: contribution_id, fee_cents, net_cents, balance_transaction
- demo_contributions_recorded: week, count, cents (one line per run, not per row)
- city_distributed: run_id, week, city, cents, contributions, subscriptions, charities, rows
- city_held: run_id, week, city, cents, contributions, why
- city_failed: run_id, week, city, cents (left undistributed), error
- run_finished: run_id, week, status, pooled_cents, distributed_cents, held_cents, rows
- run_queued: week, user_id, log_entry_id, pooled_cents, distributed_cents, held_cents
  (staff queued the week from the admin: web.services.queue_week_run; the preview's cents)

Each line reads as `event=city_distributed run_id=7 week=2026-11-09 city="Springfield, VT"
cents=12345 ...` (values with spaces or quotes are JSON-quoted), and the same fields ride
on the record as `record.money` (a dict) for a JSON formatter or a log shipper.

Lines are written once the money's transaction has committed (transaction.on_commit), so
a rolled-back city or webhook never logs a movement that did not happen. Per city, never
per Distribution row: a week of a million rows is still one line per city.
"""

from __future__ import annotations

import json
import logging

from django.db import transaction

logger = logging.getLogger("hometown.money")


def _value(value) -> str:
    text = str(value)
    if not text or any(c in text for c in ' "=\\\n\t'):
        return json.dumps(text)
    return text


def format_fields(fields: dict) -> str:
    return " ".join(f"{key}={_value(value)}" for key, value in fields.items())


def log_money(event: str, **fields) -> None:
    """Log one money event now."""
    payload = {"event": event, **fields}
    logger.info(format_fields(payload), extra={"money": payload})


def log_money_on_commit(event: str, **fields) -> None:
    """Log one money event when the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: log_money(event, **fields))

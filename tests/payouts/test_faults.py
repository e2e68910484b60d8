"""Exactly one transfer per payout under faults and concurrency, on PostgreSQL, with the
fake Stripe server counting the transfers it made.

These tests commit for real (transaction=True): the two runs at once are two threads,
each with its own database connection, and row locks only mean something across
connections.
"""

import threading

import pytest
from django.db import IntegrityError, connection, connections
from django.db.models import Sum

from payouts import services
from payouts.models import Payout, PayoutAccount, PayoutSlice
from tests.factories import CharityFactory
from tests.payouts.conftest import NOW, OCT_WEEKS, PERIOD, ledger

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class Crash(Exception):
    pass


def _charities(fake, n=3):
    out = []
    for i in range(n):
        charity = CharityFactory(name=f"Shelf {i}")
        obj = fake.add_account(ready=True, charity_id=charity.pk)
        PayoutAccount.objects.create(charity=charity, stripe_account_id=obj["id"],
                                     details_submitted=True, payouts_enabled=True)  # fmt: skip
        for week in OCT_WEEKS:
            ledger(charity, week, [1000 + i, 2000])
        out.append(charity)
    return out


def _assert_each_charity_paid_once(fake, charities):
    owed = {c.pk: 4 * (3000 + i) for i, c in enumerate(charities)}
    paid = {p.charity_id: p for p in Payout.objects.filter(status="paid")}
    assert {k: p.amount_cents for k, p in paid.items()} == owed
    assert Payout.objects.count() == len(charities)
    assert fake.transfers_made == len(charities)
    by_destination = {}
    for t in fake.transfers.values():
        by_destination[t["destination"]] = by_destination.get(t["destination"], 0) + t["amount"]
    assert sorted(by_destination.values()) == sorted(owed.values())
    assert {p.stripe_transfer_id for p in paid.values()} == set(fake.transfers)
    live = PayoutSlice.objects.filter(live=True).aggregate(s=Sum("amount_cents"))["s"]
    assert live == sum(owed.values())


def test_a_crash_between_the_transfer_and_the_commit_makes_no_second_transfer(fake, monkeypatch):
    charities = _charities(fake)
    crashed = []

    def crash_once(payout, transfer):
        if not crashed:
            crashed.append(transfer["id"])
            raise Crash("the process died after Stripe answered")

    monkeypatch.setattr(services, "after_transfer", crash_once)
    with pytest.raises(Crash):
        services.run_payouts(PERIOD, now=NOW)
    # Stripe made the transfer; our record of it was rolled back.
    assert fake.transfers_made == 1
    assert not Payout.objects.exclude(stripe_transfer_id="").exists()

    # A rerun a day later: past this run's idempotency key, the transfer_group look-up
    # finds the transfer and records it instead of making another.
    services.run_payouts(PERIOD, now=NOW.replace(day=NOW.day + 1))
    _assert_each_charity_paid_once(fake, charities)
    assert crashed[0] in {p.stripe_transfer_id for p in Payout.objects.all()}


def test_a_rerun_makes_no_second_payout_or_transfer(fake):
    charities = _charities(fake)
    services.run_payouts(PERIOD, now=NOW)
    result = services.run_payouts(PERIOD, now=NOW.replace(hour=13))
    assert result.created_count == 0 and not result.sends
    _assert_each_charity_paid_once(fake, charities)


def test_two_runs_at_once_make_one_payout_and_one_transfer_per_charity(fake, monkeypatch):
    charities = _charities(fake, n=4)
    # Both runs gather before either batches: each sees every charity unpaid, so the
    # lock on the charity row (and the re-read under it) is what keeps them apart.
    gathered = threading.Barrier(2, timeout=30)
    real_unpaid = services.unpaid_slices

    def unpaid_then_wait(last_day, *, charity_id=None):
        rows = real_unpaid(last_day, charity_id=charity_id)
        if charity_id is None:
            gathered.wait()
        return rows

    monkeypatch.setattr(services, "unpaid_slices", unpaid_then_wait)
    results, errors = [], []

    def one_run(minute):
        try:
            results.append(services.run_payouts(PERIOD, now=NOW.replace(minute=minute)))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one_run, args=(m,)) for m in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sum(r.created_count for r in results) == len(charities)
    assert sum(len(r.sends_with("paid")) for r in results) == len(charities)
    _assert_each_charity_paid_once(fake, charities)


def test_the_live_slice_constraint_holds_on_postgresql(fake):
    charity = CharityFactory()
    at = ledger(charity, OCT_WEEKS[0], [2000])
    services.run_payouts(PERIOD, now=NOW)
    second = Payout.objects.create(
        charity=charity, period=PERIOD, amount_cents=2000, method="manual", created_at=NOW
    )
    with pytest.raises(IntegrityError, match="payoutslice_one_live_payout"):
        PayoutSlice.objects.create(
            payout=second, charity=charity, week_start=OCT_WEEKS[0], rows_created_at=at,
            amount_cents=2000, rows_count=1,
        )  # fmt: skip
    assert connection.vendor == "postgresql"

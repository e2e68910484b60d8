"""run_payouts: what is gathered, who is paid, how, and what each outcome writes."""

import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction

from charities.models import CharityStatus, IrsImport
from core.months import previous_period
from payouts import services
from payouts.models import Payout, PayoutAccount, PayoutSlice, PayoutStatus
from tests.factories import CharityFactory
from tests.payouts.conftest import NOV_WEEK, NOW, OCT_WEEKS, PERIOD, ledger

pytestmark = pytest.mark.django_db


def run(**kwargs):
    lines = []
    result = services.run_payouts(PERIOD, now=kwargs.pop("now", NOW), say=lines.append,
                                  **kwargs)  # fmt: skip
    return result, lines


def live_cents(charity) -> int:
    return sum(s.amount_cents for s in PayoutSlice.objects.filter(charity=charity, live=True))


def ready_account(fake, charity) -> PayoutAccount:
    obj = fake.add_account(ready=True, charity_id=charity.pk)
    return PayoutAccount.objects.create(
        charity=charity, stripe_account_id=obj["id"], details_submitted=True,
        payouts_enabled=True, charges_enabled=True,
    )  # fmt: skip


class TestGathering:
    def test_it_pays_every_unpaid_row_of_weeks_starting_in_the_period_once(self, charity):
        for week in OCT_WEEKS:
            ledger(charity, week, [700, 300])
        ledger(charity, NOV_WEEK, [5000])  # next month's: not this period

        result, lines = run()

        payout = Payout.objects.get()
        assert (payout.charity, payout.period, payout.amount_cents) == (charity, PERIOD, 4000)
        assert (payout.method, payout.status) == ("manual", "pending")
        assert payout.slices.count() == 4
        assert sorted(payout.slices.values_list("week_start", flat=True)) == OCT_WEEKS
        assert all(s.rows_count == 2 for s in payout.slices.all())
        assert result.created_count == 1 and result.created_cents == 4000
        assert "pending manual payment" in lines[0]

    def test_a_rerun_creates_nothing_and_later_rows_of_a_paid_week_are_a_new_slice(self, charity):
        ledger(charity, OCT_WEEKS[0], [2000])
        run()
        result, _ = run()
        assert result.created_count == 0
        assert Payout.objects.count() == 1

        ledger(charity, OCT_WEEKS[0], [1500])  # a later rerun of the same week added rows
        result, _ = run()
        assert result.created_cents == 1500
        assert Payout.objects.count() == 2
        assert live_cents(charity) == 3500

    def test_an_earlier_month_left_unpaid_is_included(self, charity):
        ledger(charity, dt.date(2026, 9, 7), [600])
        ledger(charity, OCT_WEEKS[1], [600])
        run()
        assert Payout.objects.get().amount_cents == 1200

    def test_below_the_minimum_carries_forward(self, charity, settings):
        settings.PAYOUT_MINIMUM_CENTS = 1000
        ledger(charity, OCT_WEEKS[0], [999])
        _result, lines = run()
        assert not Payout.objects.exists()
        assert "below the $10.00 minimum" in lines[0]

        ledger(charity, OCT_WEEKS[1], [1])
        run()
        assert Payout.objects.get().amount_cents == 1000

    def test_an_ineligible_charity_waits_and_its_share_keeps_accruing(self, charity):
        charity.ein = "123456789"
        charity.save()
        IrsImport.objects.create(states=["VT"], source_name="eo_vt.csv", rows=1, imported_at=NOW)
        ledger(charity, OCT_WEEKS[0], [5000])
        other = CharityFactory(name="Rejected Shelf", verification_status=CharityStatus.REJECTED)
        ledger(other, OCT_WEEKS[0], [5000])

        result, lines = run()

        assert not Payout.objects.exists()
        text = "\n".join(lines)
        assert "not eligible, needs review: EIN 12-3456789 is not in the latest IRS" in text
        assert "not eligible, not approved (rejected)" in text
        assert len([c for c in result.charities if c.outcome == "not_eligible"]) == 2

    def test_the_payout_stores_the_eligibility_facts_it_was_made_on(self, charity):
        ledger(charity, OCT_WEEKS[0], [5000])
        run()
        facts = Payout.objects.get().eligibility
        assert facts["verification_status"] == "approved"
        assert facts["checked_at"] == NOW.isoformat()
        assert "irs_status" in facts and "latest_irs_import_id" in facts

    def test_a_dry_run_writes_nothing_and_says_what_it_would_do(self, charity):
        ledger(charity, OCT_WEEKS[0], [5000])
        result, lines = run(dry_run=True)
        assert not Payout.objects.exists() and not PayoutSlice.objects.exists()
        assert result.created_cents == 5000
        assert "would be paid" in lines[0]
        assert result.summary().startswith("2026-10: would create 1 payout totalling $50.00")


class TestPeriod:
    def test_a_month_that_has_not_ended_is_refused(self, charity):
        ledger(charity, OCT_WEEKS[0], [5000])
        # 31 October 23:00 in New York is already November in UTC, not yet locally.
        late = dt.datetime(2026, 11, 1, 3, 0, tzinfo=dt.UTC)
        with pytest.raises(ValidationError, match="has not ended yet"):
            services.run_payouts(PERIOD, now=late)
        assert not Payout.objects.exists()

    @pytest.mark.parametrize("value", ["2026-13", "2026-1", "202610", "October", ""])
    def test_the_command_refuses_a_malformed_period_in_one_line(self, value, charity):
        ledger(charity, OCT_WEEKS[0], [5000])
        with pytest.raises(CommandError, match="is not a month of the form YYYY-MM"):
            call_command("run_payouts", "--period", value)
        assert not Payout.objects.exists()

    def test_the_command_refuses_the_current_month(self):
        with pytest.raises(CommandError, match="has not ended yet"):
            call_command("run_payouts", "--period", "2999-01")

    def test_the_command_prints_a_line_per_charity_and_a_summary(self, charity, settings):
        ledger(charity, OCT_WEEKS[0], [5000])
        small = CharityFactory(name="Tiny Pantry")
        ledger(small, OCT_WEEKS[0], [10])
        out = io.StringIO()
        call_command("run_payouts", "--period", "2026-10", stdout=out)
        text = out.getvalue()
        assert "Springfield Food Shelf" in text and "Tiny Pantry" in text
        assert text.strip().splitlines()[-1] == (
            "2026-10: created 1 payout totalling $50.00 (1 to pay by hand); "
            "1 charity skipped; 0 transfers made ($0.00); 0 failed."
        )

    def test_previous_period_is_the_local_month_before(self):
        # 1 December 03:00 UTC is still 30 November in New York.
        assert previous_period(dt.datetime(2026, 12, 1, 3, tzinfo=dt.UTC)) == dt.date(2026, 10, 1)
        assert previous_period(dt.datetime(2027, 1, 3, 12, tzinfo=dt.UTC)) == dt.date(2026, 12, 1)


class TestConstraint:
    def test_the_database_refuses_a_second_live_slice_of_the_same_rows(self, charity):
        at = ledger(charity, OCT_WEEKS[0], [2000])
        run()
        first = Payout.objects.get()
        second = Payout.objects.create(
            charity=charity, period=PERIOD, amount_cents=2000, method="manual", created_at=NOW
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            PayoutSlice.objects.create(
                payout=second, charity=charity, week_start=OCT_WEEKS[0], rows_created_at=at,
                amount_cents=2000, rows_count=1,
            )  # fmt: skip
        # Once the first is no longer live, the same rows may be covered again.
        first.slices.update(live=False)
        PayoutSlice.objects.create(
            payout=second, charity=charity, week_start=OCT_WEEKS[0], rows_created_at=at,
            amount_cents=2000, rows_count=1,
        )  # fmt: skip


class TestStripeTransfers:
    def test_a_ready_account_is_paid_by_one_transfer(self, fake, charity):
        account = ready_account(fake, charity)
        ledger(charity, OCT_WEEKS[0], [3000, 1234])

        result, _lines = run()

        payout = Payout.objects.get()
        assert (payout.method, payout.status) == ("stripe", "paid")
        assert payout.stripe_account_id == account.stripe_account_id
        assert payout.sent_at == payout.settled_at == NOW
        assert fake.transfers_made == 1
        transfer = fake.transfers[payout.stripe_transfer_id]
        assert (transfer["amount"], transfer["destination"], transfer["currency"]) == (
            4234, account.stripe_account_id, "usd",
        )  # fmt: skip
        assert transfer["transfer_group"] == f"payout-{payout.pk}"
        assert transfer["metadata"]["payout_id"] == str(payout.pk)
        create = fake.calls("POST", "/v1/transfers")[0]
        assert create.idempotency_key.startswith("hometown-payout-transfer-")
        assert result.summary().endswith("1 transfer made ($42.34); 0 failed.")

        run()
        assert fake.transfers_made == 1 and Payout.objects.count() == 1

    def test_an_account_not_ready_is_paid_by_hand(self, fake, charity):
        obj = fake.add_account(ready=False)
        PayoutAccount.objects.create(charity=charity, stripe_account_id=obj["id"])
        ledger(charity, OCT_WEEKS[0], [3000])
        run()
        assert Payout.objects.get().method == "manual"
        assert fake.transfers_made == 0

    def test_stripe_refusing_fails_the_payout_and_the_rows_are_owed_again(self, fake, charity):
        ready_account(fake, charity)
        ledger(charity, OCT_WEEKS[0], [3000])
        fake.fail_next("POST", "/v1/transfers", status=400, error_type="invalid_request_error",
                       message="You have insufficient available funds in your Stripe account.",
                       code="balance_insufficient")  # fmt: skip

        result, _lines = run()

        payout = Payout.objects.get()
        assert payout.status == "failed" and payout.settled_at == NOW
        assert "insufficient available funds" in payout.failure_reason
        assert live_cents(charity) == 0
        assert len(result.sends_with("failed")) == 1
        # The rows are owed again: the next run batches them anew (refused again here,
        # so the command exits non-zero), and the one after that pays them.
        fake.fail_next("POST", "/v1/transfers", status=400, message="Refused again.")
        with pytest.raises(CommandError, match="Some transfers were not made"):
            call_command("run_payouts", "--period", "2026-10", stdout=io.StringIO())
        assert Payout.objects.filter(status="failed").count() == 2
        call_command("run_payouts", "--period", "2026-10", stdout=io.StringIO())
        assert Payout.objects.filter(status="paid").get().amount_cents == 3000
        assert fake.transfers_made == 1

    def test_stripe_unreachable_leaves_the_payout_pending_for_the_next_run(
        self, fake, charity, settings
    ):
        ready_account(fake, charity)
        ledger(charity, OCT_WEEKS[0], [3000])
        for _ in range(3):  # the SDK may retry a 5xx itself (MAX_NETWORK_RETRIES)
            fake.fail_next("POST", "/v1/transfers", status=500, error_type="api_error",
                           message="Internal error.")  # fmt: skip

        result, _lines = run()

        payout = Payout.objects.get()
        assert payout.status == "pending" and payout.failure_reason == ""
        assert len(result.sends_with("retry")) == 1
        assert live_cents(charity) == 3000
        fake._failures.clear()  # Stripe is back; the next run is an hour later
        run(now=NOW + dt.timedelta(hours=1))
        payout.refresh_from_db()
        assert payout.status == "paid"
        assert fake.transfers_made == 1

    @pytest.mark.parametrize(
        "answer, word",
        [({"amount": 1}, "amount 1 instead of 3000"),
         ({"destination": "acct_test_someone_else"}, "destination 'acct_test_someone_else'"),
         ({"currency": "eur"}, "currency 'eur'")],
    )  # fmt: skip
    def test_an_answer_that_does_not_match_is_refused_and_held_for_review(
        self, fake, charity, answer, word
    ):
        ready_account(fake, charity)
        ledger(charity, OCT_WEEKS[0], [3000])
        fake.answer_with(**answer)

        result, _lines = run()

        payout = Payout.objects.get()
        assert payout.status == "pending" and payout.stripe_transfer_id == ""
        assert word in payout.failure_reason and "held for staff review" in payout.failure_reason
        assert payout.sent_at is None and payout.settled_at is None
        assert live_cents(charity) == 3000  # money may have moved: rows are not re-owed
        assert len(result.sends_with("held")) == 1
        run()  # a later run neither re-sends nor records it
        assert fake.transfers_made == 1
        assert Payout.objects.get().status == "pending"

    def test_demo_billing_leaves_stripe_payouts_pending(self, fake, charity, settings):
        ready_account(fake, charity)
        ledger(charity, OCT_WEEKS[0], [3000])
        settings.STRIPE_SECRET_KEY = ""
        _result, lines = run()
        assert Payout.objects.get().status == "pending"
        assert "demo billing" in lines[-1]
        assert fake.transfers_made == 0


def test_send_payout_ignores_a_payout_already_paid(fake, charity):
    ready_account(fake, charity)
    ledger(charity, OCT_WEEKS[0], [3000])
    run()
    payout = Payout.objects.get()
    line = services.send_payout(payout.pk, now=NOW)
    assert line.outcome == "skipped"
    assert fake.transfers_made == 1
    assert Payout.objects.get().status == PayoutStatus.PAID

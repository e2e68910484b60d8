"""Fees end to end: payments with Stripe's fee go through the real engine, and the donor's
pages say what was paid, what the card processor kept and what the charities received;
the statement's receipt is for what the donor paid."""

import csv
import io

import pytest

from portfolio.services import distribute_funds
from reports.services import generate_reports
from subscriptions.models import Contribution
from tests.factories import ContributionFactory, SubscriptionFactory
from tests.portfolio.scenario import NOW, PAID, WEEK, charity

pytestmark = pytest.mark.django_db


@pytest.fixture
def settings_no_demo(settings):
    settings.DEMO_BILLING = False
    return settings


def stripe_payment(sub, amount, fee, invoice, **kw):
    return ContributionFactory(
        subscription=sub,
        amount_cents=amount,
        fee_cents=fee,
        net_cents=amount - fee,
        fee_source="stripe",
        stripe_balance_transaction_id=f"txn_{invoice}",
        stripe_invoice_id=invoice,
        **kw,
    )


@pytest.fixture
def given_week(alice, settings_no_demo):
    """Alice paid $10.00 (fee $0.59) and $25.00 (fee $1.03) in WEEK; both were given."""
    charity(name="Food Shelf A")
    charity(name="Food Shelf B", urgency=40)
    sub = SubscriptionFactory(user=alice, amount_cents=1000, stripe_subscription_id="sub_t_a")
    stripe_payment(sub, 1000, 59, "in_t_1", paid_at=PAID)
    stripe_payment(sub, 2500, 103, "in_t_2", paid_at=PAID)
    run = distribute_funds(WEEK, now=NOW)
    generate_reports(WEEK)
    return run, sub


def test_the_engine_gives_the_net_and_the_pages_show_paid_fees_and_given(
    client, alice, given_week
):
    run, _ = given_week
    assert run.distributed_cents == 3500 - 162  # the net, never the gross
    client.force_login(alice)
    html = client.get("/dashboard/").content.decode()
    assert "$35.00" in html and "paid in all" in html
    assert "$1.62 card processing fees" in html
    assert "$33.38" in html  # given to charities

    report = alice.reports.get(week_start=WEEK)
    assert report.total_distributed_cents == 3338
    page = client.get(f"/reports/{report.pk}/").content.decode()
    assert "You paid $35.00" in page
    assert "kept $1.62 in fees" in page and "charities received $33.38" in page


def test_the_history_csv_has_paid_and_fee_beside_what_each_charity_got(client, alice, given_week):
    _, sub = given_week
    client.force_login(alice)
    response = client.get("/dashboard/history.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows and all(r["subscription_id"] == str(sub.pk) for r in rows)
    assert {(r["payment_paid_cents"], r["payment_fee_cents"]) for r in rows} == {("3500", "162")}
    assert sum(int(r["amount_cents"]) for r in rows) == 3500 - 162


def test_the_statement_receipt_is_for_what_the_donor_paid(client, alice, given_week):
    client.force_login(alice)
    html = client.get(f"/dashboard/statement/{WEEK.year}/").content.decode()
    assert "Your contributions in 2026 total $35.00" in html
    assert "No goods or services were provided in exchange for these contributions." in html
    assert "$1.62, kept by the card processor" in html
    assert "$33.38 (paid less fees)" in html
    assert "Food Shelf A" in html and "Food Shelf B" in html


def test_a_payment_whose_fee_is_pending_is_neither_given_nor_held(client, alice, given_week):
    sub = given_week[1]
    pending = ContributionFactory(
        subscription=sub,
        amount_cents=700,
        fee_cents=None,
        net_cents=None,
        fee_source="",
        stripe_invoice_id="in_t_pending",
        paid_at=PAID,
    )
    rerun = distribute_funds(WEEK, now=NOW)
    pending.refresh_from_db()
    assert pending.distributed_week is None
    assert (rerun.distributed_cents, rerun.held_cents) == (3338, 0)  # nothing more taken
    client.force_login(alice)
    html = client.get("/dashboard/").content.decode()
    assert "$7.00 you paid is waiting for the card processor's fee" in html
    assert "is held" not in html


def test_demo_billing_says_there_is_no_fee(client, alice, settings):
    settings.DEMO_BILLING = True
    sub = SubscriptionFactory(user=alice, amount_cents=1200, stripe_subscription_id="demo_x")
    ContributionFactory(subscription=sub, amount_cents=1200, paid_at=PAID)  # fee 0, demo
    assert Contribution.objects.get().fee_source == "demo"
    client.force_login(alice)
    html = client.get("/dashboard/").content.decode()
    assert "demo billing has no card processor, so there is no fee" in html
    statement = client.get(f"/dashboard/statement/{WEEK.year}/").content.decode()
    assert "$0.00: demo billing has no card processor" in statement
    assert "Your contributions in 2026 total $12.00" in statement

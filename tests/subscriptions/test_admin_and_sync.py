"""Staff tools: the StripeEvent admin with its Reprocess action, and sync_stripe."""

import time
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command

from subscriptions.models import Contribution, StripeEvent, Subscription
from tests.factories import ContributionFactory, SubscriptionFactory, UserFactory
from tests.subscriptions.fake_stripe import invoice_object
from tests.subscriptions.helpers import make_event, post_event

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/subscriptions/stripeevent/"


@pytest.fixture
def billing_staff(db):
    """Staff who may look at events and reprocess them."""
    user = UserFactory(email="erin@example.org", is_staff=True, city="", state="", zip_code="")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="subscriptions",
            codename__in=["view_stripeevent", "change_stripeevent"],
        )
    )
    return user


@pytest.fixture
def viewer_staff(db):
    """Staff who may only look."""
    user = UserFactory(email="frank@example.org", is_staff=True, city="", state="", zip_code="")
    user.user_permissions.add(Permission.objects.get(codename="view_stripeevent"))
    return user


@pytest.fixture
def failed_event(client, alice, fake_stripe):
    """An invoice.paid for a subscription Stripe did not have yet."""
    invoice = invoice_object(subscription="sub_test_late", paid_at=int(time.time()))
    post_event(client, make_event("invoice.paid", invoice, id="evt_test_failed"))
    event = StripeEvent.objects.get()
    assert event.status == "failed"
    return event


def test_the_failed_filter_lists_only_failed_events(client, billing_staff, failed_event):
    StripeEvent.objects.create(
        stripe_event_id="evt_ok",
        type="invoice.paid",
        created=failed_event.created,
        payload={},
        status="processed",
    )
    client.force_login(billing_staff)
    response = client.get(CHANGELIST, {"status__exact": "failed"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "evt_test_failed" in body and "evt_ok" not in body


def test_an_event_page_is_read_only(client, billing_staff, failed_event):
    client.force_login(billing_staff)
    response = client.get(f"{CHANGELIST}{failed_event.pk}/change/")
    assert response.status_code == 200
    assert b"sub_test_late" in response.content
    assert b'name="_save"' not in response.content


def test_reprocess_applies_a_failed_event_once_its_cause_is_fixed(
    client, billing_staff, failed_event, fake_stripe, alice
):
    fake_stripe.add_subscription(id="sub_test_late", user_id=alice.pk)
    client.force_login(billing_staff)
    response = client.post(
        CHANGELIST, {"action": "reprocess", "_selected_action": [failed_event.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "1 processed" in response.content.decode()
    failed_event.refresh_from_db()
    assert (failed_event.status, failed_event.attempts) == ("processed", 2)
    assert Contribution.objects.count() == 1
    # A second Reprocess skips it: no second contribution.
    response = client.post(
        CHANGELIST, {"action": "reprocess", "_selected_action": [failed_event.pk]}, follow=True
    )
    assert "1 already done" in response.content.decode()
    assert Contribution.objects.count() == 1


def test_reprocess_reports_an_event_that_still_fails(client, billing_staff, failed_event):
    client.force_login(billing_staff)
    response = client.post(
        CHANGELIST, {"action": "reprocess", "_selected_action": [failed_event.pk]}, follow=True
    )
    assert "still fails" in response.content.decode()
    failed_event.refresh_from_db()
    assert (failed_event.status, failed_event.attempts) == ("failed", 2)


def test_staff_who_may_only_view_cannot_reprocess(client, viewer_staff, failed_event):
    client.force_login(viewer_staff)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert b'value="reprocess"' not in response.content
    client.post(CHANGELIST, {"action": "reprocess", "_selected_action": [failed_event.pk]})
    failed_event.refresh_from_db()
    assert failed_event.attempts == 1


# --- sync_stripe ----------------------------------------------------------------------


def run_sync(*args) -> str:
    out = StringIO()
    call_command("sync_stripe", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def drifted(alice, fake_stripe):
    """Stripe says: alice's first subscription is now $20 and paused, a second one the site
    never heard of exists, and two invoices were paid that the ledger lacks."""
    fake_stripe.add_subscription(
        id="sub_test_a",
        customer="cus_test_alice",
        amount_cents=2000,
        user_id=alice.pk,
        pause_collection={"behavior": "void"},
    )
    SubscriptionFactory(
        user=alice,
        stripe_subscription_id="sub_test_a",
        stripe_customer_id="cus_test_alice",
        amount_cents=1000,
    )
    fake_stripe.add_subscription(
        id="sub_test_b", customer="cus_test_alice", amount_cents=500, user_id=alice.pk
    )
    fake_stripe.add_invoice(
        id="in_test_1",
        subscription="sub_test_a",
        amount_paid=1000,
        paid_at=int(time.time()) - 7 * 86400,
    )
    fake_stripe.add_invoice(
        id="in_test_2", subscription="sub_test_b", amount_paid=500, paid_at=int(time.time())
    )
    fake_stripe.add_invoice(id="in_test_open", subscription="sub_test_a", status="open")
    return fake_stripe


def test_dry_run_prints_the_drifts_and_writes_nothing(drifted):
    output = run_sync("--dry-run")
    assert "would fix: subscription sub_test_a: status 'active' -> 'paused'" in output
    assert "amount_cents 1000 -> 2000" in output
    assert "would fix: subscription sub_test_b: missing locally" in output
    assert "would fix: invoice in_test_1" in output and "in_test_2" in output
    assert "in_test_open" not in output
    assert "Dry run: nothing was written." in output
    assert Subscription.objects.count() == 1
    assert Subscription.objects.get().amount_cents == 1000
    assert Contribution.objects.count() == 0


def test_sync_fixes_each_drift_and_a_second_run_finds_none(drifted, alice):
    output = run_sync()
    assert "fixed: subscription sub_test_a" in output
    assert "fixed 4 drifts" in output
    a = Subscription.objects.get(stripe_subscription_id="sub_test_a")
    assert (a.status, a.amount_cents) == ("paused", 2000)
    b = Subscription.objects.get(stripe_subscription_id="sub_test_b")
    assert (b.user, b.amount_cents, b.status) == (alice, 500, "active")
    assert sorted(Contribution.objects.values_list("stripe_invoice_id", "amount_cents")) == [
        ("in_test_1", 1000),
        ("in_test_2", 500),
    ]
    assert "fixed 0 drifts" in run_sync()


def test_sync_reports_what_it_cannot_reconcile_and_exits_non_zero(alice, fake_stripe):
    SubscriptionFactory(user=alice, stripe_subscription_id="sub_test_gone")
    ContributionFactory(
        stripe_invoice_id="in_test_changed",
        amount_cents=1000,
        subscription=SubscriptionFactory(user=alice, stripe_subscription_id="demo_x"),
    )
    fake_stripe.add_invoice(
        id="in_test_changed", subscription="demo_x", amount_paid=900, paid_at=int(time.time())
    )
    out = StringIO()
    with pytest.raises(CommandError, match="could not be reconciled"):
        call_command("sync_stripe", stdout=out)
    output = out.getvalue()
    assert "sub_test_gone: Stripe does not have it" in output
    assert "in_test_changed: recorded 1000 cents, Stripe says 900" in output
    assert Contribution.objects.get().amount_cents == 1000


def test_sync_refuses_to_run_in_demo_billing():
    with pytest.raises(CommandError, match="demo billing"):
        run_sync()


def test_sync_stops_with_one_line_when_stripe_refuses(fake_stripe):
    fake_stripe.fail_next(
        "GET",
        "/v1/subscriptions",
        status=401,
        message="Invalid API Key",
        error_type="invalid_request_error",
        code=None,
    )
    with pytest.raises(CommandError, match="Invalid API Key"):
        run_sync()


def test_the_contribution_list_shows_paid_fee_and_given_in_dollars(client):
    staff = UserFactory(email="gail@example.org", is_staff=True, is_superuser=True)
    read = ContributionFactory(amount_cents=1061, fee_cents=61, fee_source="stripe")
    waiting = ContributionFactory(amount_cents=2500, fee_cents=None, net_cents=None,
                                  fee_source="")  # fmt: skip
    client.force_login(staff)
    page = client.get("/admin/subscriptions/contribution/").content.decode()
    row = page.split(read.stripe_invoice_id, 1)[1].split("</tr>", 1)[0]
    for figure in ("$10.61", "$0.61", "$10.00"):
        assert figure in row
    pending = page.split(waiting.stripe_invoice_id, 1)[1].split("</tr>", 1)[0]
    assert "$25.00" in pending and "not read yet" in pending
    filtered = client.get("/admin/subscriptions/contribution/", {"fee_source__exact": ""})
    assert waiting.stripe_invoice_id in filtered.content.decode()
    assert read.stripe_invoice_id not in filtered.content.decode()

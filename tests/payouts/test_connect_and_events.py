"""Connect onboarding, account.updated and transfer.reversed, delivered as signed
webhooks through the real view."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from charities.models import CharityStatus
from payouts import connect, services
from payouts.models import Payout, PayoutAccount, PayoutSlice
from subscriptions.models import StripeEvent
from tests.factories import CharityFactory
from tests.payouts.conftest import NOW, OCT_WEEKS, PERIOD, ledger
from tests.subscriptions.helpers import make_event, post_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_payout(fake, charity):
    obj = fake.add_account(ready=True, charity_id=charity.pk)
    PayoutAccount.objects.create(charity=charity, stripe_account_id=obj["id"],
                                 details_submitted=True, payouts_enabled=True)  # fmt: skip
    ledger(charity, OCT_WEEKS[0], [3000])
    services.run_payouts(PERIOD, now=NOW)
    payout = Payout.objects.get()
    assert payout.status == "paid"
    return payout


def deliver(event):
    response = post_event(Client(enforce_csrf_checks=True), event)
    assert response.status_code == 200
    return StripeEvent.objects.get(stripe_event_id=event["id"])


class TestTransferReversed:
    def test_a_full_reversal_makes_the_rows_owed_again(self, fake, paid_payout):
        transfer = fake.reverse(paid_payout.stripe_transfer_id)
        event = deliver(make_event("transfer.reversed", transfer))

        assert event.status == "processed"
        paid_payout.refresh_from_db()
        assert paid_payout.status == "reversed"
        assert "reversed transfer" in paid_payout.failure_reason
        assert paid_payout.settled_at == event.created
        assert not PayoutSlice.objects.filter(live=True).exists()
        # Owed again: the next run pays them by a new payout and a new transfer.
        services.run_payouts(PERIOD, now=NOW + dt.timedelta(days=1))
        assert Payout.objects.filter(status="paid").get().amount_cents == 3000
        assert fake.transfers_made == 2

    def test_a_partial_reversal_is_recorded_for_review_and_changes_no_status(
        self, fake, paid_payout
    ):
        transfer = fake.reverse(paid_payout.stripe_transfer_id, amount=1000)
        event = deliver(make_event("transfer.reversed", transfer))
        assert event.status == "processed"
        paid_payout.refresh_from_db()
        assert paid_payout.status == "paid"
        assert "reversed $10.00 of $30.00" in paid_payout.failure_reason
        assert PayoutSlice.objects.get().live

    def test_a_reversal_of_an_unknown_transfer_is_a_failed_event(self, fake, paid_payout):
        transfer = {**fake.reverse(paid_payout.stripe_transfer_id), "id": "tr_not_ours"}
        event = deliver(make_event("transfer.reversed", transfer))
        assert event.status == "failed"
        assert "unknown transfer tr_not_ours" in event.error
        paid_payout.refresh_from_db()
        assert paid_payout.status == "paid"

    def test_a_reversal_for_another_amount_is_refused(self, fake, paid_payout):
        transfer = {**fake.reverse(paid_payout.stripe_transfer_id), "amount": 999}
        event = deliver(make_event("transfer.reversed", transfer))
        assert event.status == "failed" and "999 cents" in event.error
        paid_payout.refresh_from_db()
        assert paid_payout.status == "paid"
        assert PayoutSlice.objects.get().live


class TestAccounts:
    def test_create_account_and_onboarding_link(self, fake, charity):
        url = connect.onboarding_link(charity)
        account = PayoutAccount.objects.get(charity=charity)
        assert url.startswith(f"https://connect.stripe.com/setup/e/{account.stripe_account_id}/")
        created = fake.calls("POST", "/v1/accounts")
        assert len(created) == 1
        params = created[0].params
        assert params["type"] == "express" and params["business_type"] == "non_profit"
        assert params["capabilities"] == {"transfers": {"requested": "true"}}
        assert params["metadata"] == {"charity_id": str(charity.pk)}
        assert params["email"] == "food@example.org"
        assert created[0].idempotency_key.startswith("hometown-connect-account-")
        link = fake.calls("POST", "/v1/account_links")[0].params
        onboard = reverse("admin:payouts_payoutaccount_onboard", args=[charity.pk])
        assert link["refresh_url"].endswith(onboard)
        assert link["return_url"].endswith(onboard + "?returned=1")
        assert not account.ready

        connect.onboarding_link(charity)  # a second link: the same account
        assert len(fake.calls("POST", "/v1/accounts")) == 1
        assert len(fake.calls("POST", "/v1/account_links")) == 2

    def test_only_an_approved_charity_gets_an_account(self, fake):
        pending = CharityFactory(verification_status=CharityStatus.PENDING)
        with pytest.raises(Exception, match="not approved"):
            connect.onboarding_link(pending)
        assert not PayoutAccount.objects.exists()
        assert not fake.calls("POST", "/v1/accounts")

    def test_account_updated_keeps_readiness_current_and_ignores_older_events(self, fake, charity):
        connect.create_account(charity)
        account = PayoutAccount.objects.get()
        obj = fake.accounts[account.stripe_account_id]
        obj.update(details_submitted=True, payouts_enabled=True, charges_enabled=True)
        obj["requirements"] = {"currently_due": [], "disabled_reason": None}
        later = int(account.stripe_state_at.timestamp()) + 60
        assert deliver(make_event("account.updated", obj, created=later)).status == "processed"
        account.refresh_from_db()
        assert account.ready and account.requirements_due == []

        stale = {**obj, "payouts_enabled": False,
                 "requirements": {"currently_due": ["external_account"],
                                  "disabled_reason": "requirements.past_due"}}  # fmt: skip
        deliver(make_event("account.updated", stale, created=later - 30))
        account.refresh_from_db()
        assert account.ready  # the older event changed nothing

        deliver(make_event("account.updated", stale, created=later + 30))
        account.refresh_from_db()
        assert not account.ready
        assert account.requirements_due == ["external_account"]
        assert account.disabled_reason == "requirements.past_due"

    def test_account_updated_for_an_unknown_account_is_a_failed_event(self, fake):
        event = deliver(make_event("account.updated", fake.add_account()))
        assert event.status == "failed" and "unknown connected account" in event.error

    def test_account_updated_attaches_a_lost_account_to_its_charity(self, fake, charity):
        obj = fake.add_account(ready=True, charity_id=charity.pk)
        assert deliver(make_event("account.updated", obj)).status == "processed"
        assert PayoutAccount.objects.get(charity=charity).ready


class TestOnboardAdminView:
    def test_it_redirects_staff_to_stripe(self, fake, charity, treasurer_client):
        url = reverse("admin:payouts_payoutaccount_onboard", args=[charity.pk])
        response = treasurer_client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("https://connect.stripe.com/setup/e/acct_")

        fake.accounts[PayoutAccount.objects.get().stripe_account_id].update(
            details_submitted=True, payouts_enabled=True
        )
        response = treasurer_client.get(url + "?returned=1", follow=True)
        assert PayoutAccount.objects.get().ready
        assert "is ready for payouts" in response.content.decode()

    def test_demo_billing_answers_with_a_message_not_a_500(self, charity, treasurer_client):
        url = reverse("admin:payouts_payoutaccount_onboard", args=[charity.pk])
        response = treasurer_client.get(url, follow=True)
        assert response.status_code == 200
        assert "demo billing" in response.content.decode()
        assert not PayoutAccount.objects.exists()

    def test_a_charity_not_approved_gets_a_message(self, fake, treasurer_client):
        pending = CharityFactory(verification_status=CharityStatus.PENDING)
        url = reverse("admin:payouts_payoutaccount_onboard", args=[pending.pk])
        response = treasurer_client.get(url, follow=True)
        assert "is not approved" in response.content.decode()
        assert not PayoutAccount.objects.exists()

    def test_staff_without_payouts_permission_are_refused(self, charity, dave):
        client = Client()
        client.force_login(dave)
        url = reverse("admin:payouts_payoutaccount_onboard", args=[charity.pk])
        assert client.get(url).status_code == 403

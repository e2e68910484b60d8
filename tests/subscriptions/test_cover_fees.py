"""Covering the fees: subscribe and change amount, demo billing and Stripe, the metadata
read back from Stripe, and bank debit at Checkout."""

import pytest
from django.contrib.messages import get_messages

from subscriptions import fees
from subscriptions.models import Contribution, Subscription
from subscriptions.stripe_objects import apply_subscription, parse_subscription
from tests.factories import SubscriptionFactory
from tests.subscriptions.fake_stripe import subscription_object
from tests.subscriptions.helpers import make_event, post_event

pytestmark = pytest.mark.django_db

CHECKBOX = "Add the processing fee so charities receive the full amount"


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def reload(sub) -> Subscription:
    return Subscription.objects.get(pk=sub.pk)


def confirm(client, url, amount, charge, **extra):
    return client.post(
        url, {"amount": amount, "covers_fees": "on", "confirmed_charge": str(charge), **extra}
    )


# --- subscribe: the form and the confirm step -----------------------------------------


def test_the_subscribe_page_offers_to_cover_the_fees(alice_client):
    page = alice_client.get("/subscribe/").content.decode()
    assert 'name="covers_fees"' in page
    assert CHECKBOX in page
    assert "2.9% + 30c" in page
    assert "js/cover-fees.js" in page


def test_covering_the_fees_shows_the_breakdown_before_anything_happens(alice_client):
    response = alice_client.post("/subscribe/", {"amount": "10", "covers_fees": "on"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "$10.00 + $0.61 fees = $10.61 a week" in page
    assert 'name="confirmed_charge" value="1061"' in page
    assert "no fee is taken" in page  # demo billing says so
    assert Subscription.objects.count() == 0


def test_demo_billing_subscribes_with_the_grossed_up_charge_once_confirmed(alice_client, alice):
    response = confirm(alice_client, "/subscribe/", "10", 1061)
    assert response.status_code == 302
    sub = Subscription.objects.get()
    assert (sub.user, sub.amount_cents, sub.covers_fees, sub.gift_cents) == (
        alice,
        1061,
        True,
        1000,
    )
    first = Contribution.objects.get()
    # Demo billing has no processor: the whole charge is recorded, with no fee.
    assert (first.amount_cents, first.fee_cents, first.net_cents) == (1061, 0, 1061)
    assert "$10.00 + $0.61 fees = $10.61 a week" in messages_of(response)[0]


def test_a_confirmation_for_another_charge_is_shown_again(alice_client, settings):
    # The rate changed (or the field was edited) since the donor saw the breakdown.
    settings.CARD_FEE_PERCENT = "3.5"
    response = confirm(alice_client, "/subscribe/", "10", 1061)
    assert response.status_code == 200
    assert "$10.00 + $0.67 fees = $10.67 a week" in response.content.decode()
    assert Subscription.objects.count() == 0


@pytest.mark.parametrize("confirmed", ["abc", "", "-1", "99999999999999999999"])
def test_a_tampered_confirmation_only_shows_the_breakdown(alice_client, confirmed):
    response = alice_client.post(
        "/subscribe/", {"amount": "10", "covers_fees": "on", "confirmed_charge": confirmed}
    )
    assert response.status_code == 200
    assert "$10.61 a week" in response.content.decode()
    assert Subscription.objects.count() == 0


def test_without_covering_the_amount_is_the_charge_and_needs_no_confirmation(alice_client):
    alice_client.post("/subscribe/", {"amount": "10"})
    sub = Subscription.objects.get()
    assert (sub.amount_cents, sub.covers_fees, sub.gift_cents) == (1000, False, None)


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("5000", "would be a charge of $5,149.64 a week, over the $5,000.00 limit"),
        ("4854.71", "choose at most $4,854.70"),
        ("0.99", "at least $1.00"),
        ("", "This field is required"),
        ("ten", "like 10 or 12.50"),
    ],
)
def test_a_gift_whose_charge_would_not_fit_is_refused(alice_client, amount, error):
    response = alice_client.post(
        "/subscribe/", {"amount": amount, "covers_fees": "on", "confirmed_charge": "514964"}
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert Subscription.objects.count() == Contribution.objects.count() == 0


def test_the_largest_gift_that_fits_is_accepted(alice_client):
    most = fees.largest_gift(500_000)
    assert most == 485_470
    confirm(alice_client, "/subscribe/", "4854.70", fees.gross_up(most))
    sub = Subscription.objects.get()
    assert (sub.gift_cents, sub.amount_cents) == (most, 500_000)


def test_with_no_fee_to_cover_covering_is_refused(alice_client, settings):
    settings.CARD_FEE_PERCENT = "0"
    settings.CARD_FEE_FIXED_CENTS = 0
    response = confirm(alice_client, "/subscribe/", "10", 1000)
    assert "no fee to cover" in response.content.decode()
    assert Subscription.objects.count() == 0


# --- subscribe with Stripe ------------------------------------------------------------


def test_checkout_charges_the_gross_up_and_carries_the_gift_in_metadata(
    alice_client, alice, fake_stripe
):
    response = confirm(alice_client, "/subscribe/", "10", 1061)
    assert response["Location"].startswith("https://checkout.stripe.com/")
    (call,) = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert call.params["line_items"][0]["price_data"]["unit_amount"] == "1061"
    assert call.params["subscription_data"]["metadata"] == {
        "user_id": str(alice.pk),
        "covers_fees": "true",
        "gift_cents": "1000",
    }
    assert call.params["payment_method_types"] == ["card"]
    assert Subscription.objects.count() == 0


def test_the_confirm_step_reaches_stripe_only_once_confirmed(alice_client, fake_stripe):
    alice_client.post("/subscribe/", {"amount": "10", "covers_fees": "on"})
    assert fake_stripe.requests == []


def test_bank_debit_is_offered_when_the_setting_is_on(alice_client, fake_stripe, settings):
    settings.STRIPE_OFFER_BANK_DEBIT = True
    page = alice_client.get("/subscribe/").content.decode()
    assert "Bank debit costs less (0.8% capped at $5.00, against 2.9% + 30c for a card)" in page
    alice_client.post("/subscribe/", {"amount": "5"})
    (call,) = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert call.params["payment_method_types"] == ["card", "us_bank_account"]


def test_bank_debit_is_not_mentioned_when_the_setting_is_off(alice_client, fake_stripe):
    assert "bank account" not in alice_client.get("/subscribe/").content.decode()


def test_the_webhook_records_the_fee_terms_from_the_subscription(client, alice, fake_stripe):
    remote = fake_stripe.add_subscription(
        id="sub_test_cover", customer="cus_test_alice", amount_cents=1061, user_id=alice.pk
    )
    remote["metadata"].update({"covers_fees": "true", "gift_cents": "1000"})
    response = post_event(client, make_event("customer.subscription.created", remote))
    assert response.status_code == 200, response.content
    sub = Subscription.objects.get()
    assert (sub.amount_cents, sub.covers_fees, sub.gift_cents) == (1061, True, 1000)


# --- the metadata rule ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "terms"),
    [
        ({"covers_fees": "true", "gift_cents": "1000"}, (True, 1000)),
        ({"covers_fees": "false", "gift_cents": ""}, (False, None)),
        ({"covers_fees": "false", "gift_cents": "1000"}, (False, None)),
        ({}, (False, None)),
        # Unusable: ignored, recorded as not covering (the charge is still right).
        ({"covers_fees": "true"}, (False, None)),
        ({"covers_fees": "true", "gift_cents": "1061"}, (False, None)),  # not below the charge
        ({"covers_fees": "true", "gift_cents": "99"}, (False, None)),  # below the minimum
        ({"covers_fees": "true", "gift_cents": "10.00"}, (False, None)),
        ({"covers_fees": "true", "gift_cents": "-5"}, (False, None)),
        (
            {"covers_fees": "true", "gift_cents": "\uff11\uff10\uff10\uff10"},
            (False, None),
        ),  # not ASCII digits
        ({"covers_fees": "yes", "gift_cents": "1000"}, (False, None)),
    ],
)
def test_fee_metadata_is_used_only_when_it_fits_the_charge(metadata, terms):
    obj = subscription_object(amount_cents=1061, user_id=1)
    obj["metadata"].update(metadata)
    state = parse_subscription(obj)
    assert (state.amount_cents, state.covers_fees, state.gift_cents) == (1061, *terms)


def test_bad_metadata_never_blocks_the_status_stripe_reports(alice):
    sub = SubscriptionFactory(
        user=alice, stripe_subscription_id="sub_test_x", amount_cents=1061, covers_fees=True,
        gift_cents=1000, stripe_customer_id="cus_test_alice",
    )  # fmt: skip
    obj = subscription_object(id="sub_test_x", amount_cents=1061, status="canceled")
    obj["metadata"].update({"covers_fees": "true", "gift_cents": "garbage"})
    from django.utils import timezone

    apply_subscription(obj, at=timezone.now(), current=True)
    sub = reload(sub)
    assert (sub.status, sub.covers_fees, sub.gift_cents, sub.amount_cents) == (
        "cancelled",
        False,
        None,
        1061,
    )


# --- change amount --------------------------------------------------------------------


@pytest.fixture
def demo_sub(alice):
    return SubscriptionFactory(user=alice, stripe_subscription_id="demo_abc", stripe_status="")


@pytest.fixture
def stripe_sub(alice, fake_stripe):
    remote = fake_stripe.add_subscription(
        id="sub_test_alice", customer="cus_test_alice", amount_cents=1000, user_id=alice.pk
    )
    return SubscriptionFactory(
        user=alice, stripe_subscription_id=remote["id"], stripe_customer_id="cus_test_alice"
    )


def test_changing_to_cover_the_fees_asks_for_confirmation_first(alice_client, demo_sub):
    url = f"/subscriptions/{demo_sub.pk}/amount/"
    response = alice_client.post(url, {"amount": "20", "covers_fees": "on", "next": "/subscribe/"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "$20.00 + $0.91 fees = $20.91 a week" in page
    assert 'name="next" value="/subscribe/"' in page
    assert reload(demo_sub).amount_cents == 1000


def test_demo_change_amount_turns_covering_on_and_off(alice_client, demo_sub):
    url = f"/subscriptions/{demo_sub.pk}/amount/"
    response = confirm(alice_client, url, "20", 2091)
    assert response["Location"] == "/dashboard/"
    sub = reload(demo_sub)
    assert (sub.amount_cents, sub.covers_fees, sub.gift_cents) == (2091, True, 2000)
    assert "$20.00 + $0.91 fees = $20.91 a week" in messages_of(response)[0]
    # Off again at the same charge: the amount typed is now what is charged.
    alice_client.post(url, {"amount": "20.91"})
    sub = reload(demo_sub)
    assert (sub.amount_cents, sub.covers_fees, sub.gift_cents) == (2091, False, None)


def test_a_change_amount_that_would_not_fit_changes_nothing(alice_client, demo_sub):
    url = f"/subscriptions/{demo_sub.pk}/amount/"
    response = confirm(alice_client, url, "5000", 514964)
    assert response["Location"] == "/dashboard/"
    assert "over the $5,000.00 limit" in messages_of(response)[0]
    assert reload(demo_sub).amount_cents == 1000


def test_stripe_change_amount_covering_sends_the_gross_up_and_metadata(
    alice_client, stripe_sub, fake_stripe
):
    confirm(alice_client, f"/subscriptions/{stripe_sub.pk}/amount/", "20", 2091)
    (call,) = fake_stripe.calls("POST", "/v1/subscriptions/")
    assert call.params["items"][0]["price_data"]["unit_amount"] == "2091"
    assert call.params["metadata"] == {"covers_fees": "true", "gift_cents": "2000"}
    assert call.idempotency_key
    sub = reload(stripe_sub)
    assert (sub.amount_cents, sub.covers_fees, sub.gift_cents) == (2091, True, 2000)
    # Stripe kept the donor's id beside the fee terms.
    assert fake_stripe.subscriptions["sub_test_alice"]["metadata"]["user_id"] == str(
        stripe_sub.user.pk
    )


def test_stripe_change_amount_turning_covering_off(alice_client, stripe_sub, fake_stripe):
    url = f"/subscriptions/{stripe_sub.pk}/amount/"
    confirm(alice_client, url, "20", 2091)
    alice_client.post(url, {"amount": "15"})
    last = fake_stripe.calls("POST", "/v1/subscriptions/")[-1]
    assert last.params["items"][0]["price_data"]["unit_amount"] == "1500"
    assert last.params["metadata"] == {"covers_fees": "false", "gift_cents": ""}
    sub = reload(stripe_sub)
    assert (sub.amount_cents, sub.covers_fees, sub.gift_cents) == (1500, False, None)


def test_a_stripe_refusal_leaves_the_fee_terms_as_they_were(alice_client, stripe_sub, fake_stripe):
    fake_stripe.fail_next("POST", "/v1/subscriptions/", status=400, message="No.")
    response = confirm(alice_client, f"/subscriptions/{stripe_sub.pk}/amount/", "20", 2091)
    # A 400's message is for developers: the donor reads a plain refusal (test_leaks.py).
    assert "Stripe did not accept the request" in messages_of(response)[0]
    sub = reload(stripe_sub)
    assert (sub.amount_cents, sub.covers_fees, sub.gift_cents) == (1000, False, None)


# --- where the weekly amount is shown --------------------------------------------------


def test_the_dashboard_and_subscribe_page_say_the_donor_covers_the_fees(alice_client, alice):
    SubscriptionFactory(user=alice, amount_cents=1061, covers_fees=True, gift_cents=1000)
    line = "You give $10.00 a week + $0.61 fees (you cover the fees)"
    dashboard = alice_client.get("/dashboard/").content.decode()
    assert line in dashboard
    assert 'name="covers_fees" type="checkbox" checked' in dashboard
    assert line in alice_client.get("/subscribe/").content.decode()


@pytest.mark.parametrize(
    ("charge", "covers", "gift", "shown"),
    [(1061, True, 1000, 'value="10.00"'), (1250, False, None, 'value="12.50"')],
)
def test_the_change_amount_box_starts_at_what_the_donor_chose(
    alice_client, alice, charge, covers, gift, shown
):
    """Covering, the box holds the gift (what the donor typed), not the grossed-up
    charge: confirming it unchanged keeps the charge as it is."""
    sub = SubscriptionFactory(user=alice, amount_cents=charge, covers_fees=covers,
                              gift_cents=gift)  # fmt: skip
    page = alice_client.get("/dashboard/").content.decode()
    box = page.split(f'id="amount-{sub.pk}"', 1)[1].split(">", 1)[0]
    assert shown in box

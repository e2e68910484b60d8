"""Generated webhook deliveries through the real view (Django's test client, full
middleware, real signature checks): never a 500 and never a partial write.

What each delivery may write is stated per test: a refused delivery (400/413) writes
nothing; a validly signed, well-formed event writes exactly one StripeEvent, and a
Contribution only when the invoice really is a positive payment in dollars for a donor
the site knows (or Stripe confirms). Examples per test are in the `examples(...)` calls
(1,150 deliveries in CI, plus a redelivery of every well-formed event; ten times as many
with HYPOTHESIS_PROFILE=thorough).
"""

import hashlib
import hmac
import itertools
import json
import time

import pytest
from hypothesis import assume, given
from hypothesis import event as note_outcome
from hypothesis import strategies as st

from subscriptions.models import Contribution, StripeEvent, Subscription
from subscriptions.webhooks import MAX_BODY_BYTES, TOLERANCE_SECONDS
from tests.factories import SubscriptionFactory
from tests.subscriptions.fake_stripe import invoice_object, subscription_object
from tests.subscriptions.helpers import WEBHOOK_SECRET, make_event, post_raw, signature
from tests.trust.budget import examples

pytestmark = pytest.mark.django_db

_ids = itertools.count(1)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# Values that have broken real systems: empty, blank, NUL, bool-as-int, int limits.
nasty = st.sampled_from(
    [0, -1, -100, 1, 2**31 - 1, 2**31, 2**53 + 1, 2**63, -(2**63) - 1, 10**30, True, False,
     None, "", " ", "\x00", "\u202e", "usd", "USD", "1000", [], {}, 1.5, -0.0]
)  # fmt: skip
any_value = st.one_of(nasty, json_values)


def hmac_header(body: bytes, *, secret: str = WEBHOOK_SECRET, ts: int | None = None) -> str:
    """Stripe's scheme over raw bytes (the SDK's helper only signs text)."""
    ts = int(time.time()) if ts is None else ts
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def post_bytes(client, body: bytes, header):
    return post_raw(client, body, header)


def assert_refused(response, before, after, *, statuses=(400,)):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert after == before, "a refused delivery wrote rows"


@pytest.fixture
def known(alice, fake_stripe):
    """Alice pays through a subscription the site and Stripe both know."""
    sub = SubscriptionFactory(
        user=alice, stripe_subscription_id="sub_test_alice", stripe_customer_id="cus_test_alice"
    )
    fake_stripe.add_subscription(id=sub.stripe_subscription_id, user_id=alice.pk)
    return sub


def paid_invoice_event(**invoice_fields) -> dict:
    invoice = invoice_object(
        subscription="sub_test_alice", amount_paid=1000, paid_at=int(time.time()) - 60
    )
    invoice.update(invoice_fields)
    return make_event("invoice.paid", invoice, id=f"evt_fuzz_{next(_ids):07d}")


# --- refused at the door: 400 or 413, nothing written ----------------------------------

signature_headers = st.one_of(
    st.none(),
    st.text(max_size=200),
    st.builds(
        lambda t, sigs: ",".join([f"t={t}", *(f"v1={s}" for s in sigs)]),
        st.one_of(st.integers(min_value=-(2**40), max_value=2**40).map(str), st.text(max_size=12)),
        st.lists(st.text(alphabet="0123456789abcdef", min_size=0, max_size=64), max_size=3),
    ),
)


@examples(200)
@given(body=st.binary(max_size=2000), header=signature_headers)
def test_unsigned_or_garbage_deliveries_are_refused(client, known, counts, body, header):
    before = counts()
    response = post_bytes(client, body, header)
    assert_refused(response, before, counts())


@examples(200)
@given(
    how=st.sampled_from(["other_secret", "stale", "future", "changed_body", "no_v1", "v0_only"]),
    age=st.integers(min_value=TOLERANCE_SECONDS + 5, max_value=10**9),
    secret=st.text(min_size=1, max_size=40).filter(lambda s: s != WEBHOOK_SECRET),
    change=st.text(min_size=1, max_size=20),
)
def test_a_signature_that_does_not_vouch_for_this_body_now_is_refused(
    client, known, counts, how, age, secret, change
):
    body = json.dumps(paid_invoice_event()).encode()
    now = int(time.time())
    if how == "other_secret":
        header = hmac_header(body, secret=secret)
    elif how == "stale":
        header = hmac_header(body, ts=now - age)
    elif how == "future":
        header = hmac_header(body, ts=now + age)
    elif how == "changed_body":
        header = hmac_header(body)
        body = body.replace(b'"amount_paid": 1000', b'"amount_paid": 1000' + change.encode())
        assume(change.strip())
    elif how == "no_v1":
        header = f"t={now}"
    else:
        header = hmac_header(body).replace("v1=", "v0=")
    before = counts()
    assert_refused(post_bytes(client, body, header), before, counts())


@examples(100)
@given(data=st.data(), sign_what=st.sampled_from(["full", "truncated"]))
def test_a_truncated_body_is_refused(client, known, counts, data, sign_what):
    body = json.dumps(paid_invoice_event()).encode()
    cut = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    short = body[:cut]
    header = hmac_header(body if sign_what == "full" else short)
    before = counts()
    assert_refused(post_bytes(client, short, header), before, counts())


@examples(100)
@given(
    data=st.data(),
    junk=st.sampled_from([b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80", b"\xf8"]),
)
def test_a_validly_signed_body_that_is_not_utf8_is_refused(client, known, counts, data, junk):
    body = json.dumps(paid_invoice_event()).encode()
    at = data.draw(st.integers(min_value=0, max_value=len(body)))
    body = body[:at] + junk + body[at:]
    before = counts()
    assert_refused(post_bytes(client, body, hmac_header(body)), before, counts())


envelope_keys = st.sampled_from(["id", "type", "created", "livemode", "data", "data.object"])


def _is_valid_envelope(event) -> bool:
    from subscriptions.webhooks import WebhookRejected, check_envelope

    try:
        check_envelope(event)
    except WebhookRejected:
        return False
    return True


@examples(200)
@given(
    shape=st.sampled_from(["replace", "delete", "not_an_object"]),
    key=envelope_keys,
    value=any_value,
)
def test_a_signed_envelope_of_the_wrong_shape_is_refused(client, known, counts, shape, key, value):
    event = paid_invoice_event()
    if shape == "not_an_object":
        event = value if not isinstance(value, dict) else [value]
    else:
        target, _, leaf = key.rpartition(".")
        holder = event[target] if target else event
        if shape == "delete":
            del holder[leaf or key]
        else:
            holder[leaf or key] = value
    assume(not _is_valid_envelope(event))
    body = json.dumps(event).encode()  # NaN and Infinity included: Python's json reads them
    before = counts()
    assert_refused(post_bytes(client, body, hmac_header(body)), before, counts())


@examples(30)
@given(
    extra=st.integers(min_value=1, max_value=3 * MAX_BODY_BYTES),
    signed=st.booleans(),
    filler=st.sampled_from([b" ", b"x", b"\xff", b"{"]),
)
def test_a_huge_body_is_refused_before_it_is_read(client, known, counts, extra, signed, filler):
    body = json.dumps(paid_invoice_event()).encode()
    body = body + filler * (MAX_BODY_BYTES - len(body) + extra)
    header = hmac_header(body) if signed else "t=1,v1=00"
    before = counts()
    assert_refused(post_bytes(client, body, header), before, counts(), statuses=(413,))


# --- verified events with impossible contents: stored once, never half-applied ---------

invoice_paths = st.sampled_from(
    [
        "id", "customer", "currency", "amount_paid", "status_transitions",
        "status_transitions.paid_at", "parent", "parent.subscription_details",
        "parent.subscription_details.subscription", "subscription",
    ]
)  # fmt: skip
amounts = st.one_of(
    # Half plausible, so the path that may write is exercised as often as the refusals.
    st.integers(min_value=1, max_value=500_000),
    st.sampled_from([0, -1, -1000, 1, 99, 100, 2**31 - 1, 2**31, 2**63, True, None, "1000"]),
    st.integers(min_value=-(10**12), max_value=10**12),
)
subscription_refs = st.sampled_from(
    ["sub_test_alice"] * 3 + ["sub_unknown_to_everyone", "sub_known_to_stripe_only", "", " "]
)


def _set_path(obj: dict, path: str, value, delete: bool) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        child = obj.get(part)
        if not isinstance(child, dict):
            child = obj[part] = {}
        obj = child
    if delete:
        obj.pop(leaf, None)
    else:
        obj[leaf] = value


def _snapshot_subscriptions() -> list:
    return list(
        Subscription.objects.order_by("pk").values_list(
            "pk", "user_id", "amount_cents", "status", "stripe_status", "stripe_customer_id"
        )
    )


def _is_positive_usd_payment(invoice) -> bool:
    amount = invoice.get("amount_paid")
    return (
        isinstance(amount, int)
        and not isinstance(amount, bool)
        and amount > 0
        and invoice.get("currency") == "usd"
    )


@examples(200)
@given(
    amount=amounts,
    currency=st.sampled_from(["usd"] * 5 + ["USD", "eur", "", None, 840]),
    sub_ref=subscription_refs,
    mutations=st.one_of(
        st.just([]), st.lists(st.tuples(invoice_paths, any_value, st.booleans()), max_size=3)
    ),
)
def test_a_signed_invoice_paid_writes_a_contribution_only_for_a_real_positive_payment(
    client, known, fake_stripe, alice, counts, amount, currency, sub_ref, mutations
):
    if "sub_known_to_stripe_only" not in fake_stripe.subscriptions:
        fake_stripe.add_subscription(
            id="sub_known_to_stripe_only", customer="cus_test_alice_2", user_id=alice.pk
        )
    event = paid_invoice_event(amount_paid=amount, currency=currency)
    invoice = event["data"]["object"]
    invoice["parent"]["subscription_details"]["subscription"] = sub_ref
    for path, value, delete in mutations:
        _set_path(invoice, path, value, delete)
    body = json.dumps(event)
    header = signature(body)
    before, subs_before = counts(), _snapshot_subscriptions()
    existing = (
        Contribution.objects.filter(stripe_invoice_id=invoice["id"].strip()).exists()
        if isinstance(invoice.get("id"), str) and "\x00" not in invoice["id"]
        else False  # PostgreSQL text cannot hold NUL: such an event is refused whole
    )

    response = post_raw(client, body, header)

    after = counts()
    assert response.status_code in (200, 400), (response.status_code, response.content[:300])
    if response.status_code == 400:  # only a payload PostgreSQL cannot store (NUL, NaN)
        assert after == before
        return
    stored = StripeEvent.objects.get(stripe_event_id=event["id"])
    note_outcome(f"invoice.paid {stored.status}")  # --hypothesis-show-statistics shows the mix
    assert after["events"] == before["events"] + 1
    if stored.status == "processed":
        assert _is_positive_usd_payment(invoice), "a non-payment became money"
        row = Contribution.objects.get(stripe_invoice_id=invoice["id"].strip())
        assert row.amount_cents == invoice["amount_paid"]
        assert after["contributions"] == before["contributions"] + (0 if existing else 1)
        assert after["subscriptions"] - before["subscriptions"] in (0, 1)
    else:
        assert stored.status == "failed" and stored.error
        assert response.json()["result"] == "invalid", "an impossible event asked for retries"
        assert after["contributions"] == before["contributions"]
        assert _snapshot_subscriptions() == subs_before

    # Stripe redelivers: the same delivery again changes nothing.
    again = counts()
    response = post_raw(client, body, header)
    assert response.status_code == 200
    assert counts() == again


event_types = st.one_of(
    st.sampled_from(
        [
            "checkout.session.completed",
            "customer.subscription.created",
            "customer.subscription.updated",
            "customer.subscription.deleted",
            "customer.subscription.paused",
            "customer.subscription.resumed",
            "invoice.payment_failed",
        ]
    ),
    st.text(min_size=1, max_size=40).filter(str.strip),
)
subscription_paths = st.sampled_from(
    [
        "id", "customer", "status", "pause_collection", "metadata", "metadata.user_id",
        "items", "items.data", "created", "currency", "mode", "client_reference_id",
        "subscription", "amount_due", "next_payment_attempt", "last_finalization_error",
    ]
)  # fmt: skip


@examples(120)
@given(
    type_=st.one_of(
        st.sampled_from(["customer.subscription.created", "customer.subscription.updated"]),
        event_types,
    ),
    base=st.sampled_from(["subscription", "random"]),
    random_object=st.dictionaries(st.text(max_size=10), any_value, max_size=6),
    unit_amount=amounts,
    status=st.sampled_from(["active"] * 4 + ["paused", "canceled", "past_due", "bogus", "", None]),
    user_ref=st.one_of(
        st.just("ALICE"),  # her id, filled in below: a subscription the site may record
        st.none(),
        st.integers(min_value=-5, max_value=10**6).map(str),
        any_value,
    ),
    mutations=st.one_of(
        st.just([]),
        st.lists(st.tuples(subscription_paths, any_value, st.booleans()), max_size=3),
    ),
)
def test_other_signed_events_never_half_apply(
    client,
    known,
    alice,
    counts,
    type_,
    base,
    random_object,
    unit_amount,
    status,
    user_ref,
    mutations,
):
    if base == "subscription":
        obj = subscription_object(
            id=f"sub_fuzz_{next(_ids):07d}", amount_cents=1000, status="active"
        )
        obj["items"]["data"][0]["price"]["unit_amount"] = unit_amount
        obj["status"] = status
        obj["metadata"] = {"user_id": str(alice.pk) if user_ref == "ALICE" else user_ref}
        for path, value, delete in mutations:
            _set_path(obj, path, value, delete)
    else:
        obj = random_object
    event = make_event(type_, obj, id=f"evt_fuzz_{next(_ids):07d}")
    body = json.dumps(event)
    before, subs_before = counts(), _snapshot_subscriptions()

    response = post_raw(client, body, signature(body))

    after = counts()
    assert response.status_code in (200, 400), (response.status_code, response.content[:300])
    assert after["contributions"] == before["contributions"], "only invoice.paid is money"
    if response.status_code == 400:
        assert after == before
        return
    stored = StripeEvent.objects.get(stripe_event_id=event["id"])
    note_outcome(f"{base} {stored.status}")
    assert after["events"] == before["events"] + 1
    assert stored.status in ("processed", "failed", "ignored")
    if stored.status != "processed":
        assert _snapshot_subscriptions() == subs_before
    else:
        assert after["subscriptions"] - before["subscriptions"] in (0, 1)
        for sub in Subscription.objects.all():
            assert 100 <= sub.amount_cents <= 500_000


def test_an_invoice_larger_than_the_ledger_can_hold_is_a_failed_event_not_a_500(
    client, known, counts
):
    """Found by the property above: 2**31 cents used to reach the database and answer 500."""
    event = paid_invoice_event(amount_paid=2**31)
    before = counts()
    response = post_raw(client, json.dumps(event), signature(json.dumps(event)))
    assert response.status_code == 200
    assert response.json()["result"] == "invalid"
    assert counts() == {**before, "events": before["events"] + 1}

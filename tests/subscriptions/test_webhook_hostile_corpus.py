"""2,100 signed, structurally hostile webhook bodies per run (a fixed, seeded corpus; set
HOSTILE_CORPUS_SEED to hunt with other inputs) through the real view: never a 5xx, and
never a row outside StripeEvent written.

Each body starts from a delivery that does write (invoice.paid for a known subscription,
customer.subscription.created for a donor, checkout.session.completed; the control at
the top proves each one writes) and gets one breaking change (a wrong type, a missing
field, NUL, a lone surrogate, a number as a string, a float, a huge int, deep nesting, a
future date, another customer, ...) plus up to three harmless ones (extra fields of any
type, unicode, padding to near the 256 KB cap), so "nothing written" is a real claim.
One test with a loop, not 2,100 tests: the database setup is paid once.
"""

import copy
import json
import os
import random
import time

import pytest
from django.apps import apps

from subscriptions.models import Contribution, StripeEvent, Subscription
from subscriptions.stripe_objects import is_stripe_id
from subscriptions.webhooks import MAX_BODY_BYTES
from tests.factories import SubscriptionFactory
from tests.subscriptions.fake_stripe import invoice_object
from tests.subscriptions.helpers import make_event, post_raw, signature

pytestmark = pytest.mark.django_db

SEED = int(os.environ.get("HOSTILE_CORPUS_SEED", "14"))
PER_SHAPE = int(os.environ.get("HOSTILE_CORPUS_PER_SHAPE", "700"))  # x 3 shapes = 2,100

HUGE = 10**30
NUL, SURROGATE = "\u0000", "\ud800"
# Values wrong for any field they replace (ids, amounts, timestamps, objects alike).
WRONG = [None, True, False, 0, -1, 1.5, 1000.0, HUGE, -HUGE, 2**63, "", " ", "1000",
         "1e3", [], {}, [1, 2], {"id": 1}, f"x{NUL}y", f"x{SURROGATE}y", "\udfff",
         "é☃𝄞", "\u202e", "\t", "x" * 300]  # fmt: skip
# Harmless decorations: extra keys Stripe may add tomorrow.
EXTRA = [None, 0, -1, 1.5, 2**53 + 1, HUGE, "", "é☃𝄞 ok", "\u202e", ["a", 1, None],
         {"nested": {"k": [1, 2, {"x": "y"}]}}, True]  # fmt: skip


ID_LEAVES = ("id", "customer", "product", "subscription")


def deep(n: int) -> str:
    return "[" * n + "]" * n


class Corpus:
    def __init__(self, rng: random.Random, user_id: int):
        self.rng = rng
        self.user_id = user_id
        self.n = 0

    def fresh(self, prefix):
        self.n += 1
        return f"{prefix}_hostile_{self.n:06d}"

    # --- bases: each would write if delivered as it is ---
    def invoice_paid(self) -> dict:
        return make_event(
            "invoice.paid",
            invoice_object(
                id=self.fresh("in"),
                subscription="sub_test_alice",
                customer="cus_test_alice",
                amount_paid=1000,
                paid_at=int(time.time()) - 60,
            ),
            id=self.fresh("evt"),
        )

    def subscription_created(self) -> dict:
        return make_event(
            "customer.subscription.created",
            {
                "id": self.fresh("sub"),
                "object": "subscription",
                "customer": self.fresh("cus"),
                "status": "active",
                "pause_collection": None,
                "metadata": {"user_id": str(self.user_id)},
                "items": {
                    "data": [
                        {
                            "id": self.fresh("si"),
                            "quantity": 1,
                            "price": {
                                "currency": "usd",
                                "unit_amount": 1000,
                                "product": "prod_test_weekly",
                            },
                        }
                    ]
                },
            },
            id=self.fresh("evt"),
        )

    def checkout_completed(self) -> dict:
        return make_event(
            "checkout.session.completed",
            {
                "id": self.fresh("cs"),
                "object": "checkout.session",
                "mode": "subscription",
                "client_reference_id": str(self.user_id),
                "metadata": {"user_id": str(self.user_id)},
                # Expanded, so no call to Stripe is needed to create it.
                "subscription": self.subscription_created()["data"]["object"],
            },
            id=self.fresh("evt"),
        )

    # --- breaking changes, by shape (paths into data.object) ---
    BREAK = {
        "invoice.paid": [
            "id", "customer", "currency", "amount_paid", "status_transitions",
            "status_transitions.paid_at", "parent", "parent.subscription_details",
            "parent.subscription_details.subscription",
        ],
        "customer.subscription.created": [
            "id", "customer", "status", "items", "items.data", "items.data.0",
            "items.data.0.price", "items.data.0.price.unit_amount",
            "items.data.0.price.currency", "items.data.0.quantity", "items.data.0.id",
            "items.data.0.price.product", "metadata.user_id",
        ],
        "checkout.session.completed": [
            "subscription", "subscription.id", "subscription.items.data.0.price.unit_amount",
            "subscription.status", "subscription.customer", "USER",
        ],
    }  # fmt: skip
    # Values that are well-typed yet impossible, per field.
    IMPOSSIBLE = {
        "amount_paid": [999, 1001, 2_140_000_000, 500_001, 99, 0, -1000],
        "status_transitions.paid_at": [int(time.time()) + 2 * 86400, 8_700_000_000, 0, -5],
        "customer": ["cus_test_mallory"],
        "currency": ["eur", "USD", "usd "],
        "parent.subscription_details.subscription": ["sub_unknown_to_everyone"],
        "status": ["bogus", "ACTIVE"],
        "items.data.0.price.unit_amount": [0, 99, 500_001, HUGE],
        "items.data.0.quantity": [0, -1, 10**6],
        "metadata.user_id": ["0", "99999999", "²", "\u0661", "1.0", str(HUGE)],
        "mode": ["payment", "setup"],
    }

    def break_one(self, event: dict) -> str:
        obj = event["data"]["object"]
        rng = self.rng
        kind = rng.random()
        if kind < 0.2:  # at the envelope or the body as a whole
            how = rng.choice(["id", "type", "created", "livemode", "data", "object",
                              "deep", "nul", "surrogate", "inf", "bigint", "nan"])  # fmt: skip
            if how in ("id", "type", "created", "livemode"):
                # An event id of another spelling ("1e3") is just another event.
                wrong = [v for v in WRONG if not (how == "id" and is_stripe_id(v))]
                event[how] = copy.deepcopy(rng.choice([v for v in wrong if v is not False]))
                if how == "livemode":
                    event[how] = rng.choice(["false", 0, None, "true"])
            elif how == "data":
                event["data"] = rng.choice([None, [], "x", {"object": None}, {"object": []}])
            elif how == "object":
                del event["data"]["object"]
            elif how == "nul":
                self._put_anywhere(obj, f"a{NUL}b")
            elif how == "surrogate":
                self._put_anywhere(obj, f"a{SURROGATE}b")
            else:
                obj["__RAW__"] = how
            return f"envelope:{how}"
        type_ = event["type"]
        path = rng.choice(self.BREAK[type_])
        if path == "USER":
            # Both references must fail: a falsy client_reference_id falls back to metadata.
            refs = [r for r in ("abc", "-1", "0", "99999999", "²") if r != str(self.user_id)]
            obj["client_reference_id"] = rng.choice([*refs, None])
            obj["metadata"] = rng.choice([{}, None, {"user_id": rng.choice(["x", "", *refs])}])
            return "USER"
        impossible = (
            self.IMPOSSIBLE.get(path)
            if type_ == "invoice.paid"
            or (
                path not in ("customer", "currency")  # a new subscription's customer is any
            )
            else None
        )
        if rng.random() < 0.5 and impossible:
            value = rng.choice(impossible)
        elif rng.random() < 0.15 and not path.endswith("quantity"):  # quantity defaults to 1
            self._set(obj, path, None, delete=True)
            return f"delete:{path}"
        else:
            # An id field takes any Stripe-looking word ("1000" is one): only real junk.
            wrong = [v for v in WRONG if not (path.endswith(ID_LEAVES) and is_stripe_id(v))]
            value = copy.deepcopy(rng.choice(wrong))  # shared lists must not grow
            if path.endswith("paid_at") or path.endswith("unit_amount"):
                # Numbers as strings and floats: wrong however they look.
                value = rng.choice([value, str(1000), 1000.0, float(time.time())])
        if value in (str(self.user_id), self.user_id):  # would name the donor after all
            value = "no\u0001user"
        self._set(obj, path, value)
        return f"{path}={value!r}"[:80]

    def decorate(self, event: dict) -> None:
        rng = self.rng
        for _ in range(rng.randint(0, 3)):
            target = event if rng.random() < 0.2 else self._random_dict(event["data"])
            if target is None:
                continue
            target[f"x_{rng.randint(0, 999)}_é"] = copy.deepcopy(rng.choice(EXTRA))
        if rng.random() < 0.05:
            event["padding"] = "p" * rng.randint(MAX_BODY_BYTES - 4000, MAX_BODY_BYTES + 1000)

    def body(self, event: dict) -> str:
        text = json.dumps(event)
        data = event.get("data")
        raw = data.get("object") if isinstance(data, dict) else None
        how = raw.get("__RAW__") if isinstance(raw, dict) else None
        if how is not None:
            value = {
                "deep": deep(self.rng.choice([65, 100, 999, 2000, 20000])),
                "inf": "1e400",
                "bigint": "9" * 5000,
                "nan": "NaN",
            }[how]
            text = text.replace(f'"__RAW__": "{how}"', f'"__RAW__": {value}')
        return text

    # --- helpers ---
    def _random_dict(self, root):
        dicts, stack = [], [root]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                dicts.append(node)
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
        return self.rng.choice(dicts) if dicts else None

    def _put_anywhere(self, obj, text):
        target = self._random_dict(obj) or obj
        key = self.rng.choice(list(target) or ["k"])
        if self.rng.random() < 0.5:
            target[key] = text
        else:
            target[text] = "value"

    def _set(self, obj, path, value, delete=False):
        *parents, leaf = path.split(".")
        node = obj
        for part in parents:
            child = node[int(part)] if isinstance(node, list) else node.get(part)
            if not isinstance(child, dict | list):
                return
            node = child
        if isinstance(node, list):
            if delete:
                node.pop(int(leaf))
            else:
                node[int(leaf)] = value
        elif delete:
            node.pop(leaf, None)
        else:
            node[leaf] = value


def all_row_counts() -> dict:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model is not StripeEvent and not model._meta.proxy
    }


def fingerprint():
    """Cheap per delivery: the money rows and every subscription's state."""
    return (
        Contribution.objects.count(),
        list(
            Subscription.objects.order_by("pk").values_list(
                "pk", "user_id", "amount_cents", "status", "stripe_status",
                "stripe_customer_id", "covers_fees", "gift_cents", "stripe_state_at",
            )
        ),
    )  # fmt: skip


@pytest.fixture
def known(alice, stripe_keys):
    return SubscriptionFactory(
        user=alice,
        stripe_subscription_id="sub_test_alice",
        stripe_customer_id="cus_test_alice",
        amount_cents=1000,
    )


def deliver(client, body: str):
    return post_raw(client, body, signature(body))


def test_hostile_signed_bodies_never_answer_5xx_and_write_nothing_but_the_event(
    client, alice, known
):
    corpus = Corpus(random.Random(SEED), alice.pk)
    bases = [corpus.invoice_paid, corpus.subscription_created, corpus.checkout_completed]

    # Control: each base, untouched, does write (else "nothing written" proves nothing).
    for base in bases:
        before = fingerprint()
        response = deliver(client, json.dumps(base()))
        assert response.json().get("result") == "processed", response.content[:300]
        assert fingerprint() != before, f"the control {base.__name__} wrote nothing"

    start = time.monotonic()
    rows_before, before = all_row_counts(), fingerprint()
    statuses, problems = {}, []
    for i in range(PER_SHAPE * len(bases)):
        event = bases[i % len(bases)]()
        what = corpus.break_one(event)
        corpus.decorate(event)
        body = corpus.body(event)
        events_before = StripeEvent.objects.count()
        response = deliver(client, body)
        status = response.status_code
        statuses[status] = statuses.get(status, 0) + 1
        if status >= 500 or status not in (200, 400, 413):
            problems.append((what, status, response.content[:200]))
        elif status != 200 and StripeEvent.objects.count() != events_before:
            problems.append((what, status, "a refused delivery stored an event"))
        elif fingerprint() != before:
            problems.append((what, status, "wrote a row outside StripeEvent", body[:600]))
            before = fingerprint()
    assert not problems, problems[:10]
    assert all_row_counts() == rows_before
    assert sum(statuses.values()) >= 2000
    # Both answers are exercised: refused at the door, and stored as failed.
    assert statuses.get(400, 0) > 100 and statuses.get(200, 0) > 100, statuses
    print(f"{sum(statuses.values())} hostile deliveries {statuses} in "
          f"{time.monotonic() - start:.1f}s")  # fmt: skip

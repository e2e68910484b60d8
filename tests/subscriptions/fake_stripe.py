"""A small fake of Stripe's API for tests: http.server on 127.0.0.1, a random port, a
thread. The code under test reaches it through the real SDK (STRIPE_API_BASE points
here), so request encoding, idempotency keys and error mapping are exercised for real.

It implements only what the platform calls: checkout sessions, subscriptions
(retrieve, update incl. pause_collection and items[price_data], cancel, resume, list),
invoices (list), billing portal sessions and customers; and, for processing fees,
invoice payments (list by invoice), payment intents and charges (retrieve, with expand)
and balance transactions (retrieve): `add_invoice` gives a paid invoice its payment,
charge and balance transaction (see `add_payment`). Each request is recorded in
`requests`; a repeated idempotency key returns the first answer without acting again,
as Stripe does. `fail_next(method, path_prefix, ...)` makes the next matching request
fail with a Stripe-shaped error.
"""

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_test_{next(_ids):06d}"


def decode_form(pairs) -> dict:
    """Stripe's form encoding (a[b][0][c]=v) back into nested dicts and lists."""
    root: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def listify(value):
        if isinstance(value, dict):
            value = {k: listify(v) for k, v in value.items()}
            if value and all(k.isdigit() for k in value):
                return [value[k] for k in sorted(value, key=int)]
        return value

    return listify(root)


def subscription_object(
    *,
    id=None,
    customer="cus_test_alice",
    amount_cents=1000,
    status="active",
    user_id=None,
    pause_collection=None,
    product="prod_test_weekly",
    created=None,
    currency="usd",
    quantity=1,
    current_period_end=None,
) -> dict:
    """A subscription shaped like Stripe's (API version 2026-10-28)."""
    sub_id = id or new_id("sub")
    created = created or int(time.time())
    # Since API version 2025-03-31 the billing period is the item's (weekly from creation).
    period_end = current_period_end if current_period_end is not None else created + 7 * 24 * 3600
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "pause_collection": pause_collection,
        "metadata": {"user_id": str(user_id)} if user_id is not None else {},
        "created": created,
        "canceled_at": None,
        "currency": currency,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": new_id("si"),
                    "object": "subscription_item",
                    "quantity": quantity,
                    "current_period_start": period_end - 7 * 24 * 3600,
                    "current_period_end": period_end,
                    "price": {
                        "id": new_id("price"),
                        "object": "price",
                        "currency": currency,
                        "unit_amount": amount_cents,
                        "product": product,
                        "recurring": {"interval": "week", "interval_count": 1},
                    },
                }
            ],
        },
    }


def invoice_object(
    *,
    id=None,
    subscription="sub_test_x",
    customer="cus_test_alice",
    amount_paid=1000,
    paid_at=None,
    status="paid",
    currency="usd",
    legacy_subscription_field=False,
) -> dict:
    invoice = {
        "id": id or new_id("in"),
        "object": "invoice",
        # Stripe draws a weekly invoice up about an hour before it collects it.
        "created": (paid_at or int(time.time())) - 3600,
        "customer": customer,
        "status": status,
        "currency": currency,
        "amount_due": amount_paid,
        "amount_paid": amount_paid if status == "paid" else 0,
        "attempt_count": 1,
        "next_payment_attempt": None,
        "hosted_invoice_url": "https://invoice.stripe.com/i/test",
        "last_finalization_error": None,
        "status_transitions": {"paid_at": paid_at if status == "paid" else None},
        # One line: a week of the subscription at the price in force when it was drawn up.
        "lines": {
            "object": "list",
            "data": [
                {
                    "id": new_id("il"),
                    "object": "line_item",
                    "amount": amount_paid,
                    "currency": currency,
                },
            ],
            "has_more": False,
        },
    }
    if legacy_subscription_field:
        invoice["subscription"] = subscription
    else:
        invoice["parent"] = {
            "type": "subscription_details",
            "subscription_details": {"subscription": subscription, "metadata": {}},
        }
    return invoice


def stripe_fee(amount_cents: int) -> int:
    """Stripe's US card price, 2.9% + 30c, rounded to the cent (half up), as Stripe's
    balance transaction reports it."""
    return (amount_cents * 29 + 500) // 1000 + 30


@dataclass
class Recorded:
    method: str
    path: str
    params: dict
    idempotency_key: str | None


@dataclass
class FakeStripe:
    subscriptions: dict = field(default_factory=dict)
    invoices: dict = field(default_factory=dict)
    sessions: dict = field(default_factory=dict)
    customers: dict = field(default_factory=dict)
    # processing fees (add_payment)
    invoice_payments: dict = field(default_factory=dict)
    payment_intents: dict = field(default_factory=dict)
    charges: dict = field(default_factory=dict)
    balance_transactions: dict = field(default_factory=dict)
    requests: list = field(default_factory=list)
    _failures: list = field(default_factory=list)
    _idempotent: dict = field(default_factory=dict)

    def __post_init__(self):
        self.lock = threading.Lock()
        self.server = None

    # --- lifecycle ---
    def start(self) -> "FakeStripe":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _serve(self):
                fake._handle(self)

            do_GET = do_POST = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # --- test helpers ---
    def add_subscription(self, **kwargs) -> dict:
        sub = subscription_object(**kwargs)
        self.subscriptions[sub["id"]] = sub
        return sub

    def add_invoice(self, *, payment: dict | None = None, **kwargs) -> dict:
        """An invoice Stripe has; a paid one also gets its payment, charge and balance
        transaction (`payment`: keyword arguments of add_payment, e.g. {"fee": 59},
        {"settled": False}, {"bt_amount": 999}; None: the defaults)."""
        invoice = invoice_object(**kwargs)
        self.invoices[invoice["id"]] = invoice
        if invoice["status"] == "paid":
            self.add_payment(invoice, **(payment or {}))
        return invoice

    def fail_next(
        self,
        method,
        path_prefix,
        *,
        status=402,
        message="Your card was declined.",
        error_type="card_error",
        code="card_declined",
    ):
        self._failures.append((method, path_prefix, status, message, error_type, code))

    def calls(self, method=None, path_prefix="") -> list[Recorded]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and r.path.startswith(path_prefix)
        ]

    # --- HTTP ---
    def _handle(self, http: BaseHTTPRequestHandler):
        split = urlsplit(http.path)
        length = int(http.headers.get("Content-Length") or 0)
        body = http.rfile.read(length).decode() if length else ""
        params = decode_form(parse_qsl(split.query, keep_blank_values=True))
        params.update(decode_form(parse_qsl(body, keep_blank_values=True)))
        key = http.headers.get("Idempotency-Key")
        method = http.command
        with self.lock:
            self.requests.append(Recorded(method, split.path, params, key))
            if key and (method, split.path, key) in self._idempotent:
                status, answer = self._idempotent[(method, split.path, key)]
            else:
                status, answer = self._route(method, split.path, params)
                if key:
                    self._idempotent[(method, split.path, key)] = (status, answer)
        data = json.dumps(answer).encode()
        http.send_response(status)
        http.send_header("Content-Type", "application/json")
        http.send_header("Content-Length", str(len(data)))
        http.send_header("Request-Id", new_id("req"))
        http.end_headers()
        http.wfile.write(data)

    def _error(self, status, message, error_type="invalid_request_error", code=None):
        return status, {"error": {"type": error_type, "message": message, "code": code}}

    def _missing(self, what, ident):
        return self._error(404, f"No such {what}: '{ident}'", code="resource_missing")

    def _route(self, method, path, params):
        for i, (m, prefix, status, message, error_type, code) in enumerate(self._failures):
            if m == method and path.startswith(prefix):
                del self._failures[i]
                return self._error(status, message, error_type, code)
        routes = [
            ("POST", r"/v1/checkout/sessions", self._create_session),
            ("GET", r"/v1/checkout/sessions/(?P<id>[^/]+)", self._get_session),
            ("GET", r"/v1/subscriptions", self._list_subscriptions),
            ("GET", r"/v1/subscriptions/(?P<id>[^/]+)", self._get_subscription),
            ("POST", r"/v1/subscriptions/(?P<id>[^/]+)/resume", self._resume_subscription),
            ("POST", r"/v1/subscriptions/(?P<id>[^/]+)", self._update_subscription),
            ("DELETE", r"/v1/subscriptions/(?P<id>[^/]+)", self._cancel_subscription),
            ("GET", r"/v1/invoices", self._list_invoices),
            ("POST", r"/v1/billing_portal/sessions", self._create_portal_session),
            ("POST", r"/v1/customers", self._create_customer),
            ("GET", r"/v1/customers/(?P<id>[^/]+)", self._get_customer),
            *self._fee_routes(),
            *self.extra_routes(),
        ]
        for route_method, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if route_method == method and match:
                return handler(params, **match.groupdict())
        return self._error(404, f"Unrecognized request URL ({method}: {path}).")

    def extra_routes(self) -> list:
        """(method, path regex, handler) routes a subclass adds (tests/payouts)."""
        return []

    def _list(self, url, items, params):
        items = list(items)
        limit = int(params.get("limit", 10))
        after = params.get("starting_after")
        if after:
            ids = [i["id"] for i in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        return 200, {
            "object": "list",
            "url": url,
            "data": items[:limit],
            "has_more": len(items) > limit,
        }

    def _create_session(self, params):
        session = {
            "id": new_id("cs"),
            "object": "checkout.session",
            "mode": params.get("mode"),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}),
            "customer": params.get("customer"),
            "customer_email": params.get("customer_email"),
            "subscription": None,
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "line_items": params.get("line_items"),
            "subscription_data": params.get("subscription_data"),
            "status": "open",
        }
        session["url"] = f"https://checkout.stripe.com/c/pay/{session['id']}"
        self.sessions[session["id"]] = session
        return 200, session

    def _get_session(self, params, id):
        if id not in self.sessions:
            return self._missing("checkout.session", id)
        return 200, self.sessions[id]

    def _list_subscriptions(self, params):
        status = params.get("status")
        items = [
            s
            for s in self.subscriptions.values()
            if status == "all"
            or (status or "active") == s["status"]
            or (status is None and s["status"] != "canceled")
        ]
        return self._list("/v1/subscriptions", items, params)

    def _get_subscription(self, params, id):
        if id not in self.subscriptions:
            return self._missing("subscription", id)
        return 200, self.subscriptions[id]

    def _update_subscription(self, params, id):
        sub = self.subscriptions.get(id)
        if sub is None:
            return self._missing("subscription", id)
        if sub["status"] == "canceled":
            return self._error(400, "A canceled subscription can only update its metadata.")
        if "pause_collection" in params:
            # The whole hash is replaced (an earlier resumes_at goes unless sent again);
            # an empty value unsets it. Stripe answers resumes_at as an integer.
            value = params["pause_collection"]
            if value and value.get("resumes_at") not in (None, ""):
                value = {**value, "resumes_at": int(value["resumes_at"])}
            sub["pause_collection"] = value if value else None
        for item_params in params.get("items", []):
            item = next(
                (i for i in sub["items"]["data"] if i["id"] == item_params.get("id")), None
            )
            if item is None:
                return self._error(400, f"No such subscription item: {item_params.get('id')}")
            price_data = item_params.get("price_data")
            if price_data:
                item["price"] = {
                    "id": new_id("price"),
                    "object": "price",
                    "currency": price_data["currency"],
                    "unit_amount": int(price_data["unit_amount"]),
                    "product": price_data["product"],
                    "recurring": {
                        "interval": price_data["recurring"]["interval"],
                        "interval_count": 1,
                    },
                }
        if "metadata" in params:
            sub["metadata"].update(params["metadata"])
        return 200, sub

    def _resume_subscription(self, params, id):
        sub = self.subscriptions.get(id)
        if sub is None:
            return self._missing("subscription", id)
        sub["status"] = "active"
        return 200, sub

    def _cancel_subscription(self, params, id):
        sub = self.subscriptions.get(id)
        if sub is None:
            return self._missing("subscription", id)
        sub["status"] = "canceled"
        sub["canceled_at"] = int(time.time())
        return 200, sub

    def _list_invoices(self, params):
        items = [
            i
            for i in self.invoices.values()
            if (not params.get("status") or i["status"] == params["status"])
            and (
                not params.get("subscription")
                or i["parent"]["subscription_details"]["subscription"] == params["subscription"]
            )
        ]
        return self._list("/v1/invoices", items, params)

    def _create_portal_session(self, params):
        if not params.get("customer"):
            return self._error(400, "Missing required param: customer.")
        session_id = new_id("bps")
        return 200, {
            "id": session_id,
            "object": "billing_portal.session",
            "customer": params["customer"],
            "return_url": params.get("return_url"),
            "url": f"https://billing.stripe.com/p/session/{session_id}",
        }

    def _create_customer(self, params):
        customer = {"id": new_id("cus"), "object": "customer", "email": params.get("email")}
        self.customers[customer["id"]] = customer
        return 200, customer

    def _get_customer(self, params, id):
        if id not in self.customers:
            return self._missing("customer", id)
        return 200, self.customers[id]

    # --- processing fees: invoice payments, payment intents, charges, balance transactions
    # (kept together, apart from the rest, so other areas' routes merge cleanly)

    def add_payment(
        self,
        invoice: dict,
        *,
        fee: int | None = None,
        settled: bool = True,
        kind: str = "payment_intent",
        bt_amount: int | None = None,
        bt_currency: str = "usd",
        charged: bool = True,
        status: str = "paid",
    ) -> dict:
        """The payment of a paid invoice as Stripe keeps it: an invoice_payment pointing at
        a PaymentIntent (kind "payment_intent") or a bare charge (kind "charge"), the
        charge, and its balance transaction with the processor's fee (`fee`, default
        stripe_fee of the amount). settled=False: the charge has no balance transaction
        yet; charged=False: the intent has no charge yet; bt_amount / bt_currency make
        the balance transaction disagree with the invoice. Returns the invoice payment."""
        amount = invoice["amount_paid"]
        charge = {
            "id": new_id("ch"),
            "object": "charge",
            "amount": amount,
            "currency": invoice["currency"],
            "status": "succeeded",
            "paid": True,
            "balance_transaction": None,
        }
        if settled:
            bt_amount = amount if bt_amount is None else bt_amount
            bt_fee = stripe_fee(bt_amount) if fee is None else fee
            bt = {
                "id": new_id("txn"),
                "object": "balance_transaction",
                "amount": bt_amount,
                "currency": bt_currency,
                "fee": bt_fee,
                "net": bt_amount - bt_fee,
                "status": "pending",
                "type": "charge",
                "source": charge["id"],
                "fee_details": [{"amount": bt_fee, "currency": bt_currency, "type": "stripe_fee"}],
            }
            self.balance_transactions[bt["id"]] = bt
            charge["balance_transaction"] = bt["id"]
        if charged:
            self.charges[charge["id"]] = charge
        reference = {"type": kind, "payment_intent": None, "charge": None}
        if kind == "payment_intent":
            intent = {
                "id": new_id("pi"),
                "object": "payment_intent",
                "amount": amount,
                "amount_received": amount,
                "currency": invoice["currency"],
                "status": "succeeded",
                "latest_charge": charge["id"] if charged else None,
            }
            if charged:
                charge["payment_intent"] = intent["id"]
            self.payment_intents[intent["id"]] = intent
            reference["payment_intent"] = intent["id"]
        else:
            reference["charge"] = charge["id"]
        payment = {
            "id": new_id("inpay"),
            "object": "invoice_payment",
            "invoice": invoice["id"],
            "amount_paid": amount if status == "paid" else None,
            "amount_requested": amount,
            "currency": invoice["currency"],
            "is_default": True,
            "livemode": False,
            "payment": reference,
            "status": status,
            "status_transitions": {
                "paid_at": invoice["status_transitions"]["paid_at"],
                "canceled_at": None,
            },
        }
        self.invoice_payments[payment["id"]] = payment
        return payment

    def _fee_routes(self):
        return [
            ("GET", r"/v1/invoice_payments", self._list_invoice_payments),
            ("GET", r"/v1/payment_intents/(?P<id>[^/]+)", self._get_payment_intent),
            ("GET", r"/v1/charges/(?P<id>[^/]+)", self._get_charge),
            ("GET", r"/v1/balance_transactions/(?P<id>[^/]+)", self._get_balance_transaction),
        ]

    def _list_invoice_payments(self, params):
        items = [
            p
            for p in self.invoice_payments.values()
            if (not params.get("invoice") or p["invoice"] == params["invoice"])
            and (not params.get("status") or p["status"] == params["status"])
        ]
        return self._list("/v1/invoice_payments", items, params)

    def _expanded_charge(self, charge_id, expand: list, prefix: str):
        charge = dict(self.charges[charge_id])
        if f"{prefix}balance_transaction" in expand and charge["balance_transaction"]:
            charge["balance_transaction"] = self.balance_transactions[
                charge["balance_transaction"]
            ]
        return charge

    def _get_payment_intent(self, params, id):
        if id not in self.payment_intents:
            return self._missing("payment_intent", id)
        intent = dict(self.payment_intents[id])
        expand = params.get("expand") or []
        charge_id = intent["latest_charge"]
        if charge_id and any(e.split(".")[0] == "latest_charge" for e in expand):
            intent["latest_charge"] = self._expanded_charge(charge_id, expand, "latest_charge.")
        return 200, intent

    def _get_charge(self, params, id):
        if id not in self.charges:
            return self._missing("charge", id)
        return 200, self._expanded_charge(id, params.get("expand") or [], "")

    def _get_balance_transaction(self, params, id):
        if id not in self.balance_transactions:
            return self._missing("balance_transaction", id)
        return 200, self.balance_transactions[id]

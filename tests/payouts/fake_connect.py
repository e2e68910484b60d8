"""The fake Stripe server (tests/subscriptions/fake_stripe.py) with Stripe Connect:
transfers (create, list by transfer_group, retrieve), Express accounts (create,
retrieve) and account links. Shapes follow Stripe's API reference (the Transfer,
Account and AccountLink objects).

`transfers_made` counts transfers the fake actually created (an idempotent replay is not
a new one). `answer_with(**fields)` makes the next transfer answers carry other values
(another amount or destination) while the transfer itself is made as asked: what a
buggy or hostile answer would look like to the platform.
"""

import time
from dataclasses import dataclass, field

from tests.subscriptions.fake_stripe import FakeStripe, new_id


def account_object(*, id=None, ready=False, charity_id=None, email=None) -> dict:
    due = [] if ready else ["external_account", "tos_acceptance.date"]
    return {
        "id": id or new_id("acct"),
        "object": "account",
        "type": "express",
        "country": "US",
        "email": email,
        "business_type": "non_profit",
        "capabilities": {"transfers": "active" if ready else "inactive"},
        "charges_enabled": ready,
        "payouts_enabled": ready,
        "details_submitted": ready,
        "metadata": {"charity_id": str(charity_id)} if charity_id is not None else {},
        "requirements": {
            "currently_due": due,
            "eventually_due": due,
            "past_due": [],
            "disabled_reason": None if ready else "requirements.past_due",
        },
        "created": int(time.time()),
    }


@dataclass
class FakeConnect(FakeStripe):
    transfers: dict = field(default_factory=dict)
    accounts: dict = field(default_factory=dict)
    balance_cents: int = 10**12
    _answer_overrides: dict = field(default_factory=dict)

    # --- test helpers ---
    def add_account(self, *, ready=True, **kwargs) -> dict:
        account = account_object(ready=ready, **kwargs)
        self.accounts[account["id"]] = account
        return account

    def answer_with(self, **fields) -> None:
        self._answer_overrides = fields

    @property
    def transfers_made(self) -> int:
        return len(self.transfers)

    def reverse(self, transfer_id: str, amount: int | None = None) -> dict:
        transfer = self.transfers[transfer_id]
        amount = transfer["amount"] if amount is None else amount
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] >= transfer["amount"]
        transfer["reversals"]["data"].append(
            {"id": new_id("trr"), "object": "transfer_reversal", "amount": amount,
             "currency": transfer["currency"], "transfer": transfer_id,
             "created": int(time.time())}
        )  # fmt: skip
        transfer["reversals"]["total_count"] += 1
        return transfer

    # --- HTTP ---
    def extra_routes(self) -> list:
        return [
            ("POST", r"/v1/transfers", self._create_transfer),
            ("GET", r"/v1/transfers", self._list_transfers),
            ("GET", r"/v1/transfers/(?P<id>[^/]+)", self._get_transfer),
            ("POST", r"/v1/accounts", self._create_account),
            ("GET", r"/v1/accounts/(?P<id>[^/]+)", self._get_account),
            ("POST", r"/v1/account_links", self._create_account_link),
        ]

    def _answer(self, transfer: dict) -> dict:
        return {**transfer, **self._answer_overrides}

    def _create_transfer(self, params):
        try:
            amount = int(params.get("amount", ""))
        except ValueError:
            return self._error(400, "Invalid integer: amount")
        if amount < 1:
            return self._error(400, "Amount must be at least 1 cent.")
        if params.get("currency") != "usd":
            return self._error(400, "Invalid currency.")
        destination = params.get("destination")
        account = self.accounts.get(destination)
        if account is None:
            return self._error(400, f"No such destination: '{destination}'",
                               code="resource_missing")  # fmt: skip
        if not account["payouts_enabled"]:
            return self._error(
                400,
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                code="insufficient_capabilities_for_transfer",
            )
        if amount > self.balance_cents:
            return self._error(
                400,
                "You have insufficient available funds in your Stripe account.",
                code="balance_insufficient",
            )
        self.balance_cents -= amount
        transfer_id = new_id("tr")
        transfer = {
            "id": transfer_id,
            "object": "transfer",
            "amount": amount,
            "amount_reversed": 0,
            "balance_transaction": new_id("txn"),
            "created": int(time.time()),
            "currency": "usd",
            "description": params.get("description"),
            "destination": destination,
            "destination_payment": new_id("py"),
            "livemode": False,
            "metadata": params.get("metadata", {}),
            "reversals": {"object": "list", "data": [], "has_more": False, "total_count": 0,
                          "url": f"/v1/transfers/{transfer_id}/reversals"},
            "reversed": False,
            "source_transaction": None,
            "source_type": "card",
            "transfer_group": params.get("transfer_group"),
        }  # fmt: skip
        self.transfers[transfer_id] = transfer
        return 200, self._answer(transfer)

    def _list_transfers(self, params):
        group = params.get("transfer_group")
        items = [
            self._answer(t)
            for t in reversed(list(self.transfers.values()))  # newest first, as Stripe
            if group is None or t["transfer_group"] == group
        ]
        return self._list("/v1/transfers", items, params)

    def _get_transfer(self, params, id):
        if id not in self.transfers:
            return self._missing("transfer", id)
        return 200, self._answer(self.transfers[id])

    def _create_account(self, params):
        if params.get("type") != "express":
            return self._error(400, "Only express accounts in this fake.")
        account = account_object(
            ready=False,
            charity_id=(params.get("metadata") or {}).get("charity_id"),
            email=params.get("email"),
        )
        self.accounts[account["id"]] = account
        return 200, account

    def _get_account(self, params, id):
        if id not in self.accounts:
            return self._missing("account", id)
        return 200, self.accounts[id]

    def _create_account_link(self, params):
        account = params.get("account")
        if account not in self.accounts:
            return self._missing("account", account)
        for name in ("refresh_url", "return_url"):
            if not params.get(name):
                return self._error(400, f"Missing required param: {name}.")
        if params.get("type") != "account_onboarding":
            return self._error(400, "Invalid type.")
        now = int(time.time())
        return 200, {
            "object": "account_link",
            "created": now,
            "expires_at": now + 300,
            "url": f"https://connect.stripe.com/setup/e/{account}/{new_id('link')}",
        }

"""The partner managing what it bought while services keep dying, and what each purchase
must end as.

Every 5th purchase is cancelled inside its refund window (ended now, its charge credited
on a credit note); every 3rd of the others gets one more seat, which the publisher (no
webhook endpoint listens in a chaos run) accepts by silence once the offer's acceptance
timeout passed, prorated at a whole period because it is accepted on the period's first
day. The rest are kept as bought.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Literal

from benchmarks.flow import PRICE_MINOR
from tests.e2e.actors import Partner
from tools.chaos_http import Retrying

Change = Literal["keep", "add_seat", "cancel"]
ACTIVE_LIMIT_S = 180.0  # activated -> active in the partner's view; longer means it was lost
POLL_S = 0.1


class ManagementError(Exception):
    """The product answered a management call unexpectedly (reported, the run goes on)."""


def planned_change(index: int) -> Change:
    """The change for the index-th purchase (0-based, in the order they were bought)."""
    if index % 5 == 4:
        return "cancel"
    if index % 3 == 2:
        return "add_seat"
    return "keep"


def money(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


@dataclass(frozen=True)
class Expected:
    status: str
    quantity: int
    ledger: list[tuple[str, str]]  # (type, amount), sorted
    invoices: int  # documents of kind invoice with a line of the subscription
    credit_notes: int

    @property
    def documents(self) -> int:
        return self.invoices + self.credit_notes


def expected(change: Change, quantity: int) -> Expected:
    charge = ("charge", money(quantity * PRICE_MINOR))
    if change == "add_seat":
        return Expected(
            "active", quantity + 1, sorted([charge, ("proration", money(PRICE_MINOR))]), 2, 0
        )
    if change == "cancel":
        credit = ("credit", money(-quantity * PRICE_MINOR))
        return Expected("deleted", quantity, sorted([charge, credit]), 1, 1)
    return Expected("active", quantity, [charge], 1, 0)


@dataclass(frozen=True)
class Manager:
    partner: Partner
    retrying: Retrying
    cid: str

    async def apply(self, sid: str, change: Change, quantity: int) -> None:
        """Wait until the partner sees the subscription active, then PATCH it. Both
        PATCHes are idempotent (the same seats asked again, or deleting a deleted
        subscription, answer 200), so a retry after a cut-off attempt must get 200."""
        if change == "keep":
            return
        await self._until_active(sid)
        fields: dict[str, Any] = (
            {"quantity": quantity + 1} if change == "add_seat" else {"status": "deleted"}
        )
        path = f"/v1/customers/{self.cid}/subscriptions/{sid}"
        sent = await self.retrying.request(
            f"{change} {sid}", lambda: self.partner.ordering.patch(path, json=fields)
        )
        if sent.value.status_code != 200:
            raise ManagementError(
                f"{change} {sid}: {sent.value.status_code} {sent.value.text[:300]}"
            )

    async def _until_active(self, sid: str) -> None:
        path = f"/v1/customers/{self.cid}/subscriptions/{sid}"
        deadline = time.monotonic() + ACTIVE_LIMIT_S
        while True:
            sent = await self.retrying.request(
                f"GET {path}", lambda: self.partner.ordering.get(path)
            )
            if sent.value.status_code != 200:
                raise ManagementError(f"GET {path}: {sent.value.status_code} {sent.value.text}")
            if sent.value.json()["status"] == "active":
                return
            if time.monotonic() > deadline:
                raise ManagementError(f"{sid}: not active within {ACTIVE_LIMIT_S:.0f} s")
            await asyncio.sleep(POLL_S)

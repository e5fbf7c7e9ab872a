"""Checkout through the message bus: the cart's new status, the order, its
subscriptions, one SubscriptionPurchased outbox row and one partner-state row per line
are one commit; a checkout that fails leaves neither state nor outbox rows."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from services.ordering.bootstrap import build_app
from services.ordering.domain.cart_rules import LineItemDraft
from services.ordering.domain.commands import Checkout, CreateCart, CreateCustomer
from services.ordering.domain.model import Cart, Customer
from shared.catalog import load_catalog
from shared.clock import FixedClock
from shared.errors import Conflict
from shared.events.topics import ORDERING_SUBSCRIPTIONS, SUBSCRIPTIONS_STATE
from shared.service_layer import MessageBus
from shared.store.memory import MemoryStore
from shared.store.port import Transaction
from tests.unit.ordering.helpers import NOW, SETTINGS, documents, emitted

LINES = (
    LineItemDraft("contoso-crm", "standard", 5, "P1Y", "annual"),
    LineItemDraft("contoso-crm", "premium", 5, "P1Y", "annual"),
    LineItemDraft("contoso-helpdesk", "basic", 3, "P1M", "monthly"),
)


@pytest.fixture
def bus(app: FastAPI) -> MessageBus:
    return app.state.bus  # type: ignore[no-any-return]


@pytest.fixture
def commits(store: MemoryStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per committed store transaction: the outbox rows pending after it."""
    made, counted = store.transaction, []

    def transaction() -> Transaction:
        tx = made()
        commit = tx.commit

        async def commit_and_count() -> None:
            await commit()
            counted.append(await store.pending_outbox())

        tx.commit = commit_and_count  # type: ignore[method-assign]
        return tx

    monkeypatch.setattr(store, "transaction", transaction)
    return counted


async def a_cart(bus: MessageBus) -> tuple[Customer, Cart]:
    customer = await bus.handle(CreateCustomer("partner-a", "Acme"))
    return customer, await bus.handle(CreateCart("partner-a", customer.id, LINES))


async def state(store: MemoryStore) -> dict[str, list[dict[str, object]]]:
    names = ("carts", "orders", "subscriptions")
    return {name: await documents(store, name) for name in names}


async def test_checkout_commits_order_subscriptions_and_a_purchase_row_per_line_at_once(
    bus: MessageBus, store: MemoryStore, commits: list[int]
) -> None:
    customer, cart = await a_cart(bus)
    assert commits == [0, 0]  # the customer, the cart: no events

    order = await bus.handle(Checkout("partner-a", "alice", customer.id, cart.id))

    # One more commit, carrying every row: a purchase event and a partner state per line.
    assert commits == [0, 0, 2 * len(LINES)]
    after = await state(store)
    subscription_ids = [line.subscription_id for line in order.line_items]
    assert [o["id"] for o in after["orders"]] == [order.id]
    assert [s["id"] for s in after["subscriptions"]] == subscription_ids
    assert [(c["status"], c["order_id"]) for c in after["carts"]] == [("ordered", order.id)]
    claimed = await store.claim_outbox("probe", 100, NOW, NOW)
    purchases = [c.message for c in claimed if c.message.topic == ORDERING_SUBSCRIPTIONS]
    states = [c.message for c in claimed if c.message.topic == SUBSCRIPTIONS_STATE]
    assert [m.key for m in purchases] == subscription_ids
    assert [m.key for m in states] == [f"{s}/partner" for s in subscription_ids]
    assert len(purchases) + len(states) == len(claimed)
    events = await emitted(store)
    assert [(e.data.order_id, e.data.line_item_number) for e in events] == [
        (order.id, n) for n in range(len(LINES))
    ]


async def test_a_second_checkout_is_a_conflict_that_writes_nothing(
    bus: MessageBus, store: MemoryStore, commits: list[int]
) -> None:
    customer, cart = await a_cart(bus)
    await bus.handle(Checkout("partner-a", "alice", customer.id, cart.id))
    before, committed = await state(store), len(commits)

    with pytest.raises(Conflict):
        await bus.handle(Checkout("partner-a", "alice", customer.id, cart.id))

    assert len(commits) == committed
    assert await state(store) == before
    assert await store.pending_outbox() == 2 * len(LINES)  # events and states


async def test_a_checkout_failing_on_its_last_line_leaves_no_trace(
    bus: MessageBus, store: MemoryStore, commits: list[int]
) -> None:
    """The earlier lines' subscriptions were made and their events recorded before the
    last line failed: none of it reaches the store or the outbox."""
    customer, cart = await a_cart(bus)
    before, committed = await state(store), len(commits)
    catalog = load_catalog()  # the service restarts without the helpdesk offer
    shrunk = catalog.model_copy(
        update={"offers": [o for o in catalog.offers if o.offer_id != "contoso-helpdesk"]}
    )
    restarted = build_app(SETTINGS, store=store, clock=FixedClock(NOW), catalog=shrunk)

    with pytest.raises(Conflict) as refused:
        await restarted.state.bus.handle(Checkout("partner-a", "alice", customer.id, cart.id))

    assert refused.value.target == "lineItems[2].offerId"
    assert len(commits) == committed
    assert await state(store) == before
    assert before["orders"] == before["subscriptions"] == []
    assert await store.pending_outbox() == 0

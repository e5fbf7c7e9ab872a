"""What billing stores: documents that round-trip through the generic repository, and
StartBilling's writes (ledger line, invoice, both outbox rows) committing as one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from pytest import MonkeyPatch

from services.billing.adapters.wire_events import EVENTS
from services.billing.domain.billing_period import Period
from services.billing.domain.events import InvoiceIssued
from services.billing.domain.invoice import Invoice, InvoiceLine
from services.billing.domain.ledger import LedgerLine, derived_id
from services.billing.domain.subscription import BilledSubscription
from services.billing.entrypoints.consumers import command_for
from shared.domain import DomainEvent
from shared.events.provisioning import ActivationCompleted
from shared.store.memory import MemoryStore
from shared.store.port import DuplicateKey, Store
from tests.unit.billing.builders import (
    NOW,
    TERM_START,
    activation_completed,
    bus_of,
    emitted,
    first_charge,
    subscription,
    unit_of_work,
)


def credit_note() -> tuple[BilledSubscription, LedgerLine, Invoice]:
    """The least ordinary values: negative amounts, a zero-digit currency, a tuple."""
    sub = subscription(
        currency="JPY",
        price_per_seat=1200,
        quantity=3,
        term_duration="P1Y",
        billing_cycle="annual",
        term_end=TERM_START + timedelta(days=365),  # P1Y from 2026-11-22, exclusive
        auto_renew_enabled=False,
    )
    charge = first_charge(sub, "e")
    line = charge.model_copy(update={"type": "credit", "amount": -charge.amount})
    document = Invoice.issue(
        document_id="cn",
        kind="creditNote",
        sequence_number=7,
        subscription_id="sub-1",
        customer_id="cust-1",
        csp_partner_id="partner-a",
        currency="JPY",
        issued_at=NOW,
        line_items=[InvoiceLine.for_ledger_line(line, "credit")],
    )
    return sub, line, document


async def test_documents_round_trip_through_the_generic_repository() -> None:
    store = MemoryStore()  # keeps documents as JSON text, exactly like SQLite
    sub, line, document = credit_note()
    async with unit_of_work(store) as uow:
        await uow.subscriptions.add(sub)
        await uow.ledger.add(line)
        await uow.invoices.add(document)
        await uow.commit()

    async with unit_of_work(store) as uow:
        loaded = (
            await uow.subscriptions.get("sub-1"),
            await uow.ledger.get(line.id),
            await uow.invoices.get("cn"),
        )
        raw = await uow.transaction.collection("invoices").get("cn")
    assert loaded == (sub, line, document)
    _, loaded_line, loaded_document = loaded
    assert isinstance(loaded_line, LedgerLine) and isinstance(loaded_line.period, Period)
    assert loaded_line.period.start.utcoffset() == timedelta(0)
    assert isinstance(loaded_document, Invoice)
    assert isinstance(loaded_document.line_items, tuple)
    assert loaded_document.total == -3600
    assert raw is not None and raw["total"] == -3600  # denormalised for raw readers


async def test_finders_read_the_stored_fields() -> None:
    store = MemoryStore()
    _, line, document = credit_note()
    async with unit_of_work(store) as uow:
        await uow.ledger.add(line)
        await uow.invoices.add(document)
        await uow.commit()
    async with unit_of_work(store) as uow:
        assert await uow.ledger.for_subscription("sub-1") == [line]
        assert await uow.invoices.of_partner("partner-a", "cust-1") == [document]
        assert await uow.invoices.of_partner("partner-a", "cust-2") == []
        assert await uow.invoices.of_partner("partner-b") == []


async def stored(store: Store) -> dict[str, Any]:
    async with store.read_only() as tx:
        return {
            name: await tx.collection(name).find()
            for name in ("subscriptions", "ledger", "invoices")
        }


async def test_start_billing_commits_line_invoice_and_both_outbox_rows_together() -> None:
    store = MemoryStore()
    event = activation_completed()
    await bus_of(store).handle(command_for(event))
    documents = await stored(store)
    assert [len(documents[name]) for name in documents] == [1, 1, 1]
    assert [e.type for e in await emitted(store)] == ["ChargePosted", "InvoiceIssued"]


async def collide_on_the_invoice(store: Store, event: ActivationCompleted, _: MonkeyPatch) -> None:
    """In the handler, after the line was added: the invoice's derived id is taken."""
    async with store.transaction() as tx:
        planted = derived_id(str(event.id), "invoice")
        await tx.collection("invoices").insert(planted, {"planted": True})
        await tx.commit()


async def break_the_mapping_of_invoice_issued(
    _: Store, __: ActivationCompleted, monkeypatch: MonkeyPatch
) -> None:
    """At commit, after ChargePosted's outbox row was written."""
    to_wire = EVENTS.to_wire

    def broken(domain_event: DomainEvent, **envelope: Any) -> Any:
        if isinstance(domain_event, InvoiceIssued):
            raise RuntimeError("InvoiceIssued cannot be mapped")
        return to_wire(domain_event, **envelope)

    monkeypatch.setattr(EVENTS, "to_wire", broken)


@pytest.mark.parametrize(
    ("fail", "error"),
    [(collide_on_the_invoice, DuplicateKey), (break_the_mapping_of_invoice_issued, RuntimeError)],
    ids=["invoice-insert-collides", "outbox-mapping-fails"],
)
async def test_a_failure_mid_way_leaves_no_line_no_invoice_no_event_and_no_gap(
    fail: Callable[[Store, ActivationCompleted, MonkeyPatch], Awaitable[None]],
    error: type[Exception],
    monkeypatch: MonkeyPatch,
) -> None:
    store = MemoryStore()
    bus = bus_of(store)
    event = activation_completed()
    await fail(store, event, monkeypatch)

    with pytest.raises(error):
        await bus.handle(command_for(event))

    monkeypatch.undo()
    documents = await stored(store)
    assert documents["subscriptions"] == documents["ledger"] == []
    assert all(doc.get("planted") for doc in documents["invoices"])
    assert await store.pending_outbox() == 0
    await bus.handle(command_for(activation_completed()))  # the number was given back
    async with unit_of_work(store) as uow:
        assert [d.number for d in await uow.invoices.of_partner("partner-a")] == ["INV-000001"]

"""Posting: the one way a ledger line reaches the ledger and a document.

Every posting is its ledger line(s) plus one invoice (or credit note, when it gives
money back), gaplessly numbered inside the same unit of work, which writes the lines'
ChargePosted and the document's InvoiceIssued to the outbox at commit. Nothing else
adds a ledger line or issues a document.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from services.billing.domain.billing_period import Period
from services.billing.domain.events import DocumentKind, LineType
from services.billing.domain.invoice import Invoice, InvoiceLine, describe, sequence_name
from services.billing.domain.ledger import Credit, LedgerLine, derive_line_id, derived_id
from services.billing.domain.subscription import BilledSubscription
from services.billing.service_layer.unit_of_work import BillingUnitOfWork
from shared.store.port import DuplicateKey

log = structlog.get_logger(__name__)


async def post_line(
    uow: BillingUnitOfWork,
    subscription: BilledSubscription,
    *,
    line_type: LineType,
    period: Period,
    quantity: int,
    amount: int,
    event_id: str,
    now: datetime,
    line_id: str | None = None,
    document_id: str | None = None,
) -> tuple[LedgerLine, Invoice] | None:
    """One line on its own document: an invoice, or a credit note when it is negative.
    Ids default to those derived from what the line is. None, and nothing written,
    when the ledger holds that line already (its id, or its span and type)."""
    kind: DocumentKind = "creditNote" if amount < 0 else "invoice"
    line_id = line_id or derive_line_id(subscription.id, period, line_type)
    document_id = document_id or derived_id(line_id, kind)
    line = LedgerLine.post(
        subscription,
        line_type=line_type,
        period=period,
        quantity=quantity,
        amount=amount,
        event_id=event_id,
        posted_at=now,
        invoice_id=document_id,
        line_id=line_id,
    )
    try:
        await uow.ledger.add(line)  # the line is the first write: nothing to undo
    except DuplicateKey:
        log.warning(
            "ledger_line_already_posted",
            subscription_id=subscription.id,
            type=line_type,
            period_start=period.start.isoformat(),
            period_end=period.end.isoformat(),
        )
        return None
    return line, await _issue(uow, subscription, kind, document_id, [line], now)


async def post_credit_note(
    uow: BillingUnitOfWork,
    subscription: BilledSubscription,
    credits: list[Credit],
    *,
    event_id: str,
    now: datetime,
) -> Invoice | None:
    """A cancellation's credits, one line each, on ONE credit note (none if nothing
    is owed back). The caller checked none is credited yet; the unique index would
    refuse a second credit of a period, failing the whole unit of work."""
    if not credits:
        return None
    document_id = derived_id(f"{subscription.id}/cancellation", "creditNote")
    lines = [
        LedgerLine.post(
            subscription,
            line_type="credit",
            period=credit.period,
            quantity=credit.quantity,
            amount=credit.amount,
            event_id=event_id,
            posted_at=now,
            invoice_id=document_id,
        )
        for credit in credits
    ]
    for line in lines:
        await uow.ledger.add(line)
    return await _issue(uow, subscription, "creditNote", document_id, lines, now)


async def charge_due_periods(
    uow: BillingUnitOfWork, subscription: BilledSubscription, *, until: datetime, now: datetime
) -> int:
    """Charge every period of the current term that has started by `until` and is not
    charged yet (type "charge", one invoice each); returns how many. The due work runs
    it with business time; a fact runs it with its own instant first, so a period that
    began before a seat change or the end is charged as it was then, whichever of the
    due work and the fact came first. A period's line has the same id on either path."""
    due = subscription.due_periods(until)
    for period in due:
        line_id = derive_line_id(subscription.id, period, "charge")
        await post_line(
            uow,
            subscription,
            line_type="charge",
            period=period,
            quantity=subscription.quantity,
            amount=subscription.period_price(),
            event_id=line_id,  # no event caused it: it names itself
            now=now,
            line_id=line_id,
        )
        subscription.mark_charged(period)
    return len(due)


async def post_period_and_invoice(
    uow: BillingUnitOfWork,
    subscription: BilledSubscription,
    period: Period,
    *,
    line_type: LineType,
    cause_id: str,
    now: datetime,
) -> tuple[LedgerLine, Invoice] | None:
    """Charge a full period and invoice it, the ids derived from the event that caused
    it (the activation's first charge, whose ids predate `derive_line_id`)."""
    posted = await post_line(
        uow,
        subscription,
        line_type=line_type,
        period=period,
        quantity=subscription.quantity,
        amount=subscription.period_price(),
        event_id=cause_id,
        now=now,
        line_id=derived_id(cause_id, line_type),
        document_id=derived_id(cause_id, "invoice"),
    )
    subscription.mark_charged(period)
    return posted


async def _issue(
    uow: BillingUnitOfWork,
    subscription: BilledSubscription,
    kind: DocumentKind,
    document_id: str,
    lines: list[LedgerLine],
    now: datetime,
) -> Invoice:
    document = Invoice.issue(
        document_id=document_id,
        kind=kind,
        sequence_number=await uow.next_number(sequence_name(kind)),
        subscription_id=subscription.id,
        customer_id=subscription.customer_id,
        csp_partner_id=subscription.csp_partner_id,
        currency=subscription.currency,
        issued_at=now,
        line_items=[
            InvoiceLine.for_ledger_line(line, describe(subscription, line)) for line in lines
        ],
    )
    await uow.invoices.add(document)
    log.info(
        "document_issued",
        subscription_id=subscription.id,
        kind=kind,
        number=document.number,
        total=document.total,
        currency=document.currency,
        lines=[(line.type, line.amount) for line in lines],
        correlation_id=subscription.correlation_id,
    )
    return document

"""Post one ledger line and issue the document that shows it, in the caller's unit of work.

Every future posting (renewal, proration, credit) goes through here too, so the
rules "posted once, invoiced immediately, announced through the outbox" live in
one place.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from services.billing.adapters.invoices import InvoiceRepository
from services.billing.adapters.ledger import LedgerRepository
from services.billing.domain import invoice as invoices
from services.billing.domain.billing_period import Period
from services.billing.domain.ledger import LedgerLine, LineType, derived_id, period_charge
from services.billing.domain.subscription import BilledSubscription
from shared.events.billing import ChargePosted, ChargePostedData, InvoiceIssued, InvoiceIssuedData
from shared.events.envelope import Event
from shared.messaging.outbox import emit
from shared.money import from_minor
from shared.store.port import UnitOfWork

log = structlog.get_logger(__name__)

SOURCE = "billing"


async def post_period_and_invoice(
    uow: UnitOfWork,
    subscription: BilledSubscription,
    period: Period,
    *,
    line_type: LineType,
    cause: Event,
    now: datetime,
) -> tuple[LedgerLine, invoices.Invoice]:
    """Charge a full period, invoice it, emit ChargePosted + InvoiceIssued."""
    cause_id = str(cause.id)
    kind: invoices.DocumentKind = "invoice"
    invoice_id = derived_id(cause_id, kind)
    line = period_charge(
        subscription,
        period,
        event_id=cause_id,
        posted_at=now,
        invoice_id=invoice_id,
        line_type=line_type,
    )
    await LedgerRepository(uow).post(line)  # DuplicateKey on a second posting
    number = await uow.next_number(invoices.sequence_name(kind))
    document = invoices.issue(
        document_id=invoice_id,
        kind=kind,
        sequence_number=number,
        customer_id=subscription.customer_id,
        csp_partner_id=subscription.csp_partner_id,
        currency=subscription.currency,
        issued_at=now,
        line_items=[
            invoices.InvoiceLine.for_ledger_line(line, invoices.describe(subscription, line))
        ],
    )
    await InvoiceRepository(uow).add(document)
    emit(uow, _charge_posted(line, cause, now))
    emit(uow, _invoice_issued(document, subscription.id, cause, now))
    log.info(
        "charge_posted",
        subscription_id=subscription.id,
        charge_id=line.id,
        amount=line.amount,
        currency=line.currency,
        invoice_number=document.number,
        correlation_id=cause.correlation_id,
    )
    return line, document


def _charge_posted(line: LedgerLine, cause: Event, now: datetime) -> ChargePosted:
    return ChargePosted(
        source=SOURCE,
        time=now,
        subject=line.subscription_id,
        correlation_id=cause.correlation_id,
        causation_id=str(cause.id),
        data=ChargePostedData(
            charge_id=line.id,
            subscription_id=line.subscription_id,
            customer_id=line.customer_id,
            csp_partner_id=line.csp_partner_id,
            type=line.type,
            amount=from_minor(line.amount, line.currency),
            currency=line.currency,
            period_start=line.period.start,
            period_end=line.period.end,
            invoice_id=line.invoice_id,
        ),
    )


def _invoice_issued(
    document: invoices.Invoice, subscription_id: str, cause: Event, now: datetime
) -> InvoiceIssued:
    return InvoiceIssued(
        source=SOURCE,
        time=now,
        subject=subscription_id,  # the message key: keeps it ordered after its charge
        correlation_id=cause.correlation_id,
        causation_id=str(cause.id),
        data=InvoiceIssuedData(
            invoice_id=document.id,
            number=document.number,
            kind=document.kind,
            customer_id=document.customer_id,
            csp_partner_id=document.csp_partner_id,
            currency=document.currency,
            total=from_minor(document.total, document.currency),
            issued_at=document.issued_at,
        ),
    )

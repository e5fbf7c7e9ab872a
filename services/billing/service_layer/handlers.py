"""Billing's command handlers: it starts on StartBilling, and only there.

`post_period_and_invoice` is the one way a ledger line is posted: every future
posting (renewal, proration, credit) goes through it too, so "posted once, invoiced
immediately, announced through the outbox" lives in one place. The unit of work
saves what it touched and writes the recorded events at commit.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

import structlog

from services.billing.domain.billing_period import Period
from services.billing.domain.commands import StartBilling
from services.billing.domain.events import DocumentKind, LineType
from services.billing.domain.invoice import Invoice, InvoiceLine, describe, sequence_name
from services.billing.domain.ledger import LedgerLine, derived_id
from services.billing.domain.subscription import BilledSubscription
from services.billing.service_layer.unit_of_work import BillingUnitOfWork
from shared.clock import Clock

log = structlog.get_logger(__name__)


async def start_billing(command: StartBilling, uow: BillingUnitOfWork, clock: Clock) -> None:
    """Remember the subscription, charge its first period, invoice it."""
    if await uow.subscriptions.get(command.subscription_id) is not None:
        # A subscription activates once; a second ActivationCompleted (another id, so
        # the inbox let it through) must not bill the first period again.
        log.warning(
            "activation_already_billed",
            subscription_id=command.subscription_id,
            event_id=command.activation_id,
        )
        return
    # The command carries the subscription's facts by their names (the activation's id
    # is no fact of it: ignored); InvalidSubscription when they cannot be billed.
    facts = {**dataclasses.asdict(command), "id": command.subscription_id}
    subscription = await uow.subscriptions.add(BilledSubscription.model_validate(facts))
    await post_period_and_invoice(
        uow,
        subscription,
        subscription.first_period(),
        line_type="charge",
        cause_id=command.activation_id,
        now=clock.now(),
    )


async def post_period_and_invoice(
    uow: BillingUnitOfWork,
    subscription: BilledSubscription,
    period: Period,
    *,
    line_type: LineType,
    cause_id: str,
    now: datetime,
) -> tuple[LedgerLine, Invoice]:
    """Charge a full period and invoice it (ChargePosted, then InvoiceIssued)."""
    kind: DocumentKind = "invoice"
    invoice_id = derived_id(cause_id, kind)
    line = LedgerLine.period_charge(
        subscription,
        period,
        event_id=cause_id,
        posted_at=now,
        invoice_id=invoice_id,
        line_type=line_type,
    )
    await uow.ledger.add(line)  # DuplicateKey on a second posting
    document = Invoice.issue(
        document_id=invoice_id,
        kind=kind,
        sequence_number=await uow.next_number(sequence_name(kind)),
        subscription_id=subscription.id,
        customer_id=subscription.customer_id,
        csp_partner_id=subscription.csp_partner_id,
        currency=subscription.currency,
        issued_at=now,
        line_items=[InvoiceLine.for_ledger_line(line, describe(subscription, line))],
    )
    await uow.invoices.add(document)
    log.info(
        "charge_posted",
        subscription_id=subscription.id,
        charge_id=line.id,
        amount=line.amount,
        currency=line.currency,
        invoice_number=document.number,
        correlation_id=subscription.correlation_id,
    )
    return line, document

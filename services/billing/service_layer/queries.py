"""The read side of the billing API: query types and their handlers.

Partner isolation is decided here, not in HTTP: another partner's document looks
exactly like an unknown one (NotFound either way).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.billing.domain.invoice import Invoice, newest_first
from services.billing.domain.ledger import LedgerLine, balance
from services.billing.service_layer.unit_of_work import BillingUnitOfWork
from shared.errors import NotFound
from shared.service_layer import Query


class ListInvoices(Query):
    csp_partner_id: str
    customer_id: str | None = None


class GetInvoice(Query):
    csp_partner_id: str
    invoice_id: str


class SubscriptionCharges(Query):
    csp_partner_id: str
    customer_id: str
    subscription_id: str


@dataclass(frozen=True)
class Charges:
    """A subscription's ledger lines, in posting order, and what they add up to."""

    currency: str
    lines: list[LedgerLine]

    @property
    def balance(self) -> int:
        return balance(self.lines)


async def list_invoices(query: ListInvoices, uow: BillingUnitOfWork) -> list[Invoice]:
    documents = await uow.invoices.of_partner(query.csp_partner_id, query.customer_id)
    return newest_first(documents)


async def get_invoice(query: GetInvoice, uow: BillingUnitOfWork) -> Invoice:
    document = await uow.invoices.get(query.invoice_id)
    if document is None or document.csp_partner_id != query.csp_partner_id:
        raise NotFound(f"invoice {query.invoice_id} not found")
    return document


async def subscription_charges(query: SubscriptionCharges, uow: BillingUnitOfWork) -> Charges:
    """NotFound when billing never saw it, or it is not this partner's / this customer's."""
    subscription = await uow.subscriptions.get(query.subscription_id)
    if (
        subscription is None
        or subscription.csp_partner_id != query.csp_partner_id
        or subscription.customer_id != query.customer_id
    ):
        raise NotFound(
            f"subscription {query.subscription_id} of customer {query.customer_id}"
            " has no billing record"
        )
    lines = await uow.ledger.for_subscription(query.subscription_id)
    return Charges(currency=subscription.currency, lines=lines)

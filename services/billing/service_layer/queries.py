"""The read side of the billing API: query types and their handlers.

Partner isolation is decided here, not in HTTP: another partner's document looks
exactly like an unknown one (NotFound either way).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.billing.domain.invoice import Invoice
from services.billing.domain.ledger import LedgerLine, balance
from services.billing.domain.subscription import Status
from services.billing.service_layer.unit_of_work import BillingUnitOfWork
from shared.errors import NotFound
from shared.service_layer import Paged, PageRequest, Query, page_of


class ListInvoices(Query):
    csp_partner_id: str
    customer_id: str | None = None
    page: PageRequest = PageRequest()


class GetInvoice(Query):
    csp_partner_id: str
    invoice_id: str


class SubscriptionCharges(Query):
    csp_partner_id: str
    customer_id: str
    subscription_id: str
    page: PageRequest = PageRequest()


class DueSubscriptions(Query):
    """Active subscriptions with a period that started by `now` and is not charged, the
    earliest first, at most `limit`."""

    now: datetime
    limit: int


@dataclass(frozen=True)
class DueSubscription:
    subscription_id: str
    correlation_id: str  # the purchase's: carried by what charging it emits


@dataclass(frozen=True)
class Charges:
    """A page of a subscription's ledger lines, in posting order, and what ALL its lines
    add up to (not only this page's); the subscription's billing status."""

    currency: str
    status: Status
    lines: list[LedgerLine]
    balance: int
    next: int | None  # the next page's position; None on the last page


async def list_invoices(query: ListInvoices, uow: BillingUnitOfWork) -> Paged[Invoice]:
    """Newest first, page after page (`InvoiceRepository.page_of_partner`)."""
    return await uow.invoices.page_of_partner(query.csp_partner_id, query.customer_id, query.page)


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
    # The balance needs every line anyway, so the page is cut from them in memory.
    lines = await uow.ledger.for_subscription(query.subscription_id)
    page = page_of(lines, query.page)
    return Charges(
        subscription.currency, subscription.status, page.items, balance(lines), page.next
    )


async def due_subscriptions(
    query: DueSubscriptions, uow: BillingUnitOfWork
) -> list[DueSubscription]:
    """Read through the stored `charge_due_at` (indexed): the due ones only."""
    return [
        DueSubscription(subscription.id, subscription.correlation_id)
        for subscription in await uow.subscriptions.due_for_charge(query.now, query.limit)
    ]

"""Read side of the billing API (views over a fresh, uncommitted unit of work).

Partner isolation is decided here, not in HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.billing.adapters.invoices import InvoiceRepository
from services.billing.adapters.ledger import LedgerRepository
from services.billing.adapters.subscriptions import SubscriptionRepository
from services.billing.domain.invoice import Invoice, newest_first
from services.billing.domain.ledger import LedgerLine, balance
from shared.store.port import UnitOfWork


@dataclass(frozen=True)
class SubscriptionCharges:
    currency: str
    lines: list[LedgerLine]

    @property
    def balance(self) -> int:
        return balance(self.lines)


async def list_invoices(
    uow: UnitOfWork, csp_partner_id: str, customer_id: str | None = None
) -> list[Invoice]:
    async with uow:
        documents = await InvoiceRepository(uow).of_partner(csp_partner_id, customer_id)
    return newest_first(documents)


async def get_invoice(uow: UnitOfWork, csp_partner_id: str, invoice_id: str) -> Invoice | None:
    """None when unknown or another partner's: the caller cannot tell which."""
    async with uow:
        document = await InvoiceRepository(uow).get(invoice_id)
    if document is None or document.csp_partner_id != csp_partner_id:
        return None
    return document


async def subscription_charges(
    uow: UnitOfWork, csp_partner_id: str, customer_id: str, subscription_id: str
) -> SubscriptionCharges | None:
    """None when billing never saw it, or it is not this partner's / this customer's."""
    async with uow:
        subscription = await SubscriptionRepository(uow).get(subscription_id)
        if (
            subscription is None
            or subscription.csp_partner_id != csp_partner_id
            or subscription.customer_id != customer_id
        ):
            return None
        lines = await LedgerRepository(uow).for_subscription(subscription_id)
    return SubscriptionCharges(currency=subscription.currency, lines=lines)

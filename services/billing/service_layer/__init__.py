"""Billing's use cases, each run by the message bus in one unit of work."""

from __future__ import annotations

from services.billing.domain.commands import StartBilling
from services.billing.service_layer import queries
from services.billing.service_layer.handlers import start_billing
from shared.service_layer.messagebus import Handler

HANDLERS: dict[type, Handler] = {
    StartBilling: start_billing,
    queries.ListInvoices: queries.list_invoices,
    queries.GetInvoice: queries.get_invoice,
    queries.SubscriptionCharges: queries.subscription_charges,
}

"""Billing's use cases, each run by the message bus in one unit of work."""

from __future__ import annotations

from services.billing.domain import commands
from services.billing.service_layer import facts, queries
from services.billing.service_layer.due_work import charge_started_periods
from services.billing.service_layer.handlers import start_billing
from shared.service_layer.messagebus import Handler

HANDLERS: dict[type, Handler] = {
    commands.StartBilling: start_billing,
    commands.ApplyQuantityChange: facts.apply_quantity_change,
    commands.SuspendBilling: facts.suspend_billing,
    commands.ReinstateBilling: facts.reinstate_billing,
    commands.CancelBilling: facts.cancel_billing,
    commands.RecordScheduledCancellation: facts.record_scheduled_cancellation,
    commands.RenewTerm: facts.renew_term,
    commands.EndBilling: facts.end_billing,
    commands.ChargeDuePeriods: charge_started_periods,
    queries.ListInvoices: queries.list_invoices,
    queries.GetInvoice: queries.get_invoice,
    queries.SubscriptionCharges: queries.subscription_charges,
    queries.DueSubscriptions: queries.due_subscriptions,
}

"""Ordering's use cases: each message type and the one handler the bus runs for it."""

from __future__ import annotations

from collections.abc import Mapping

from services.ordering.domain import commands
from services.ordering.service_layer import handlers, queries, subscription_view
from shared.service_layer.messagebus import Handler

HANDLERS: Mapping[type, Handler] = {
    # the partner API's changes
    commands.CreateCustomer: handlers.create_customer,
    commands.CreateCart: handlers.create_cart,
    commands.Checkout: handlers.checkout,
    commands.ChangeSubscription: handlers.change_subscription,
    # provisioning's facts, into the partner's view of each subscription
    commands.RecordActivationLink: subscription_view.record_activation_link,
    commands.RecordLicenses: subscription_view.record_licenses,
    commands.RecordActivation: subscription_view.record_activation,
    commands.RecordQuantityAccepted: subscription_view.record_quantity_accepted,
    commands.RecordQuantityRejected: subscription_view.record_quantity_rejected,
    commands.RecordRenewal: subscription_view.record_renewal,
    commands.RecordEnd: subscription_view.record_end,
    commands.RecordCancellationScheduled: subscription_view.record_cancellation_scheduled,
    # the partner API's reads
    queries.ListOffers: queries.list_offers,
    queries.ListCustomers: queries.list_customers,
    queries.GetCustomer: queries.get_customer,
    queries.GetCart: queries.get_cart,
    queries.ListOrders: queries.list_orders,
    queries.GetOrder: queries.get_order,
    queries.ActivationLinks: queries.activation_links,
    queries.ListSubscriptions: queries.list_subscriptions,
    queries.GetSubscription: queries.get_subscription,
}

__all__ = ["HANDLERS"]

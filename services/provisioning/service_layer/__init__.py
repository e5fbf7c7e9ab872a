"""Provisioning's use cases: each command and query type and the one handler that runs it.

The message bus (`shared/service_layer/messagebus.py`) is built from `HANDLERS` and
binds each handler's dependencies (`catalog`, `tokens`) by parameter name.
"""

from __future__ import annotations

from services.provisioning.domain.commands import (
    AssignLicenses,
    ChangeByPublisher,
    ConfirmActivation,
    ProvisionPurchase,
)
from services.provisioning.service_layer import handlers, queries
from shared.service_layer.messagebus import Handler

HANDLERS: dict[type, Handler] = {
    ProvisionPurchase: handlers.provision_purchase,
    AssignLicenses: handlers.assign_licenses,
    ConfirmActivation: handlers.confirm_activation,
    ChangeByPublisher: handlers.change_by_publisher,
    queries.Resolve: queries.resolve,
    queries.ListSubscriptions: queries.list_subscriptions,
    queries.GetSubscription: queries.get_subscription,
    queries.ListAvailablePlans: queries.list_available_plans,
    queries.ListOperations: queries.list_operations,
    queries.GetOperation: queries.get_operation,
}

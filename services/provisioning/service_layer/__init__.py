"""Provisioning's use cases: each command and query type and the one handler that runs it.

The message bus (`shared/service_layer/messagebus.py`) is built from `HANDLERS` and
binds each handler's dependencies (`catalog`, `tokens`) by parameter name.
"""

from __future__ import annotations

from services.provisioning.domain import commands
from services.provisioning.service_layer import handlers, operations, queries
from shared.service_layer.messagebus import Handler

HANDLERS: dict[type, Handler] = {
    commands.ProvisionPurchase: handlers.provision_purchase,
    commands.AssignLicenses: handlers.assign_licenses,
    commands.ConfirmActivation: handlers.confirm_activation,
    commands.ChangeByPublisher: handlers.change_by_publisher,
    # the partner's requests, the publisher's answers, the due work's decisions
    commands.ChangeDetails: operations.change_details,
    commands.RequestQuantityChange: operations.request_quantity_change,
    commands.Suspend: operations.suspend,
    commands.Reinstate: operations.reinstate,
    commands.Cancel: operations.cancel,
    commands.AnswerOperation: operations.answer_operation,
    commands.RecordDelivery: operations.record_delivery,
    commands.AcceptSilentChange: operations.accept_silent_change,
    commands.EndTerms: operations.end_terms,
    queries.Resolve: queries.resolve,
    queries.ListSubscriptions: queries.list_subscriptions,
    queries.GetSubscription: queries.get_subscription,
    queries.ListAvailablePlans: queries.list_available_plans,
    queries.ListOperations: queries.list_operations,
    queries.GetOperation: queries.get_operation,
    queries.DueDeliveries: queries.due_deliveries,
    queries.SilentSeatChanges: queries.silent_seat_changes,
    queries.EndedTerms: queries.ended_terms,
}

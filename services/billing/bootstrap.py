"""Composition root: what billing is (`DEFINITION`) -> the running app. No I/O here.

No dependencies beyond the clock: billing prices from the ActivationCompleted facts
(locked at purchase), never from the live catalog.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.billing.adapters.wire_events import EVENTS
from services.billing.domain.subscription import BilledSubscription
from services.billing.entrypoints.consumers import SUBSCRIPTION_FACTS
from services.billing.entrypoints.http import routers
from services.billing.service_layer import HANDLERS
from services.billing.service_layer.due_work import due_work
from services.billing.service_layer.unit_of_work import BillingUnitOfWork
from services.billing.settings import BillingSettings
from shared.clock import Clock
from shared.service import ServiceDefinition, assemble_service
from shared.store.port import Store

SERVICE = BillingSettings.SERVICE
DEFINITION = ServiceDefinition(
    name=SERVICE,
    title="CSP billing",
    summary=(
        "Billing follows provisioning's facts on provisioning.subscriptions (group "
        "billing.activations): ActivationCompleted charges the first period; seat "
        "changes are prorated, suspensions stop charging, reinstatements charge the rest "
        "of the period, renewals charge the new term, cancellations are credited. Its "
        "due work charges each later period of a term as it starts. Every posting is "
        "invoiced (or credited) at once; it publishes ChargePosted, InvoiceIssued and CreditNoteIssued on "
        "billing.ledger."
    ),
    unit_of_work=BillingUnitOfWork,
    events=EVENTS,
    handlers=HANDLERS,
    consumers=[SUBSCRIPTION_FACTS],
    routers=routers,
    due_work=due_work,
    due_models=[BilledSubscription],
)


def build_app(
    settings: BillingSettings, *, store: Store | None = None, clock: Clock | None = None
) -> FastAPI:
    return assemble_service(DEFINITION, settings, store=store, clock=clock)

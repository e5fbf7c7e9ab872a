"""Composition root: what billing is (`DEFINITION`) -> the running app. No I/O here.

No dependencies beyond the clock: billing prices from the ActivationCompleted facts
(locked at purchase), never from the live catalog.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.billing.adapters.wire_events import EVENTS
from services.billing.entrypoints.consumers import ACTIVATIONS
from services.billing.entrypoints.http import routers
from services.billing.service_layer import HANDLERS
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
        "Billing consumes ActivationCompleted from provisioning.subscriptions (group "
        "billing.activations), posts the first period's charge and invoices it; it "
        "publishes ChargePosted and InvoiceIssued on billing.ledger."
    ),
    unit_of_work=BillingUnitOfWork,
    events=EVENTS,
    handlers=HANDLERS,
    consumers=[ACTIVATIONS],
    routers=routers,
)


def build_app(
    settings: BillingSettings, *, store: Store | None = None, clock: Clock | None = None
) -> FastAPI:
    return assemble_service(DEFINITION, settings, store=store, clock=clock)

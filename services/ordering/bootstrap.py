"""Composition root: what ordering is (`DEFINITION`), assembled by
`shared.service.assemble_service` into the message bus, runtime and HTTP app.

No I/O here but reading the catalog file: the app's lifespan starts the runtime.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.ordering.adapters.wire_events import EVENTS
from services.ordering.domain.subscription import Subscription
from services.ordering.entrypoints.consumers import SUBSCRIPTION_VIEW
from services.ordering.entrypoints.http import routers
from services.ordering.entrypoints.subscription_schemas import partner_state
from services.ordering.service_layer import HANDLERS
from services.ordering.service_layer.unit_of_work import OrderingUnitOfWork
from services.ordering.settings import OrderingSettings
from shared.catalog import Catalog
from shared.clock import Clock
from shared.service import ServiceDefinition, assemble_service
from shared.store.port import Store

DEFINITION = ServiceDefinition(
    name=OrderingSettings.SERVICE,
    title="CSP ordering (partner API)",
    summary=(
        "Ordering publishes on ordering.subscriptions (key = subscription id) "
        "SubscriptionPurchased and the partner's change requests (SubscriptionDetailsChanged, "
        "QuantityChangeRequested, SuspensionRequested, ReinstatementRequested, "
        "CancellationRequested), and consumes provisioning.subscriptions (activation, seat "
        "change outcomes, renewals, scheduled cancellations and the end) into the partner's "
        "view of each subscription."
    ),
    unit_of_work=OrderingUnitOfWork,
    events=EVENTS.with_state(Subscription, "partner", partner_state),
    handlers=HANDLERS,
    consumers=[SUBSCRIPTION_VIEW],
    routers=routers,
    advances_test_clock=True,  # the partner's POST /admin/test-clock lives here
)


def build_app(
    settings: OrderingSettings,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    catalog: Catalog | None = None,
) -> FastAPI:
    catalog = catalog if catalog is not None else settings.catalog()
    return assemble_service(DEFINITION, settings, store=store, clock=clock, catalog=catalog)

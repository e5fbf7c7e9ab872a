"""Composition root: what provisioning is (`DEFINITION`) and how it is built.

`shared.service.assemble_service` turns the definition into the message bus, the
runtime (store, broker, relay) and the HTTP app (docs/architecture.md, "The shape of
a service"). No network or store I/O here; only the catalog file is read.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.provisioning.adapters.purchase_tokens import PurchaseTokens
from services.provisioning.adapters.wire_events import EVENTS
from services.provisioning.entrypoints.consumers import PURCHASES
from services.provisioning.entrypoints.headers import install_tracking_headers
from services.provisioning.entrypoints.http import routers
from services.provisioning.service_layer import HANDLERS
from services.provisioning.service_layer.unit_of_work import ProvisioningUnitOfWork
from services.provisioning.settings import ProvisioningSettings
from shared.catalog import Catalog
from shared.clock import Clock
from shared.service import ServiceDefinition, assemble_service
from shared.store.port import Store

SERVICE = ProvisioningSettings.SERVICE
DEFINITION = ServiceDefinition(
    name=SERVICE,
    title="CSP marketplace provisioning (SaaS Fulfillment API v2)",
    summary=(
        "Provisioning consumes SubscriptionPurchased from ordering.subscriptions and "
        "publishes ActivationLinkIssued, LicensesAssigned and ActivationCompleted on "
        "provisioning.subscriptions (key = subscription id)."
    ),
    unit_of_work=ProvisioningUnitOfWork,
    events=EVENTS,
    handlers=HANDLERS,
    consumers=[PURCHASES],
    routers=routers,
    install=install_tracking_headers,
)


def build_app(
    settings: ProvisioningSettings,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    catalog: Catalog | None = None,
) -> FastAPI:
    clock = clock if clock is not None else Clock()
    tokens = PurchaseTokens(
        settings.csp_purchase_token_secret, settings.csp_purchase_token_ttl, clock
    )
    catalog = catalog if catalog is not None else settings.catalog()
    return assemble_service(
        DEFINITION,
        settings,
        store=store,
        clock=clock,
        catalog=catalog,
        tokens=tokens,
        page_size=settings.csp_publisher_page_size,
    )

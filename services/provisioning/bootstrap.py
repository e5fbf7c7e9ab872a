"""Composition root: what provisioning is (`DEFINITION`) and how it is built.

`shared.service.assemble_service` turns the definition into the message bus, the
runtime (store, broker, relay), the due work and the HTTP app (docs/architecture.md,
"The shape of a service"). No network or store I/O here; only the catalog file is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.provisioning.adapters.purchase_tokens import PurchaseTokens
from services.provisioning.adapters.webhooks import HttpWebhookSender
from services.provisioning.adapters.wire_events import EVENTS
from services.provisioning.domain.model import SaasSubscription
from services.provisioning.entrypoints.consumers import PURCHASES
from services.provisioning.entrypoints.headers import install_tracking_headers
from services.provisioning.entrypoints.http import routers
from services.provisioning.entrypoints.presenters import publisher_state
from services.provisioning.service_layer import HANDLERS
from services.provisioning.service_layer.due_work import WebhookSender, due_work
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
        "Provisioning consumes SubscriptionPurchased and the partner's requests "
        "(SubscriptionDetailsChanged, QuantityChangeRequested, SuspensionRequested, "
        "ReinstatementRequested, CancellationRequested) from ordering.subscriptions, "
        "tells the publisher by webhook, and publishes ActivationLinkIssued, "
        "LicensesAssigned, ActivationCompleted and the facts of each change, renewal and "
        "expiry on provisioning.subscriptions (key = subscription id)."
    ),
    unit_of_work=ProvisioningUnitOfWork,
    events=EVENTS.with_state(SaasSubscription, "publisher", publisher_state),
    handlers=HANDLERS,
    consumers=[PURCHASES],
    routers=routers,
    due_work=due_work,
    due_models=[SaasSubscription],
    install=install_tracking_headers,
)


def build_app(
    settings: ProvisioningSettings,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    catalog: Catalog | None = None,
    webhooks: WebhookSender | None = None,
) -> FastAPI:
    """`webhooks` replaces the HTTP sender (tests); the default one is closed on shutdown."""
    clock = clock if clock is not None else Clock()
    tokens = PurchaseTokens(
        settings.csp_purchase_token_secret, settings.csp_purchase_token_ttl, clock
    )
    catalog = catalog if catalog is not None else settings.catalog()
    sender = HttpWebhookSender(catalog, timeout_seconds=settings.csp_webhook_timeout_seconds)
    app = assemble_service(
        DEFINITION,
        settings,
        store=store,
        clock=clock,
        catalog=catalog,
        tokens=tokens,
        page_size=settings.csp_publisher_page_size,
        webhooks=webhooks if webhooks is not None else sender,
    )
    _close_on_shutdown(app, sender)
    return app


def _close_on_shutdown(app: FastAPI, sender: HttpWebhookSender) -> None:
    """After the service's own shutdown (which stops the due work), close the client."""
    serve = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[None]:
        try:
            async with serve(running):
                yield
        finally:
            await sender.aclose()

    app.router.lifespan_context = lifespan

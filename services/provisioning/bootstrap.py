"""Composition root: settings -> store, clock, catalog, broker, runtime, app.

No network or store I/O here (the lifespan connects); only the catalog file is read.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.provisioning.adapters.purchase_tokens import PurchaseTokens
from services.provisioning.entrypoints.consumers import purchases_consumer
from services.provisioning.entrypoints.headers import install_tracking_headers
from services.provisioning.entrypoints.http import build_router
from shared.catalog import Catalog, load_catalog
from shared.clock import Clock
from shared.events.provisioning import ActivationCompleted, ActivationLinkIssued, LicensesAssigned
from shared.http.auth import Authenticator
from shared.service import assemble_service
from shared.settings import Settings
from shared.store.port import Store
from shared.store.sqlite import SqliteStore

SERVICE = "provisioning"
PUBLISHES = [ActivationLinkIssued, LicensesAssigned, ActivationCompleted]


def build_app(
    settings: Settings,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    catalog: Catalog | None = None,
) -> FastAPI:
    store = store if store is not None else SqliteStore(settings.store_path(SERVICE))
    clock = clock if clock is not None else Clock()
    catalog = catalog if catalog is not None else load_catalog(settings.csp_catalog)
    tokens = PurchaseTokens(
        settings.csp_purchase_token_secret, settings.csp_purchase_token_ttl, clock
    )
    auth = Authenticator(settings.csp_jwt_secret)
    app = assemble_service(
        name=SERVICE,
        title="CSP marketplace provisioning (SaaS Fulfillment API v2)",
        settings=settings,
        store=store,
        clock=clock,
        auth=auth,
        consumers=[purchases_consumer(store=store, catalog=catalog, tokens=tokens, clock=clock)],
        publishes=PUBLISHES,
        routers=[build_router(store=store, clock=clock, catalog=catalog, tokens=tokens, auth=auth)],
    )
    install_tracking_headers(app)
    return app

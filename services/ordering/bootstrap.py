"""Composition root: settings -> store, clock, catalog, broker, runtime, app. No I/O here;
the app's lifespan starts the runtime (store, broker, consumers, outbox relay)."""

from __future__ import annotations

from fastapi import FastAPI

from services.ordering.entrypoints.consumers import subscription_view_consumer
from services.ordering.entrypoints.http import build_router, install_domain_errors
from shared.catalog import Catalog, load_catalog
from shared.clock import Clock
from shared.events.ordering import SubscriptionPurchased
from shared.http.auth import Authenticator
from shared.service import assemble_service
from shared.settings import Settings
from shared.store.port import Store
from shared.store.sqlite import SqliteStore

SERVICE = "ordering"


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
    auth = Authenticator(settings.csp_jwt_secret)
    app = assemble_service(
        name=SERVICE,
        title="CSP ordering (partner API)",
        settings=settings,
        store=store,
        clock=clock,
        auth=auth,
        consumers=[subscription_view_consumer(store)],
        publishes=[SubscriptionPurchased],
        routers=[build_router(store=store, clock=clock, catalog=catalog, auth=auth)],
        advances_test_clock=True,
    )
    install_domain_errors(app)
    return app

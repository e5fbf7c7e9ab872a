"""Composition root: settings -> store, clock, broker, runtime, app. No I/O here."""

from __future__ import annotations

from fastapi import FastAPI

from services.billing.entrypoints.consumers import activation_consumer
from services.billing.entrypoints.http import make_router
from shared.catalog import Catalog
from shared.clock import Clock
from shared.events.billing import ChargePosted, InvoiceIssued
from shared.http.auth import Authenticator
from shared.service import assemble_service
from shared.settings import Settings
from shared.store.port import Store
from shared.store.sqlite import SqliteStore

SERVICE = "billing"


def build_app(
    settings: Settings,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    catalog: Catalog | None = None,
) -> FastAPI:
    # `catalog` keeps the signature every service shares; billing prices from the
    # ActivationCompleted facts (locked at purchase), never from the live catalog.
    del catalog
    store = store or SqliteStore(settings.store_path(SERVICE))
    clock = clock or Clock()
    auth = Authenticator(settings.csp_jwt_secret)
    return assemble_service(
        name=SERVICE,
        title="CSP billing",
        settings=settings,
        store=store,
        clock=clock,
        auth=auth,
        consumers=[activation_consumer(store, clock)],
        publishes=[ChargePosted, InvoiceIssued],
        routers=[make_router(store, auth)],
    )

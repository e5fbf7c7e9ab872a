"""A service app built the way every service is built, with one route per kind of
caller: what the authentication tests call (the broker is never started)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, FastAPI

from shared.clock import FixedClock
from shared.http.app import create_service_app
from shared.http.auth import Authenticator, PartnerUser, PublisherClient
from shared.messaging.kafka import make_broker
from shared.messaging.runtime import ServiceRuntime
from shared.store.memory import MemoryStore


def app_with(auth: Authenticator) -> FastAPI:
    router = APIRouter()

    @router.get("/read")
    async def read(user: PartnerUser = Depends(auth.partner_reader)) -> dict[str, str]:
        return {"user": user.user_id}

    @router.post("/write")
    async def write(user: PartnerUser = Depends(auth.partner_writer)) -> dict[str, str]:
        return {"user": user.user_id}

    @router.get("/publish")
    async def publish(client: PublisherClient = Depends(auth.publisher)) -> dict[str, str]:
        return {"publisher": client.publisher_id}

    runtime = ServiceRuntime(
        name="test",
        store=MemoryStore(),
        broker=make_broker("127.0.0.1:1", client_id="test"),
        clock=FixedClock(datetime(2026, 11, 22, tzinfo=UTC)),
    )
    return create_service_app(runtime=runtime, title="test", routers=[router])

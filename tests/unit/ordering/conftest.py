"""Ordering's app over a MemoryStore and a FixedClock, driven without its lifespan
(so no broker is needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from services.ordering.bootstrap import build_app
from shared.clock import FixedClock
from shared.store.memory import MemoryStore
from tests.unit.ordering.helpers import NOW, SETTINGS


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def store(clock: FixedClock) -> MemoryStore:
    return MemoryStore(clock=clock)


@pytest.fixture
def app(store: MemoryStore, clock: FixedClock) -> FastAPI:
    return build_app(SETTINGS, store=store, clock=clock)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http

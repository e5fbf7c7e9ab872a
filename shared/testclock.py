"""The test clock (CONTRACT.md): `POST /admin/test-clock` on ordering moves every
service's business time forward; `GET /admin/test-clock` shows a service's own.

Ordering records the new offset and emits TestClockAdvanced in one unit of work;
every service (ordering too) applies it from the topic and persists it, so a
restarted service keeps its time. Never mounted unless CSP_TEST_CLOCK=true, which
production refuses.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from shared.clock import Clock
from shared.events.testclock import TEST_CLOCK_TOPIC, TestClockAdvanced, TestClockAdvancedData
from shared.http.auth import Authenticator, PartnerUser
from shared.http.errors import bad_request
from shared.messaging.consumer import EventConsumer
from shared.messaging.outbox import emit
from shared.periods import add
from shared.store.port import Store, UnitOfWork

COLLECTION, KEY = "test_clock", "offset"
DueWork = Callable[[UnitOfWork], Awaitable[None]]  # runs in the applying transaction


class AdvanceBy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advanceBy: str  # noqa: N815 - the wire name


@dataclass
class TestClock:
    """What a service needs to take part: a consumer, routes, a start hook."""

    __test__ = False

    service: str
    store: Store
    clock: Clock
    due_work: list[DueWork] = field(default_factory=list)  # run after each advance

    def consumer(self) -> EventConsumer:
        return EventConsumer(
            name=f"{self.service}.test-clock",
            topic=TEST_CLOCK_TOPIC,
            store=self.store,
            handlers={TestClockAdvanced: self._apply},
        )

    async def _apply(self, event: TestClockAdvanced, uow: UnitOfWork) -> None:
        await uow.collection(COLLECTION).put(KEY, {"seconds": event.data.offset_seconds})
        self.clock.offset = timedelta(seconds=event.data.offset_seconds)
        for work in self.due_work:
            await work(uow)

    async def restore(self) -> None:
        """Start hook: pick up the offset this service had before a restart."""
        async with self.store.unit_of_work() as uow:
            saved = await uow.collection(COLLECTION).get(KEY)
        if saved:
            self.clock.offset = timedelta(seconds=saved["seconds"])

    def router(self, auth: Authenticator, *, can_advance: bool) -> APIRouter:
        router = APIRouter(prefix="/admin/test-clock", tags=["test clock"])

        @router.get("")
        async def read(_: PartnerUser = Depends(auth.partner_reader)) -> dict[str, str]:
            return {"now": _iso(self.clock.now())}

        if can_advance:

            @router.post("")
            async def advance(
                body: AdvanceBy, _: PartnerUser = Depends(auth.partner_reader)
            ) -> dict[str, str]:
                return {"now": _iso(await self.advance(body.advanceBy))}

        return router

    async def advance(self, duration: str) -> datetime:
        """Record and announce the new offset; each service does its due work on receipt."""
        try:
            target = add(self.clock.now(), duration)
        except ValueError as error:
            raise bad_request(str(error), target="advanceBy") from error
        if target <= self.clock.now():
            raise bad_request("advanceBy must be a positive ISO 8601 duration", target="advanceBy")
        offset = (target - self.clock.system_now()).total_seconds()
        async with self.store.unit_of_work() as uow:
            await uow.collection(COLLECTION).put(KEY, {"seconds": offset})
            emit(
                uow,
                TestClockAdvanced(
                    source=self.service,
                    time=target,
                    subject="test-clock",
                    correlation_id=str(uuid.uuid4()),
                    data=TestClockAdvancedData(offset_seconds=offset, now=target),
                ),
            )
            await uow.commit()
        self.clock.offset = timedelta(seconds=offset)
        return target


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")

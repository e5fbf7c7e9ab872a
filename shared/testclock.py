"""The test clock: one bounded module a service plugs in when CSP_TEST_CLOCK=true.

`POST /admin/test-clock {"advanceBy": "PT25H"}` on ordering records the new offset
and announces it (TestClockAdvanced) in one commit; every service (ordering too)
applies it from the topic, persists it, and only once that commit succeeded moves its
in-memory clock and runs what became due (renewals, timeouts: the service's
`due_work`). A restarted service restores its offset at start. Production refuses
the setting, so none of this is ever mounted there. It speaks to a service only
through the service's own message bus, like any other module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from shared.clock import Clock
from shared.domain.aggregate import Aggregate, DomainEvent
from shared.errors import RuleBroken
from shared.events.testclock import TEST_CLOCK_TOPIC, TestClockAdvanced
from shared.http.auth import Authenticator, PartnerUser
from shared.messaging.consumer import EventConsumer
from shared.messaging.mapping import EventMapping
from shared.periods import add
from shared.service_layer.messagebus import Command, MessageBus, Query
from shared.service_layer.repository import Repository
from shared.service_layer.unit_of_work import UnitOfWork
from shared.store.port import Store

SUBJECT = "test-clock"  # the key of its messages: one clock, one partition, in order


class ClockOffset(Aggregate):
    """The one persisted offset of a service's business time."""

    COLLECTION: ClassVar[str] = "test_clock"
    id: str = "offset"
    seconds: float = 0.0
    correlation_id: str | None = None


class TestClockMoved(DomainEvent):
    __test__ = False
    offset_seconds: float
    now: datetime


class AdvanceTestClock(Command):
    __test__ = False
    advance_by: str  # ISO 8601 duration


class ApplyTestClock(Command):
    __test__ = False
    offset_seconds: float


class ReadTestClock(Query):
    __test__ = False


class _Offsets(Repository[ClockOffset]):
    model = ClockOffset


_SOME_DAY = datetime(2000, 1, 1, tzinfo=UTC)
MAX_ADVANCE = timedelta(days=366_000)  # a thousand years: far beyond any test's need


class AdvanceBy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advanceBy: str = Field(max_length=64)  # noqa: N815 - the wire name; ISO 8601 duration

    @field_validator("advanceBy")
    @classmethod
    def _at_most_a_millennium(cls, value: str) -> str:
        # A move past MAX_ADVANCE (or a number too big for a date at all) is refused
        # here, a 400 naming the field, so that now + the move stays a date; a
        # malformed duration is the handler's (RuleBroken).
        try:
            moved = add(_SOME_DAY, value) - _SOME_DAY
        except OverflowError:
            moved = None
        except ValueError:
            return value
        if moved is None or moved > MAX_ADVANCE:
            raise PydanticCustomError("duration_too_large", "must be at most 1000 years")
        return value


class TestClock:
    __test__ = False

    def __init__(
        self,
        service: str,
        clock: Clock,
        *,
        can_advance: bool,
        catch_up: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.service = service
        self.clock = clock
        self.can_advance = can_advance
        self.catch_up = catch_up  # the service's due work, run once the clock moved

    @property
    def events(self) -> EventMapping:
        routes = {TestClockMoved: TestClockAdvanced} if self.can_advance else {}
        return EventMapping(self.service, routes)

    @property
    def handlers(self) -> dict[type, Callable[..., Awaitable[object]]]:
        handlers: dict[type, Callable[..., Awaitable[object]]] = {
            ApplyTestClock: self._apply,
            ReadTestClock: self._read,
        }
        if self.can_advance:
            handlers[AdvanceTestClock] = self._advance
        return handlers

    def consumer(self, bus: MessageBus) -> EventConsumer:
        return EventConsumer(
            name=f"{self.service}.test-clock",
            topic=TEST_CLOCK_TOPIC,
            bus=bus,
            commands={TestClockAdvanced: lambda e: ApplyTestClock(e.data.offset_seconds)},
        )

    async def restore(self, store: Store) -> None:
        """Start hook: pick up the offset this service had before a restart."""
        async with store.read_only() as tx:
            saved = await tx.collection(ClockOffset.COLLECTION).get("offset")
        if saved:
            self.clock.offset = timedelta(seconds=ClockOffset.model_validate(saved).seconds)

    async def _advance(self, command: AdvanceTestClock, uow: UnitOfWork) -> datetime:
        now = self.clock.now()
        try:
            target = add(now, command.advance_by)
        except OverflowError as error:  # a clock already moved to the end of dates
            raise RuleBroken("advanceBy moves past the last date there is", "advanceBy") from error
        except ValueError as error:
            raise RuleBroken(str(error), "advanceBy") from error
        if target <= now:
            raise RuleBroken("advanceBy must be a positive ISO 8601 duration", "advanceBy")
        offset = (target - self.clock.system_now()).total_seconds()
        saved = await self._offset(uow)
        saved.seconds = offset
        saved.record(TestClockMoved(SUBJECT, offset_seconds=offset, now=target))
        uow.after_commit(lambda: self._move(offset))
        return target

    async def _apply(self, command: ApplyTestClock, uow: UnitOfWork) -> None:
        saved = await self._offset(uow)
        saved.seconds = command.offset_seconds
        uow.after_commit(lambda: self._move_and_catch_up(command.offset_seconds))

    async def _read(self, _: ReadTestClock, uow: UnitOfWork) -> datetime:
        return self.clock.now()

    async def _offset(self, uow: UnitOfWork) -> ClockOffset:
        offsets = uow.repository(_Offsets)
        return await offsets.get("offset") or await offsets.add(ClockOffset())

    def _move(self, offset_seconds: float) -> None:
        self.clock.offset = timedelta(seconds=offset_seconds)

    async def _move_and_catch_up(self, offset_seconds: float) -> None:
        self._move(offset_seconds)
        if self.catch_up is not None:
            await self.catch_up()

    def router(self, bus: MessageBus, auth: Authenticator) -> APIRouter:
        router = APIRouter(prefix="/admin/test-clock", tags=["test clock"])

        @router.get("")
        async def read(_: PartnerUser = Depends(auth.partner_reader)) -> dict[str, str]:
            return {"now": _iso(await bus.handle(ReadTestClock()))}

        if self.can_advance:

            @router.post("")
            async def advance(
                body: AdvanceBy, _: PartnerUser = Depends(auth.partner_reader)
            ) -> dict[str, str]:
                return {"now": _iso(await bus.handle(AdvanceTestClock(body.advanceBy)))}

        return router


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")

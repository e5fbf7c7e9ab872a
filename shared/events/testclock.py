"""The test clock's one event (only ever emitted with CSP_TEST_CLOCK=true)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from shared.events.envelope import CamelModel, Event

TEST_CLOCK_TOPIC = "ordering.test-clock"


class TestClockAdvancedData(CamelModel):
    offset_seconds: float  # business time = wall-clock time + this
    now: datetime


class TestClockAdvanced(Event):
    __test__ = False  # not a pytest test class, despite the name
    TOPIC: ClassVar[str] = TEST_CLOCK_TOPIC
    type: Literal["TestClockAdvanced"] = "TestClockAdvanced"
    data: TestClockAdvancedData

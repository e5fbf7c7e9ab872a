"""Time, injected everywhere, so the test clock can move every service at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time plus an offset that only the test clock ever changes."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def system_now(self) -> datetime:
        """Real time: for leases and timeouts of the machinery, never for business rules."""
        return datetime.now(UTC)

    def now(self) -> datetime:
        """Business time: term dates, windows, token expiry."""
        return self.system_now() + self.offset


class FixedClock(Clock):
    """A clock that stands still until told to move; for unit tests."""

    def __init__(self, at: datetime) -> None:
        super().__init__()
        self.at = at

    def system_now(self) -> datetime:
        return self.at

    def advance(self, by: timedelta) -> None:
        self.at += by

"""The progress display of commands that wait for the system (a purchase's activation
link, the publisher's answer to a seat change) or do many things (dead letters
replayed batch by batch): on stderr, a spinner, what is awaited
now and its latest state, the steps done and the time taken. Off a terminal it prints
its last state once, when it ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, TypeVar

from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from csp_cli.formatting import console

T = TypeVar("T")
POLL_INTERVAL_S = 0.25  # one cheap GET per poll; a hop of the flow takes tens of ms


@dataclass(frozen=True)
class Polled(Generic[T]):
    value: T  # the last answer
    reached: bool  # False: the time ran out first


class Steps:
    def __init__(self, total: int) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("[dim]{task.fields[state]}"),
            BarColumn(bar_width=12),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console(stderr=True),
        )
        self._task: TaskID = self._progress.add_task("starting", total=total, state="")

    def __enter__(self) -> Steps:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if error is not None:  # the error line says what happened: no half-done display
            self._progress.live.transient = True
        self._progress.stop()

    def now(self, description: str, state: str = "") -> None:
        # States quote names typed by people: shown as written, never read as markup.
        self._progress.update(self._task, description=description, state=escape(state))

    def done(self, description: str | None = None, *, count: int = 1) -> None:
        self._progress.advance(self._task, count)
        if description is not None:
            self.now(description)

    def poll(
        self,
        probe: Callable[[], T],
        reached: Callable[[T], bool],
        state: Callable[[T], str],
        *,
        timeout: float,
        interval: float = POLL_INTERVAL_S,
    ) -> Polled[T]:
        """Ask `probe()` until its answer is `reached` or `timeout` seconds passed,
        showing `state(answer)` each time."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            self._progress.update(self._task, state=escape(state(value)))
            if reached(value):
                self.done()
                return Polled(value, True)
            if time.monotonic() >= deadline:
                return Polled(value, False)
            time.sleep(interval)

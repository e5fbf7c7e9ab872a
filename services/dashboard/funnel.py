"""The subscription funnel: purchased -> link issued -> licensed -> activated -> charged.

Each stage is marked by the event types below. A subscription has reached the furthest
stage any of its events marks (a later stage implies the earlier ones, even when their
event was not seen), and is counted in every stage up to it. It sits in that stage
since the first event that brought it there; one that ended (cancelled or expired) is
never stuck, and neither is one that reached the last stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.dashboard.records import SeenEvent


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    event_types: frozenset[str]


STAGES: tuple[Stage, ...] = (
    Stage("purchased", "Purchased", frozenset({"SubscriptionPurchased"})),
    Stage("linkIssued", "Link issued", frozenset({"ActivationLinkIssued"})),
    Stage("licensed", "Licensed", frozenset({"LicensesAssigned"})),
    Stage("activated", "Activated", frozenset({"ActivationCompleted"})),
    Stage("charged", "Charged", frozenset({"ChargePosted"})),
)
ENDING_TYPES = frozenset({"SubscriptionCancelled", "SubscriptionExpired"})
_STAGE_OF = {t: index for index, stage in enumerate(STAGES) for t in stage.event_types}
MAX_STUCK_LISTED = 200


@dataclass
class Progress:
    """How far one subscription got, by the events seen so far."""

    subscription_id: str
    correlation_id: str
    stage: int = -1  # index into STAGES; -1: no stage event seen yet
    entered_ms: int = 0  # when it reached `stage` (the record time of that event)
    ended: bool = False
    reached_ms: dict[int, int] = field(default_factory=dict)

    def see(self, event: SeenEvent) -> None:
        if event.type in ENDING_TYPES:
            self.ended = True
            return
        index = _STAGE_OF.get(event.type)
        if index is None:
            return
        first = self.reached_ms.get(index)
        self.reached_ms[index] = (
            event.recorded_ms if first is None else min(first, event.recorded_ms)
        )
        if index > self.stage:
            self.stage, self.entered_ms = index, self.reached_ms[index]
        elif index == self.stage:
            self.entered_ms = self.reached_ms[index]


class Funnel:
    def __init__(self) -> None:
        self._progress: dict[str, Progress] = {}

    def see(self, event: SeenEvent) -> None:
        progress = self._progress.get(event.subject)
        if progress is None:
            progress = self._progress[event.subject] = Progress(event.subject, event.correlation_id)
        progress.see(event)

    def snapshot(self, now_ms: int, stuck_after_s: float) -> dict[str, Any]:
        """Per stage: how many reached it and how many are in it now; the stuck ones,
        oldest first (at most MAX_STUCK_LISTED listed, `stuckCount` counts them all)."""
        tracked = [p for p in self._progress.values() if p.stage >= 0]
        last = len(STAGES) - 1
        stuck = sorted(
            (
                p
                for p in tracked
                if not p.ended and p.stage < last and (now_ms - p.entered_ms) / 1000 > stuck_after_s
            ),
            key=lambda p: p.entered_ms,
        )
        return {
            "stuckAfterSeconds": stuck_after_s,
            "stages": [
                {
                    "key": stage.key,
                    "label": stage.label,
                    "eventTypes": sorted(stage.event_types),
                    "reached": sum(1 for p in tracked if p.stage >= index),
                    "inStage": sum(1 for p in tracked if p.stage == index and not p.ended),
                }
                for index, stage in enumerate(STAGES)
            ],
            "ended": sum(1 for p in tracked if p.ended),
            "stuckCount": len(stuck),
            "stuck": [
                {
                    "subscriptionId": p.subscription_id,
                    "correlationId": p.correlation_id,
                    "stage": STAGES[p.stage].key,
                    "since": _iso(p.entered_ms),
                    "ageSeconds": round((now_ms - p.entered_ms) / 1000, 1),
                }
                for p in stuck[:MAX_STUCK_LISTED]
            ],
        }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()

"""The subscription funnel: purchased -> link issued -> licensed -> activated -> charged.

Each stage is marked by the event types below. A subscription has reached the furthest
stage any of its events marks (a later stage implies the earlier ones, even when their
event was not seen), and is counted in every stage up to it. It sits in that stage
since the first event that brought it there; one that ended (cancelled or expired) is
never stuck, and neither is one that reached the last stage.

The counts are counters, moved as each subscription moves: they are not recounted from
the subscriptions held, so they stay exact when the view drops an old subscription's
details (`retire`): its place in the counts stays. When it comes back (a renewal's
charge, a cancellation), `revive` gives it back the standing it had, and it moves on
from there without being counted twice. The stuck list needs the details, so it names
only the subscriptions held (the view drops stuck ones last).
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(slots=True)
class Progress:
    """How far one subscription got, by the events seen so far."""

    subscription_id: str
    correlation_id: str
    stage: int = -1  # index into STAGES; -1: no stage event seen yet
    entered_ms: int = 0  # when it reached `stage` (the record time of that event)
    ended: bool = False

    def see(self, event: SeenEvent) -> None:
        if event.type in ENDING_TYPES:
            self.ended = True
            return
        index = _STAGE_OF.get(event.type)
        if index is None:
            return
        # Only the current stage's first time matters: the stage never goes back.
        if index > self.stage:
            self.stage, self.entered_ms = index, event.recorded_ms
        elif index == self.stage:
            self.entered_ms = min(self.entered_ms, event.recorded_ms)


class Funnel:
    def __init__(self) -> None:
        self._progress: dict[str, Progress] = {}  # the subscriptions held (the view's window)
        self._open: dict[str, Progress] = {}  # of those, the ones that may get stuck
        self._reached = [0] * len(STAGES)  # counters: every subscription ever seen
        self._in_stage = [0] * len(STAGES)
        self._ended = 0
        self.retired = 0  # subscriptions counted whose details were dropped

    def see(self, event: SeenEvent) -> None:
        progress = self._progress.get(event.subject)
        if progress is None:
            progress = self._progress[event.subject] = Progress(event.subject, event.correlation_id)
        self._count(progress, -1)
        progress.see(event)
        self._count(progress, +1)
        if _is_open(progress):
            self._open[event.subject] = progress
        else:
            self._open.pop(event.subject, None)

    def is_open(self, subscription_id: str) -> bool:
        """In a stage before the last and not ended: it may be stuck (dropped last)."""
        return subscription_id in self._open

    def retire(self, subscription_id: str) -> int:
        """Drop its details, keep its place in the counts; the code `revive` takes."""
        progress = self._progress.pop(subscription_id, None)
        self._open.pop(subscription_id, None)
        code = _standing(progress) if progress is not None else 0
        self.retired += 1 if code else 0
        return code

    def revive(self, subscription_id: str, code: int, correlation_id: str) -> None:
        """It came back after `retire`: as far as it was, counted once already."""
        if not code or subscription_id in self._progress:
            return
        self.retired -= 1
        stage, ended, entered_ms = (code & 7) - 1, bool(code & 8), code >> 4
        progress = Progress(
            subscription_id,
            correlation_id,
            stage=stage,
            entered_ms=entered_ms,
            ended=ended,
        )
        self._progress[subscription_id] = progress
        if _is_open(progress):
            self._open[subscription_id] = progress

    def held(self) -> int:
        return len(self._progress)

    def _count(self, progress: Progress, sign: int) -> None:
        if progress.stage < 0:
            return  # not in the funnel (yet)
        for index in range(progress.stage + 1):
            self._reached[index] += sign
        if progress.ended:
            self._ended += sign
        else:
            self._in_stage[progress.stage] += sign

    def snapshot(self, now_ms: int, stuck_after_s: float) -> dict[str, Any]:
        """Per stage: how many reached it and how many are in it now; the stuck ones,
        oldest first (at most MAX_STUCK_LISTED listed, `stuckCount` counts them all)."""
        stuck = sorted(
            (p for p in self._open.values() if (now_ms - p.entered_ms) / 1000 > stuck_after_s),
            key=lambda p: p.entered_ms,
        )
        return {
            "stuckAfterSeconds": stuck_after_s,
            "stages": [
                {
                    "key": stage.key,
                    "label": stage.label,
                    "eventTypes": sorted(stage.event_types),
                    "reached": self._reached[index],
                    "inStage": self._in_stage[index],
                }
                for index, stage in enumerate(STAGES)
            ],
            "ended": self._ended,
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
            "evicted": self.retired,
        }


def _is_open(progress: Progress) -> bool:
    return 0 <= progress.stage < len(STAGES) - 1 and not progress.ended


def _standing(progress: Progress) -> int:
    """Stage, ended and (for an open one, whose age matters) when it entered its stage,
    in one int: a retired subscription costs its id and this. 0: it was not in the
    funnel (nothing to give back)."""
    entered = progress.entered_ms if _is_open(progress) else 0
    return (max(entered, 0) << 4) | (8 if progress.ended else 0) | (progress.stage + 1)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()

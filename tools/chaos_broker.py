"""The broker under chaos: SIGKILL the embedded broker mid-flow, start a new one on the
same port, and take the documented way back (tools.replay_outbox); then, for every run,
the signal that everything was delivered: no outbox row unsent, no consumer lag.

The new broker is empty: topics, consumer groups, committed offsets and every event not
yet consumed are gone. The way back is what an operator runs (README, "Reliability"):
the services' topics created again and their consumer groups joined to the new broker,
then every outbox row sent since the lost broker started queued again; the relays
republish them and the inboxes skip what was handled already.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass

from shared.store.broker_starts import broker_starts, lost_broker_start
from tools.chaos_system import HOST, SERVICES, System
from tools.kafka_admin import lag
from tools.replay_outbox import prepare_broker, replay, store_path

DRAIN_LIMIT_S = 180.0
DRAIN_POLL_S = 0.5


@dataclass(frozen=True)
class BrokerRestart:
    pid: int
    down_s: float
    topics_created: list[str]  # missing on the new broker, created by the way back
    groups_back_s: float  # new broker listening -> every consumer group joined it
    requeued: dict[str, int]  # outbox rows queued again, per service
    back_s: float  # kill -> replay queued


def bootstrap(system: System) -> str:
    return f"{HOST}:{system.broker_port}"


async def restart_broker(system: System, down_s: float) -> BrokerRestart:
    killed_at = time.monotonic()
    pid = system.kill_broker()
    await asyncio.sleep(down_s)
    await system.start_broker()
    # What `python -m tools.replay_outbox --since-broker-start` does, in process.
    data = system.workdir / "data"
    lost = lost_broker_start(broker_starts(data))  # the new one answers: the one before
    missing, waited = await prepare_broker(bootstrap(system))
    requeued = await replay(data, list(SERVICES), lost.started_at)
    return BrokerRestart(
        pid=pid,
        down_s=down_s,
        topics_created=missing,
        groups_back_s=waited,
        requeued=requeued,
        back_s=time.monotonic() - killed_at,
    )


def unsent(system: System) -> dict[str, int]:
    """Outbox rows not yet published, per service (read from its SQLite file)."""
    return {name: _count(system, name, "sent_at IS NULL") for name in SERVICES}


def events(system: System) -> dict[str, int]:
    """Events each service emitted in the run: its outbox rows (a replay adds none)."""
    return {name: _count(system, name, "1") for name in SERVICES}


def _count(system: System, name: str, where: str) -> int:
    path = store_path(system.workdir / "data", name)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM outbox WHERE {where}").fetchone()[0])


async def drained(system: System) -> bool:
    """Every outbox row published and every consumer group caught up on its topic."""
    if any(unsent(system).values()):
        return False
    return not any((await lag(bootstrap(system))).values())


async def wait_drained(system: System, limit_s: float = DRAIN_LIMIT_S) -> float | None:
    """Until drained twice in a row (a relay woken in between shows in the second look);
    the seconds it took, None at the limit."""
    started = time.monotonic()
    streak = 0
    while streak < 2:
        streak = streak + 1 if await drained(system) else 0
        if time.monotonic() - started > limit_s:
            return None
        await asyncio.sleep(DRAIN_POLL_S)
    return time.monotonic() - started

"""When the embedded broker started: what `--since-broker-start` of the outbox replay reads.

The embedded broker (Tansu, memory only) loses every topic, offset and consumer group
with its process. What was published to it and not yet consumed is gone; each service's
outbox still holds those rows (sent, kept for CSP_RETENTION_DAYS), so
`tools.replay_outbox` marks the rows sent since the lost broker started unsent again and
the relays publish them into the new broker.

Whoever starts the embedded broker appends one line to `CSP_DATA_DIR/broker-starts.jsonl`,
`{"startedAt": "<UTC ISO-8601>", "bootstrap": "host:port"}`, just before spawning it: no
row can have been sent to that broker earlier. The lost broker is the newest recorded one
unless a broker answers at that line's address now (then the newest line is the running,
new broker, and the lost one is the line before). A broker restarted by someone who did
not record it makes the replay start at an earlier start: more rows, as safe.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

FILE_NAME = "broker-starts.jsonl"


@dataclass(frozen=True)
class BrokerStart:
    started_at: datetime
    bootstrap: str


def record_broker_start(data_dir: Path, bootstrap: str, at: datetime | None = None) -> datetime:
    """Append a start (now, unless `at`); call it right before spawning the broker."""
    started = (at or datetime.now(UTC)).astimezone(UTC)
    data_dir.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"startedAt": started.isoformat(), "bootstrap": bootstrap})
    with (data_dir / FILE_NAME).open("a", encoding="utf-8") as out:
        out.write(line + "\n")
    return started


def broker_starts(data_dir: Path) -> list[BrokerStart]:
    """Every recorded start, oldest first; none if nothing was recorded."""
    try:
        text = (data_dir / FILE_NAME).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    starts = []
    for line in text.splitlines():
        if line.strip():
            entry = json.loads(line)
            starts.append(
                BrokerStart(datetime.fromisoformat(entry["startedAt"]), entry["bootstrap"])
            )
    return sorted(starts, key=lambda start: start.started_at)


def answers(bootstrap: str, timeout: float = 1.0) -> bool:
    """Something listens at host:port."""
    host, _, port = bootstrap.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def lost_broker_start(
    starts: list[BrokerStart], is_up: Callable[[str], bool] = answers
) -> BrokerStart:
    """The start of the broker whose content was lost (module docstring); LookupError
    when the record cannot tell (then pass the time with --since)."""
    if not starts:
        raise LookupError(f"no broker start recorded ({FILE_NAME} is missing or empty)")
    newest = starts[-1]
    if not is_up(newest.bootstrap):
        return newest  # down: the newest start is the broker that was lost
    if len(starts) < 2:
        raise LookupError(
            f"the only recorded start ({newest.started_at.isoformat()}) is the broker running"
            f" now at {newest.bootstrap}: the lost one's start was not recorded"
        )
    return starts[-2]

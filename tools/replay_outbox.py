"""Replay the services' outboxes into a broker that lost what it held.

    python -m tools.replay_outbox --since-broker-start [--service NAME ...]
    python -m tools.replay_outbox --since 2030-01-01T12:00:00Z [--service NAME ...]
        [--data-dir DIR] [--bootstrap HOST:PORT] [--store-only]

Run it once the new broker is up (same address) and the services run.
1. On the broker (KAFKA_BOOTSTRAP_SERVERS): create every topic of the services that is
   missing (clients of the lost broker would not: `tools.kafka_admin`), then wait until
   every service's consumer group has joined the new broker, so that no consumer reads
   the replay from a position it kept from the lost broker. With the services down (they
   start with fresh clients), `--store-only` skips this: they publish the rows at start.
2. In each service's SQLite file in CSP_DATA_DIR (default: all three), mark the outbox
   rows sent at or after the instant unsent again (`Store.requeue_sent_since`). The
   service's relay republishes them within its idle poll (0.5 s), oldest first, each
   key in order; a service that is down publishes them when it starts. The consumers'
   inboxes skip every event they handled already, so replaying too much costs only
   time: when unsure, pick an earlier instant.

`--since-broker-start` takes the lost embedded broker's start from
`CSP_DATA_DIR/broker-starts.jsonl` (`shared.store.broker_starts`, written by whoever
starts the broker). Works on a running service's store: SQLite serializes it with the
service's own writes.

Exit 0: done (counts printed). 2: nothing was replayed (no store file, no recorded
start, or the consumer groups did not come back): nothing was changed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from services.billing.settings import BillingSettings
from services.ordering.settings import OrderingSettings
from services.provisioning.settings import ProvisioningSettings
from shared.clock import Clock
from shared.settings import ServiceSettings
from shared.store.broker_starts import broker_starts, lost_broker_start
from shared.store.factory import make_store
from tools.kafka_admin import consumer_groups, ensure_topics, service_topics, wait_for_groups

SERVICES = ("ordering", "provisioning", "billing")


SETTINGS: dict[str, type[ServiceSettings]] = {
    "ordering": OrderingSettings,
    "provisioning": ProvisioningSettings,
    "billing": BillingSettings,
}


def service_settings(data_dir: Path, service: str) -> ServiceSettings:
    """The service's own settings (its store: CSP_STORE, MONGODB_URL, ...), its data
    directory given."""
    return SETTINGS[service](csp_data_dir=data_dir)


def store_path(data_dir: Path, service: str) -> Path:
    """Where the service keeps its SQLite store (`ServiceSettings.store_path`)."""
    return service_settings(data_dir, service).store_path()


async def replay(data_dir: Path, services: list[str], since: datetime) -> dict[str, int]:
    """Per service, how many sent rows were marked unsent. Every store must exist."""
    settings = {name: service_settings(data_dir, name) for name in services}
    missing = [
        name
        for name, its in settings.items()
        if its.csp_store == "sqlite" and not its.store_path().is_file()
    ]
    if missing:  # opening would create an empty store: never replay into nothing
        raise FileNotFoundError(f"no store for {', '.join(missing)} in {data_dir}")
    requeued: dict[str, int] = {}
    for name, its in settings.items():
        store = make_store(its, Clock())
        await store.open()
        try:
            requeued[name] = await store.requeue_sent_since(since)
        finally:
            await store.close()
    return requeued


async def prepare_broker(bootstrap: str) -> tuple[list[str], float]:
    """Topics back on the new broker, and every consumer group joined to it: the topics
    that were missing, and the seconds waited for the groups."""
    missing = await ensure_topics(bootstrap, service_topics())
    return missing, await wait_for_groups(bootstrap, consumer_groups())


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.replay_outbox", description=__doc__.split("\n")[0]
    )
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--since", type=_instant, metavar="ISO", help="UTC unless it says")
    when.add_argument(
        "--since-broker-start",
        action="store_true",
        help="since the lost embedded broker started (CSP_DATA_DIR/broker-starts.jsonl)",
    )
    parser.add_argument("--service", action="append", choices=SERVICES, dest="services")
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        help="the new broker (default: KAFKA_BOOTSTRAP_SERVERS, as the services)",
    )
    parser.add_argument(
        "--store-only", action="store_true", help="skip the broker (topics, groups)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("CSP_DATA_DIR", "data")),
        help="default: CSP_DATA_DIR, else ./data (as the services)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    since: datetime = args.since
    if args.since_broker_start:
        try:
            lost = lost_broker_start(broker_starts(args.data_dir))
        except LookupError as error:
            print(
                f"cannot tell when the lost broker started: {error}; use --since", file=sys.stderr
            )
            return 2
        since = lost.started_at
        print(f"the lost broker at {lost.bootstrap} started {since.isoformat()}")
    services = args.services or list(SERVICES)
    if absent := [name for name in services if not store_path(args.data_dir, name).is_file()]:
        print(
            f"nothing replayed: no store for {', '.join(absent)} in {args.data_dir}",
            file=sys.stderr,
        )
        return 2
    try:
        if not args.store_only:
            missing, waited = asyncio.run(prepare_broker(args.bootstrap))
            created = f" ({', '.join(missing)})" if missing else ""
            print(f"broker {args.bootstrap}: {len(missing)} missing topics created{created}")
            print(f"broker {args.bootstrap}: every consumer group joined it ({waited:.1f} s)")
        requeued = asyncio.run(replay(args.data_dir, services, since))
    except (FileNotFoundError, TimeoutError) as error:
        print(f"nothing replayed: {error}", file=sys.stderr)
        return 2
    for name, count in requeued.items():
        print(f"{name:<13} {count} outbox rows sent since {since.isoformat()} queued again")
    return 0


if __name__ == "__main__":
    sys.exit(main())

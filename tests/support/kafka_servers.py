"""Real Apache Kafka for the broker tests, in a container (testcontainers), where a
Docker engine answers: the image and single-node KRaft settings of docker-compose.yml,
listening and advertised on one free host port so clients outside reach it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from shared.messaging.embedded_broker import free_port, wait_for_port

KAFKA_IMAGE = "apache/kafka:3.9.1"  # the image docker-compose.yml runs
START_TIMEOUT_S = 120.0


@contextmanager
def running_apache_kafka() -> Iterator[str]:
    """Yields its bootstrap address (127.0.0.1:<port>)."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    port = free_port()
    container = (
        DockerContainer(KAFKA_IMAGE)
        .with_bind_ports(port, port)  # the port it advertises is the one clients dial
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_LISTENERS", f"PLAINTEXT://:{port},CONTROLLER://:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://127.0.0.1:{port}")
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env(
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
        )
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")  # tests join at once
        .waiting_for(LogMessageWaitStrategy("Kafka Server started"))
    )
    with container:
        wait_for_port("127.0.0.1", port, timeout=START_TIMEOUT_S)
        yield f"127.0.0.1:{port}"

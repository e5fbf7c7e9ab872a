"""Every broker integration test runs twice: on the embedded broker (a fresh Tansu process
per module) and on real Apache Kafka (the image docker-compose.yml runs, one fresh
container per module, through testcontainers) where a Docker engine answers; otherwise
the Kafka variant is skipped with the reason.

A test that cannot run on Kafka by nature carries
`@pytest.mark.embedded_only(reason=...)` and runs on the embedded broker alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import pytest

from tests.support.broker import running_broker
from tests.support.containers import docker_unavailable
from tests.support.kafka_servers import running_apache_kafka

EMBEDDED = "embedded"
APACHE_KAFKA = "apache-kafka"

_docker_unavailable = cache(docker_unavailable)  # asked once per run, not once per module


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "embedded_only(reason): a broker test that runs on the embedded broker only, "
        "not on Apache Kafka (the reason says why)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "kafka_bootstrap" not in metafunc.fixturenames:
        return
    brokers = [EMBEDDED]
    if metafunc.definition.get_closest_marker("embedded_only") is None:
        brokers.append(APACHE_KAFKA)
    # Module scope: every test of a module shares one broker per variant, as before.
    metafunc.parametrize("kafka_bootstrap", brokers, indirect=True, scope="module", ids=brokers)


@pytest.fixture(scope="module")
def kafka_bootstrap(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh broker for this module: the embedded one, or Apache Kafka in a container
    (a skip saying why not where no Docker engine answers)."""
    if getattr(request, "param", EMBEDDED) == EMBEDDED:
        with running_broker() as bootstrap:
            yield bootstrap
        return
    if reason := _docker_unavailable():
        pytest.skip(f"real Apache Kafka needs a container: {reason}")
    with running_apache_kafka() as bootstrap:
        yield bootstrap

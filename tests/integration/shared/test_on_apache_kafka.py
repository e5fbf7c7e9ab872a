"""The broker tests of delivery, partition stalls and standby replicas, again against
real Apache Kafka (the image docker-compose.yml runs) in a container, where a Docker
engine answers; skipped with the reason otherwise. The tests are the same functions:
this module's `kafka_bootstrap` fixture gives them Kafka instead of the embedded broker.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.shared.test_delivery import (
    test_an_event_whose_handling_never_committed_is_redelivered_after_a_restart as test_redelivery_after_a_restart_on_kafka,
)
from tests.integration.shared.test_delivery import (
    test_committed_events_cross_the_broker_in_order_and_poison_is_dead_lettered as test_order_and_dead_letters_on_kafka,
)
from tests.integration.shared.test_partition_stall import (
    test_a_failing_event_stops_its_partition_only_until_it_succeeds as test_partition_stall_on_kafka,
)
from tests.integration.shared.test_standby_replica import (
    test_the_second_replica_on_one_partition_stands_by_ready_then_takes_over as test_standby_replica_on_kafka,
)
from tests.support.containers import docker_unavailable
from tests.support.kafka_servers import running_apache_kafka

pytestmark = pytest.mark.broker

__all__ = [
    "test_order_and_dead_letters_on_kafka",
    "test_partition_stall_on_kafka",
    "test_redelivery_after_a_restart_on_kafka",
    "test_standby_replica_on_kafka",
]


@pytest.fixture(scope="module")
def kafka_bootstrap() -> Iterator[str]:
    """Apache Kafka for every test of this module, or a skip saying why not."""
    if reason := docker_unavailable():
        pytest.skip(f"real Apache Kafka needs a container: {reason}")
    with running_apache_kafka() as bootstrap:
        yield bootstrap

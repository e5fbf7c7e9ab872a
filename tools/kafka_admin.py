"""What the replay and the chaos ask of the broker: the services' topics and consumer
groups, making the topics exist on a new broker, and consumer lag.

Written around the embedded broker's quirks (Tansu 0.6.0): ListOffsets "latest" is not
the high watermark, so lag uses the high watermark a fetch returns; the admin client's
group offset fetch breaks its connection, so committed offsets are read with a
group consumer's `committed()` (it never joins); ListGroups answers nothing, so groups
are described by name. A topic exists again on a new broker only once a fresh client's
metadata request or a CreateTopics created it: clients of the old broker know it already
and produce into a topic the broker then does not list (and commits against it fail).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from shared.events.testclock import TEST_CLOCK_TOPIC
from shared.events.topics import dead_letter_topic
from shared.messaging.consumer import ConsumerGroup
from shared.messaging.topic_admin import TopicAdmin
from shared.settings import ServiceSettings

GROUP_WAIT_S = 60.0
POLL_S = 0.2


def consumer_groups() -> dict[str, str]:
    """Each service's consumer group -> the topic it reads (the services' definitions)."""
    return {group.name: group.topic for group in service_groups().values()}


def service_groups() -> dict[str, ConsumerGroup]:
    """Each service's consumer group (one each), by service."""
    from services.billing.bootstrap import DEFINITION as billing
    from services.ordering.bootstrap import DEFINITION as ordering
    from services.provisioning.bootstrap import DEFINITION as provisioning

    return {d.name: group for d in (ordering, provisioning, billing) for group in d.consumers}


def consumed_topics() -> list[str]:
    """The topics a service's subscriber reads (the test clock's too, where it is on)."""
    return sorted(set(consumer_groups().values()) | {TEST_CLOCK_TOPIC})


def service_topics() -> list[str]:
    """Every topic of the services: what they read, what they publish, dead letters."""
    from services.billing.bootstrap import DEFINITION as billing
    from services.ordering.bootstrap import DEFINITION as ordering
    from services.provisioning.bootstrap import DEFINITION as provisioning

    read = consumed_topics()
    published = {e.TOPIC for d in (ordering, provisioning, billing) for e in d.events.publishes}
    return sorted(published | set(read) | {dead_letter_topic(topic) for topic in read})


async def ensure_topics(
    bootstrap: str, topics: Iterable[str], partitions: int | None = None
) -> list[str]:
    """Create the missing ones as the services do at start (shared.messaging.topic_admin),
    with CSP_TOPIC_PARTITIONS partitions each unless told; returns those created.

    The partition count matters: clients of the lost broker still hold its metadata, and a
    consumer that believes in fewer partitions than there are never reads the others.
    """
    settings = ServiceSettings()
    admin = TopicAdmin(
        bootstrap, "csp-tools", replication_factor=settings.csp_topic_replication_factor
    )
    try:
        return await admin.ensure(topics, partitions or settings.csp_topic_partitions)
    finally:
        await admin.close()


async def wait_for_groups(
    bootstrap: str, groups: Iterable[str], limit_s: float = GROUP_WAIT_S
) -> float:
    """Until every group is Stable with a member on this broker (its consumers joined it
    and took their positions from it); the seconds it took. TimeoutError at the limit."""
    started = time.monotonic()
    for group in sorted(groups):
        while await group_state(bootstrap, group) != "Stable":
            if time.monotonic() - started > limit_s:
                raise TimeoutError(f"consumer group {group} not back after {limit_s:.0f} s")
            await asyncio.sleep(POLL_S)
    return time.monotonic() - started


async def group_state(bootstrap: str, group: str) -> str | None:
    """ "Stable" once the group has members on this broker; None when the broker does not
    know it. One group per request and a client of its own: the embedded broker answers
    an unknown group with a response the client cannot decode, which closes the link."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        [response] = await admin.describe_consumer_groups([group])
        [(error_code, _, state, _, _, members, *_)] = response.groups
        return str(state) if error_code == 0 and members else None
    except (KafkaError, ValueError):
        return None
    finally:
        await admin.close()


async def high_watermarks(bootstrap: str, topics: Iterable[str]) -> dict[TopicPartition, int]:
    """Every partition's high watermark, as a fetch reports it."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=50)
    await reader.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(await _partitions(reader, topic))
        ]
        reader.assign(partitions)
        for tp in partitions:  # one fetch per partition: no need to read the records
            reader.seek(tp, 0)
        deadline = time.monotonic() + 30.0
        while any(reader.highwater(tp) is None for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError("no high watermark fetched within 30 s")
            await reader.getmany(timeout_ms=100, max_records=1)
        return {tp: int(reader.highwater(tp) or 0) for tp in partitions}
    finally:
        await reader.stop()


async def _partitions(reader: AIOKafkaConsumer, topic: str) -> set[int]:
    for _ in range(50):
        found = reader.partitions_for_topic(topic)
        if found:
            return set(found)
        await reader.topics()  # refreshes the metadata
        await asyncio.sleep(0.1)
    return set()


async def committed(bootstrap: str, group: str, partitions: Iterable[TopicPartition]) -> dict:
    """The group's committed offsets (None: nothing committed), read without joining."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await reader.start()
    try:
        return {tp: await reader.committed(tp) for tp in partitions}
    finally:
        await reader.stop()


async def lag(bootstrap: str, groups: dict[str, str] | None = None) -> dict[str, int]:
    """Per consumer group: records on its topic it has not committed yet."""
    groups = groups if groups is not None else consumer_groups()
    watermarks = await high_watermarks(bootstrap, sorted(set(groups.values())))
    behind: dict[str, int] = {}
    for group, topic in groups.items():
        partitions = [tp for tp in watermarks if tp.topic == topic]
        offsets = await committed(bootstrap, group, partitions)
        behind[group] = sum(watermarks[tp] - (offsets[tp] or 0) for tp in partitions)
    return behind

"""Topics as a service creates them on the real broker: its partition count, the state
topic compacted (so real Kafka keeps the latest value per key), the others not."""

from __future__ import annotations

import pytest
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.events.topics import COMPACTED_TOPICS, SUBSCRIPTIONS_STATE
from shared.messaging.topic_admin import TopicAdmin

pytestmark = pytest.mark.broker


async def topic_config(admin: TopicAdmin, topic: str) -> dict[str, str]:
    client = await admin._connected()
    [response] = await client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    [(error_code, _, _, _, entries)] = response.resources
    assert error_code == 0, (topic, error_code)
    return {str(entry[0]): str(entry[1]) for entry in entries}


async def test_the_state_topic_is_created_compacted_and_the_others_are_not(
    kafka_bootstrap: str,
) -> None:
    assert SUBSCRIPTIONS_STATE in COMPACTED_TOPICS
    admin = TopicAdmin(kafka_bootstrap, "test-topics")
    try:
        created = await admin.ensure([SUBSCRIPTIONS_STATE, "test.plain"], 3)
        assert sorted(created) == sorted([SUBSCRIPTIONS_STATE, "test.plain"])
        client = await admin._connected()
        described = await client.describe_topics([SUBSCRIPTIONS_STATE, "test.plain"])
        assert {t["topic"]: len(t["partitions"]) for t in described} == {
            SUBSCRIPTIONS_STATE: 3,
            "test.plain": 3,
        }
        assert (await topic_config(admin, SUBSCRIPTIONS_STATE))["cleanup.policy"] == "compact"
        assert (await topic_config(admin, "test.plain")).get("cleanup.policy") != "compact"
        assert await admin.ensure([SUBSCRIPTIONS_STATE], 3) == []  # exists: kept as it is
    finally:
        await admin.close()

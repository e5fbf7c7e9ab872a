"""The broker's topics and groups through one admin connection: topics listed and
groups described for broker_watch, topics created with the service's partition count
before its consumers join.

The partition count bounds scale-out: a consumer group spreads over at most as many
replicas as its topic has partitions, and a replica beyond that stands by (ready, with
no partition) until another leaves. A topic is created once, by whichever service asks
first; a count set later never shrinks or grows an existing topic (real Kafka: raise it
with kafka-topics.sh --alter; the key's partition changes then, so do it while idle).
Every event is keyed by its subscription id, so one subscription's events stay in order
on one partition whatever the count.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.events.topics import COMPACTED_TOPICS

log = structlog.get_logger(__name__)

TOPIC_ALREADY_EXISTS = 36  # Kafka's error code: another service created it first
# Latest value per key kept (subscriptions.state). The embedded broker accepts the
# setting and never compacts: its readers keep the last value per key anyway.
COMPACTED = {"cleanup.policy": "compact"}


class TopicCreationFailed(RuntimeError):
    pass


class TopicAdmin:
    """List and create topics; the connection is remade after a failure."""

    def __init__(
        self, bootstrap_servers: str, client_id: str, *, replication_factor: int = 1
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        # Copies of each partition it creates: 1 on one broker; 3 on a cluster, with the
        # producers' acks=all and the topic's min.insync.replicas=2 (README, Scaling out).
        self._replication_factor = replication_factor
        self._admin: AIOKafkaAdminClient | None = None

    async def list_topics(self) -> set[str]:
        admin = await self._connected()
        try:
            return set(await admin.list_topics())
        except Exception:
            await self.close()
            raise

    async def group_members(self, group: str) -> set[str]:
        """The member ids the broker lists in `group` (none for a group it does not know)."""
        admin = await self._connected()
        try:
            [response] = await admin.describe_consumer_groups([group])
        except Exception:
            await self.close()
            raise
        [(error_code, _, _, _, _, members, *_)] = response.groups
        if error_code:
            raise RuntimeError(f"describing group {group} failed: error {error_code}")
        return {str(member[0]) for member in members}

    async def ensure(self, topics: Iterable[str], partitions: int) -> list[str]:
        """Create those of `topics` the broker lacks, with `partitions` each; returns the
        ones this call created. Raises TopicCreationFailed naming any other refusal."""
        missing = sorted(set(topics) - await self.list_topics())
        if not missing:
            return []
        admin = await self._connected()
        try:
            response = await admin.create_topics(
                [
                    NewTopic(
                        topic,
                        num_partitions=partitions,
                        replication_factor=self._replication_factor,
                        topic_configs=COMPACTED if topic in COMPACTED_TOPICS else {},
                    )
                    for topic in missing
                ]
            )
        except Exception:
            await self.close()
            raise
        created, refused = [], []
        for topic, code, message in (error[:3] for error in response.topic_errors):
            if code == 0:
                created.append(topic)
            elif code != TOPIC_ALREADY_EXISTS:
                refused.append(f"{topic}: {message or code}")
        if refused:
            raise TopicCreationFailed("; ".join(refused))
        if created:
            log.info(
                "topics_created",
                topics=created,
                partitions=partitions,
                replication_factor=self._replication_factor,
            )
        return created

    async def _connected(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self._bootstrap, client_id=f"{self._client_id}-admin"
            )
            await admin.start()
            self._admin = admin
        return self._admin

    async def close(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                await admin.close()
            except Exception as error:  # a broken connection closes badly; it is gone
                log.debug("topic_admin_close_failed", error=repr(error))

"""Consumer lag per group: each partition's high watermark minus the group's committed
offset (nothing committed: the whole partition is behind).

High watermarks are the ones fetches report: the embedded broker's ListOffsets
"latest" is not the high watermark (docs/dashboard.md); a partition no fetch
has reported yet is left out rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiokafka import TopicPartition


def consumer_lag(
    groups: Mapping[str, str],
    high_watermarks: Mapping[TopicPartition, int],
    committed: Mapping[str, Mapping[TopicPartition, int | None]],
) -> list[dict[str, Any]]:
    """`groups`: group -> the topic it reads; `committed`: group -> partition -> offset."""
    answer = []
    for group, topic in sorted(groups.items()):
        offsets = committed.get(group, {})
        partitions = []
        for tp in sorted((tp for tp in high_watermarks if tp.topic == topic), key=_number):
            high = high_watermarks[tp]
            done = offsets.get(tp)
            partitions.append(
                {
                    "partition": tp.partition,
                    "highWatermark": high,
                    "committed": done,
                    "lag": max(high - (done or 0), 0),
                }
            )
        answer.append(
            {
                "group": group,
                "topic": topic,
                "lag": sum(p["lag"] for p in partitions),
                "known": group in committed,  # False: its committed offsets not read yet
                "partitions": partitions,
            }
        )
    return answer


def _number(tp: TopicPartition) -> int:
    return tp.partition

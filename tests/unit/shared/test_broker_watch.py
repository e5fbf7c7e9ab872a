"""The broker watch reconnects when the broker answers without a topic the service
reads, and only then: an unanswered or complete listing decides nothing."""

from __future__ import annotations

import asyncio

import pytest

from shared.messaging.broker_watch import watch_broker


async def test_a_listing_without_a_read_topic_reconnects_and_nothing_else_does() -> None:
    answers: list[set[str] | Exception] = [
        {"ordering.subscriptions", "other"},  # all there
        ConnectionError("broker down"),  # restarting: no answer
        {"other"},  # back, empty of ours: reconnect
        {"ordering.subscriptions"},  # after the reconnect, there again
    ]
    listed = asyncio.Event()
    reconnects: list[int] = []

    async def list_topics() -> set[str]:
        if not answers:  # every answer given and acted on: the signal to look
            listed.set()
            await asyncio.Event().wait()  # no more answers until cancelled
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def reconnect() -> None:
        reconnects.append(len(answers))

    watch = asyncio.create_task(
        watch_broker("ordering", ["ordering.subscriptions"], list_topics, reconnect, interval=0)
    )
    await asyncio.wait_for(listed.wait(), 5)
    watch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await watch
    assert reconnects == [1]  # once: after the third listing, with one answer left

"""The broker watch reconnects when the broker says it forgot the service, and only then:
a read topic missing (at once), or a group not listing this process's member for
several answers in a row (a rebalance in progress is not a loss)."""

from __future__ import annotations

import asyncio

import pytest

from shared.messaging.broker_watch import ForgottenBy, watch_broker


class FakeBroker:
    def __init__(self, topics: set[str], members: dict[str, set[str]]) -> None:
        self.topics = topics
        self.members = members

    async def list_topics(self) -> set[str]:
        return set(self.topics)

    async def group_members(self, group: str) -> set[str]:
        return set(self.members.get(group, set()))


def ours() -> dict[str, str]:
    return {"provisioning.purchases": "member-1"}


async def test_a_missing_read_topic_is_a_loss_at_once() -> None:
    broker = FakeBroker({"other"}, {"provisioning.purchases": {"member-1"}})
    check = ForgottenBy(["ordering.subscriptions"], broker, ours)
    assert await check() == "topics missing: ordering.subscriptions"


async def test_a_group_without_our_member_is_a_loss_only_after_the_grace() -> None:
    # Another service recreated the topics: they are all there, but the new broker's
    # group never heard of this process (its consumer waits for a dead coordinator).
    broker = FakeBroker({"ordering.subscriptions"}, {"provisioning.purchases": {"member-1"}})
    check = ForgottenBy(["ordering.subscriptions"], broker, ours, grace_checks=3)
    assert await check() is None
    broker.members["provisioning.purchases"] = set()  # a rebalance, or a lost broker
    assert [await check(), await check()] == [None, None]
    broker.members["provisioning.purchases"] = {"member-1", "member-2"}  # it was a rebalance
    assert await check() is None
    broker.members["provisioning.purchases"] = {"member-2"}  # another replica joined the new one
    assert [await check(), await check()] == [None, None]
    assert await check() == "group provisioning.purchases lost member member-1"
    check.reset()  # after the reconnect: counted afresh
    assert await check() is None


async def test_the_watch_reconnects_on_a_loss_and_an_unanswered_question_decides_nothing() -> None:
    answers: list[str | None | Exception] = [
        None,  # all there
        ConnectionError("broker down"),  # restarting: no answer
        "topics missing: ordering.subscriptions",  # back, empty of ours: reconnect
        None,  # after the reconnect, there again
    ]
    asked = asyncio.Event()
    reconnects: list[int] = []
    resets: list[int] = []

    class Scripted(ForgottenBy):
        async def __call__(self) -> str | None:
            if not answers:  # every answer given and acted on: the signal to look
                asked.set()
                await asyncio.Event().wait()
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        def reset(self) -> None:
            resets.append(len(answers))

    async def reconnect() -> None:
        reconnects.append(len(answers))

    check = Scripted([], FakeBroker(set(), {}), dict)
    watch = asyncio.create_task(watch_broker("ordering", check, reconnect, interval=0))
    await asyncio.wait_for(asked.wait(), 5)
    watch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await watch
    assert reconnects == [1] and resets == [1]  # once: after the third answer, one left

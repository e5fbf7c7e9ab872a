"""Group commit: commands that arrive while another transaction holds the store's single
writer share the next transaction instead of queueing for one each.

Measured (`benchmarks.purchase_to_charge`, writer lock instrumented): at the maximum
rate, provisioning's HTTP commands waited ~200 ms for the writer and held it ~7 ms each,
mostly round trips to the SQLite thread (BEGIN, statements, COMMIT) on a busy machine.
A group pays the BEGIN, the COMMIT and the lock hand-over once.

Each command still runs as if alone: its own cause, its handler, then its changes and
events flushed (so it sees those of the commands before it, in arrival order), each in
the context (log binding) of the request that sent it. If anything fails, the whole
transaction rolls back and each command of the group runs again on its own, in order,
so every caller gets exactly the outcome it would have had without grouping. A group
of one is just that command: its failure is its outcome, nothing runs twice.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.service_layer.unit_of_work import Cause, UnitOfWork

if TYPE_CHECKING:
    from shared.service_layer.messagebus import Command, UnitOfWorkFactory

GROUP_MOST = 32  # commands in one transaction at most: the writer is held tens of ms, not more


@dataclass
class _Item:
    command: Command
    cause: Cause | None
    context: contextvars.Context = field(default_factory=contextvars.copy_context)
    outcome: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit:
    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        handler_of: Callable[[Command], Callable[..., Awaitable[Any]]],
        alone: Callable[[Command, Cause | None], Awaitable[Any]],
    ) -> None:
        self._unit_of_work = unit_of_work
        self._handler_of = handler_of
        self._alone = alone  # one command in its own transaction (MessageBus.handle's way)
        self._gathering: list[_Item] | None = None  # the group waiting for the writer
        self._leaders: set[asyncio.Task[None]] = set()

    async def handle(self, command: Command, cause: Cause | None) -> Any:
        item = _Item(command, cause)
        group = self._gathering
        if group is None or len(group) >= GROUP_MOST:
            group = self._gathering = [item]
            # Its own task: a caller that goes away (cancelled) leaves the others' work.
            leader = asyncio.create_task(
                self._commit(group), name="group-commit", context=item.context
            )
            self._leaders.add(leader)
            leader.add_done_callback(self._leaders.discard)
        else:
            group.append(item)
        return await item.outcome

    async def _commit(self, group: list[_Item]) -> None:
        try:
            async with self._unit_of_work(cause=None, read_only=False) as uow:
                if (
                    self._gathering is group
                ):  # the writer is ours: later commands form the next group
                    self._gathering = None
                results = [await self._run(item, uow, group[0]) for item in group]
                await uow.commit()
        except Exception as error:
            if self._gathering is group:
                self._gathering = None
            if len(group) == 1:
                _settle(group[0], error=error)
                return
            for item in group:  # one at a time, as without grouping
                try:
                    result = await asyncio.create_task(
                        self._alone(item.command, item.cause), context=item.context
                    )
                except Exception as alone_error:
                    _settle(item, error=alone_error)
                else:
                    _settle(item, result=result)
            return
        except BaseException:  # cancelled (the service stops): nobody waits forever
            if self._gathering is group:
                self._gathering = None
            for item in group:
                if not item.outcome.done():
                    item.outcome.cancel()
            raise
        for item, result in zip(group, results, strict=True):
            _settle(item, result=result)

    async def _run(self, item: _Item, uow: UnitOfWork, leader: _Item) -> Any:
        async def step() -> Any:
            uow.cause = item.cause or Cause()
            result = await self._handler_of(item.command)(item.command, uow)
            await uow.flush()
            return result

        if item is leader:  # this task runs in its context already
            return await step()
        # In the caller's context: what its handler logs carries its request's binding.
        return await asyncio.create_task(step(), context=item.context)


def _settle(item: _Item, *, result: Any = None, error: BaseException | None = None) -> None:
    if item.outcome.done():  # its caller went away
        return
    if error is not None:
        item.outcome.set_exception(error)
    else:
        item.outcome.set_result(result)

"""Due times in documents stored before there were any: stamped once per store.

The due work reads what is due through fields each aggregate's `document()` writes
(`Aggregate.due_times`). A document written by an earlier version has none, so it
would never fall due: at start, each collection of an aggregate with due times is
walked once, in small transactions, and every document whose stamps are missing or
stale is rewritten. A marker document per collection says it is done; a second
replica doing it at the same time only rewrites the same values.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from shared.domain.aggregate import Aggregate
from shared.store.port import Store

log = structlog.get_logger(__name__)

UPGRADES = "store_upgrades"  # markers of one-time rewrites done on this store
PAGE = 500


def marker(model: type[Aggregate]) -> str:
    return f"due_times:{model.COLLECTION}"


async def stamp_due_times(store: Store, models: Sequence[type[Aggregate]]) -> int:
    """Rewrite the documents whose due stamps differ from what `document()` gives now;
    how many were rewritten."""
    total = 0
    for model in models:
        async with store.read_only() as tx:
            if await tx.collection(UPGRADES).get(marker(model)) is not None:
                continue
        after: int | None = None
        rewritten = 0
        while True:
            async with store.transaction() as tx:
                docs = tx.collection(model.COLLECTION)
                page, after = await docs.find_page(PAGE, after)
                for stored in page:
                    aggregate = model.model_validate(stored)
                    document = aggregate.document()
                    if document != stored:
                        await docs.put(aggregate.id, document)
                        rewritten += 1
                if after is None:
                    await tx.collection(UPGRADES).put(marker(model), {"done": True})
                await tx.commit()
            if after is None:
                break
        log.info("due_times_stamped", collection=model.COLLECTION, rewritten=rewritten)
        total += rewritten
    return total

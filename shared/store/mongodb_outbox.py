"""The relay's claim on the MongoDB outbox: unsent rows, oldest first, whose lease is
free or expired, leased to one token in one transaction.

A row waits while an earlier unsent row of its key is leased elsewhere (a relay that
may have died): publishing it first would break the key's order. Two relays in two
processes claiming at once both write the earlier row of a key, so on a replica set
one of them meets a write conflict and tries again on a fresh snapshot.
"""

from __future__ import annotations

import json
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.store.mongodb_layout import OUTBOX, claimable_filter, held_filter
from shared.store.port import ClaimedMessage, OutboxMessage


async def claim_rows(
    db: AsyncDatabase[dict[str, Any]],
    session: AsyncClientSession,
    lease_token: str,
    limit: int,
    until: int,
    now: int,
) -> list[ClaimedMessage]:
    """Inside the session's transaction; the caller commits."""
    outbox = db[OUTBOX]
    held: dict[tuple[str, str], int] = {}  # key -> its first row with a running lease
    async for row in outbox.find(held_filter(now), {"topic": 1, "key": 1}, session=session):
        key = (row["topic"], row["key"])
        held[key] = min(held.get(key, row["_id"]), row["_id"])
    picked: list[dict[str, Any]] = []
    cursor = outbox.find(claimable_filter(now), session=session).sort("seq", 1)
    async with cursor.batch_size(limit) as rows:
        async for row in rows:
            first_held = held.get((row["topic"], row["key"]))
            if first_held is None or first_held > row["_id"]:
                picked.append(row)
                if len(picked) >= limit:
                    break
    if picked:
        await outbox.update_many(
            {"_id": {"$in": [row["_id"] for row in picked]}},
            {"$set": {"lease_token": lease_token, "lease_until": until}},
            session=session,
        )
    return [ClaimedMessage(int(row["_id"]), _message(row)) for row in picked]


def _message(row: dict[str, Any]) -> OutboxMessage:
    headers = json.loads(row["headers"])
    return OutboxMessage(row["topic"], row["key"], bytes(row["payload"]), headers)

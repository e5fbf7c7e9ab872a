"""SQL text and small helpers shared by the SQLite store and its transactions."""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

import aiosqlite

_NEXT_SEQ = "(SELECT COALESCE(MAX(seq), 0) + 1 FROM documents WHERE collection = ?)"
_INSERT_DOC = f"INSERT INTO documents (collection, key, seq, data) VALUES (?, ?, {_NEXT_SEQ}, ?)"
_PUT_DOC = _INSERT_DOC + " ON CONFLICT (collection, key) DO UPDATE SET data = excluded.data"


def _iso(moment: datetime) -> str:
    """Fixed-width UTC ISO-8601, so SQL string comparison is time comparison.
    Naive datetimes are taken as UTC."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.isoformat(timespec="microseconds")


def _where_equals(equals: dict[str, Any]) -> tuple[str, list[Any]]:
    """SQL for `find`: JSON types must match too (True is not 1; None is null or missing)."""
    clauses: list[str] = []
    params: list[Any] = []
    for name, wanted in equals.items():
        if '"' in name:
            raise ValueError(f"find cannot filter on a field named {name!r}")
        path = f'$."{name}"'
        if wanted is None:
            clauses.append("json_extract(data, ?) IS NULL")
            params.append(path)
        elif isinstance(wanted, bool):
            clauses.append("json_type(data, ?) = ?")
            params += [path, "true" if wanted else "false"]
        elif isinstance(wanted, int | float):
            clauses.append(
                "json_type(data, ?) IN ('integer', 'real') AND json_extract(data, ?) = ?"
            )
            params += [path, path, wanted]
        elif isinstance(wanted, str):
            clauses.append("json_type(data, ?) = 'text' AND json_extract(data, ?) = ?")
            params += [path, path, wanted]
        else:
            kind = type(wanted).__name__
            raise TypeError(f"find compares str, int, float, bool or None, got {kind}")
    return "".join(f" AND {clause}" for clause in clauses), params


async def _run(conn: aiosqlite.Connection, sql: str, params: tuple[Any, ...] = ()) -> int:
    """Execute one statement to completion; returns the changed row count."""
    async with conn.execute(sql, params) as cursor:
        return cursor.rowcount


async def _rollback_quietly(conn: aiosqlite.Connection) -> None:
    """Undo without hiding the failure that got us here. Unconditional on purpose:
    after a cancellation `in_transaction` may not yet reflect a queued BEGIN, and
    aiosqlite runs statements in order, so a queued ROLLBACK always lands after it.
    "No transaction is active" is one of the errors swallowed."""
    with suppress(sqlite3.Error):
        await _run(conn, "ROLLBACK")

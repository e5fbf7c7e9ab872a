"""SQL text and small helpers shared by the SQLite store and its transactions."""

from __future__ import annotations

import re
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


_FIELD_NAME = re.compile(r"[A-Za-z0-9_]+")


def field_path(name: str) -> str:
    """The JSON path of a top-level field as SQL text: `'$."status"'`. Written into the
    statement, not bound: an expression index is used only for the very same expression."""
    return "'$.\"" + name.replace("'", "''") + "\"'"


def _where_equals(equals: dict[str, Any]) -> tuple[str, list[Any]]:
    """SQL for `find`: JSON types must match too (True is not 1; None is null or missing).

    Each field is tested as `json_extract(data, <path>) = ?`, the expression of its query
    index (`query_index_sql`), so the planner searches that index; `json_type` then
    checks the type on the rows found. A name no index can have (not [A-Za-z0-9_]+)
    keeps its path a bound parameter instead of SQL text."""
    clauses: list[str] = []
    params: list[Any] = []
    for name, wanted in equals.items():
        if '"' in name:
            raise ValueError(f"find cannot filter on a field named {name!r}")
        literal = _FIELD_NAME.fullmatch(name) is not None
        path = field_path(name) if literal else "?"
        at: list[Any] = [] if literal else [f'$."{name}"']  # the bound path, per use
        value, kind = f"json_extract(data, {path})", f"json_type(data, {path})"
        if wanted is None:  # `IS ?`, not `IS NULL`: the planner searches the index for it
            clauses.append(f"{value} IS ?")
            params += [*at, None]
        elif isinstance(wanted, bool):  # json_extract gives 1 or 0; json_type tells true
            clauses.append(f"{value} = ? AND {kind} = ?")
            params += [*at, int(wanted), *at, "true" if wanted else "false"]
        elif isinstance(wanted, int | float):
            clauses.append(f"{value} = ? AND {kind} IN ('integer', 'real')")
            params += [*at, wanted, *at]
        elif isinstance(wanted, str):
            clauses.append(f"{value} = ? AND {kind} = 'text'")
            params += [*at, wanted, *at]
        else:
            kind_name = type(wanted).__name__
            raise TypeError(f"find compares str, int, float, bool or None, got {kind_name}")
    return "".join(f" AND {clause}" for clause in clauses), params


def find_sql(
    equals: dict[str, Any], after: int | None, *, descending: bool, limit: int | None
) -> tuple[str, list[Any]]:
    """`find` (limit None) and `find_page` of one collection; the collection is the first
    parameter, left for the caller. The order, and a page's range, come from the same
    index as the filter: a query index `(fields..., seq)`, or `documents_by_seq`."""
    where, params = _where_equals(equals)
    if after is not None:
        where = (" AND seq < ?" if descending else " AND seq > ?") + where
        params = [after, *params]
    sql = (
        f"SELECT seq, data FROM documents WHERE collection = ?{where}"
        f" ORDER BY seq {'DESC' if descending else 'ASC'}"
    )
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params


def find_due_sql(collection: str, field: str, *, indexed: bool) -> tuple[str, list[Any]]:
    """`find_due` of one collection (then bind: until, limit). `json_type` keeps integers
    only; a null or missing field is never `<=` anything.

    With the query index of the shape `(field,)` declared, the range and the order are
    both that index, `(json_extract(<field>), seq)`: a search of it, no sort. The planner
    will not choose it alone (it rates a one-sided range as a quarter of the rows and
    takes the collection's key index and a sort), so the statement names it, with the
    collection written in (a partial index is usable only for its own literal)."""
    value, kind = (
        f"json_extract(data, {field_path(field)})",
        f"json_type(data, {field_path(field)})",
    )
    where = f"{value} <= ? AND {kind} = 'integer' ORDER BY {value}, seq LIMIT ?"
    if not indexed:
        return f"SELECT data FROM documents WHERE collection = ? AND {where}", [collection]
    # A declared shape: its names were checked to be [A-Za-z0-9_]+ (`query_index_sql`)
    # when the store was built, so writing the collection in injects nothing.
    index = query_index_name(collection, (field,))
    return (
        f'SELECT data FROM documents INDEXED BY "{index}"'
        f" WHERE collection = '{collection}' AND {where}",
        [],
    )


# --- query indexes: one per filter a service sends (QueryShape) -----------------------


def query_index_name(collection: str, fields: tuple[str, ...]) -> str:
    return f"{collection}__by_{'_'.join((*fields, 'seq'))}"


def query_index_sql(collection: str, fields: tuple[str, ...]) -> str:
    """`(json_extract(data, <field>)..., seq)` over the collection's rows only: equality
    on the fields, then insertion order, so a page is a range of it and never sorted.
    Names are [A-Za-z0-9_]+ (checked here), so none can inject SQL. The text is the one
    SQLite keeps in `sqlite_master.sql`, to tell an existing index from another."""
    for part in (collection, *fields):
        if not _FIELD_NAME.fullmatch(part):
            raise ValueError(f"a query index's collection and fields are [A-Za-z0-9_]+: {part!r}")
    expressions = "".join(f"json_extract(data, {field_path(name)}), " for name in fields)
    return (
        f'CREATE INDEX "{query_index_name(collection, fields)}"'
        f" ON documents ({expressions}seq) WHERE collection = '{collection}'"
    )


# --- the outbox backlog, for metrics ------------------------------------------------------

OUTBOX_BACKLOG = (
    "SELECT (SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL),"
    " (SELECT created_at FROM outbox WHERE seq ="
    "   (SELECT MIN(seq) FROM outbox WHERE sent_at IS NULL))"
)  # the count walks `outbox_unsent` (unsent rows only); MIN(seq) is its first entry, and
# the oldest row's creation time one look-up by its primary key


# --- the purge: small batches, each its own short write transaction ------------------------

PURGE_OUTBOX_BATCH = (
    "DELETE FROM outbox WHERE seq IN"
    " (SELECT seq FROM outbox WHERE sent_at < ? ORDER BY sent_at LIMIT ?) RETURNING 1"
)  # `outbox_sent_by_age`
PURGE_INBOX_BATCH = (
    "DELETE FROM inbox WHERE rowid IN"
    " (SELECT rowid FROM inbox WHERE recorded_at < ? ORDER BY recorded_at LIMIT ?) RETURNING 1"
)  # `inbox_by_age`


async def _run(conn: aiosqlite.Connection, sql: str, params: tuple[Any, ...] = ()) -> int:
    """Execute one statement to completion; returns how many rows it returned (a
    statement whose changed-row count matters says `RETURNING 1`). One hop to the
    connection's thread: `execute` then closing the cursor is two, and the hop costs
    more than a small statement does."""
    return len(await conn.execute_fetchall(sql, params))


async def _rollback_quietly(conn: aiosqlite.Connection) -> None:
    """Undo without hiding the failure that got us here. Unconditional on purpose:
    after a cancellation `in_transaction` may not yet reflect a queued BEGIN, and
    aiosqlite runs statements in order, so a queued ROLLBACK always lands after it.
    "No transaction is active" is one of the errors swallowed."""
    with suppress(sqlite3.Error):
        await _run(conn, "ROLLBACK")

"""The SQLite store's schema, versioned by `PRAGMA user_version`.

`MIGRATIONS[n]` takes a database from version n to n + 1; versions only ever go up.
`migrate` runs at `SqliteStore.open()`: each pending migration and the version bump
commit together in one `BEGIN IMMEDIATE` transaction, and the version is read again
once the write lock is held, so two processes opening the same file at once never
both apply a migration. A database newer than this code is refused, not guessed at.

Append a migration to change the schema; never edit one that has shipped.

Unique indexes a service declares (`UniqueIndex`) are no migration: they are data of
the service, not of the store's schema shared by all, so `SqliteStore.ensure_indexes`
creates each one, idempotently, as a partial expression index on `documents`.
"""

from __future__ import annotations

import sqlite3

import aiosqlite
import structlog

from shared.store.port import DuplicateKey, UniqueIndex
from shared.store.sqlite_sql import _rollback_quietly, _run

log = structlog.get_logger(__name__)

MIGRATIONS: list[str] = [
    # 1: the schema from before versioning. Databases made then have user_version 0
    # and these tables already: every statement is IF NOT EXISTS, so it applies cleanly.
    """
CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL,  -- insertion order within the collection; kept on replace
    data TEXT NOT NULL,    -- JSON
    PRIMARY KEY (collection, key)
);
CREATE INDEX IF NOT EXISTS documents_by_seq ON documents (collection, seq);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    key TEXT NOT NULL,
    payload BLOB NOT NULL,
    headers TEXT NOT NULL,  -- JSON
    created_at TEXT NOT NULL,
    lease_token TEXT,
    lease_until TEXT,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_unsent_by_key ON outbox (topic, key, seq) WHERE sent_at IS NULL;
CREATE TABLE IF NOT EXISTS inbox (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX IF NOT EXISTS inbox_by_age ON inbox (recorded_at);
CREATE TABLE IF NOT EXISTS sequences (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
""",
    # 2: the hourly purge deletes `outbox WHERE sent_at < ?`. The inbox has an index by
    # age for its half of the purge; the outbox had none, so each purge scanned every
    # sent row of the retention window while holding the single writer. Partial: unsent
    # rows are never purged, and `sent_at < ?` implies `sent_at IS NOT NULL`.
    """
CREATE INDEX IF NOT EXISTS outbox_sent_by_age ON outbox (sent_at) WHERE sent_at IS NOT NULL;
""",
]


class SchemaTooNew(RuntimeError):
    """The database was written by a newer version of the code than this one."""


def latest_version() -> int:
    return len(MIGRATIONS)


async def schema_version(conn: aiosqlite.Connection) -> int:
    rows = await conn.execute_fetchall("PRAGMA user_version")
    return int(list(rows)[0][0])


async def migrate(conn: aiosqlite.Connection) -> int:
    """Bring the database to the latest version; returns it. `conn` must be in
    autocommit mode (`isolation_level=None`) with no transaction open."""
    version = await schema_version(conn)
    while version < latest_version():  # read first: a current database costs no write lock
        version = await _apply_next(conn)
    if version > latest_version():
        raise SchemaTooNew(
            f"the database has schema version {version}, but this code knows versions up to"
            f" {latest_version()}: it was written by a newer release; run that release or"
            " move the file aside"
        )
    return version


async def _apply_next(conn: aiosqlite.Connection) -> int:
    """Apply the next migration, unless another process applied it first."""
    await _run(conn, "BEGIN IMMEDIATE")
    try:
        found = await schema_version(conn)  # now under the write lock: the real value
        if found < latest_version():
            for statement in _statements(MIGRATIONS[found]):
                await _run(conn, statement)
            await _run(conn, f"PRAGMA user_version = {found + 1}")
        await _run(conn, "COMMIT")
    except BaseException:
        await _rollback_quietly(conn)
        raise
    if found >= latest_version():
        return found  # another process got there first, or the file is newer than us
    log.info("store_schema_migrated", from_version=found, to_version=found + 1)
    return found + 1


def _statements(script: str) -> list[str]:
    """Split a script into statements. Not `executescript`: it would COMMIT the open
    transaction first. `complete_statement` knows that a `;` in a comment ends nothing."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"unterminated SQL statement in a migration: {pending.strip()!r}")
    return statements


def unique_index_sql(index: UniqueIndex) -> str:
    """The index as SQLite keeps it in `sqlite_master.sql`: one JSON expression per field
    over the collection's rows only. Name, collection and paths are validated by
    `UniqueIndex` (no double quotes; single ones are escaped), so none can inject SQL."""
    expressions = ", ".join(f"json_extract(data, '{_json_path(path)}')" for path in index.fields)
    return (
        f'CREATE UNIQUE INDEX "{sqlite_index_name(index)}" ON documents ({expressions})'
        f" WHERE collection = '{index.collection}'"
    )


def sqlite_index_name(index: UniqueIndex) -> str:
    return f"{index.collection}__{index.name}__unique"


def _json_path(path: str) -> str:
    steps = "".join(f'."{step}"' for step in path.split("."))
    return "$" + steps.replace("'", "''")


async def ensure_unique_index(conn: aiosqlite.Connection, index: UniqueIndex) -> None:
    """Create the index unless it exists (inside the caller's write transaction).
    The same name with another definition is refused, never silently kept; stored
    documents that break it raise DuplicateKey and leave nothing created."""
    wanted = unique_index_sql(index)
    rows = list(
        await conn.execute_fetchall(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
            (sqlite_index_name(index),),
        )
    )
    if rows:
        if rows[0][0] != wanted:
            raise ValueError(f"index {index.name} of {index.collection} exists as {rows[0][0]}")
        return
    try:
        await _run(
            conn, wanted.replace("CREATE UNIQUE INDEX", "CREATE UNIQUE INDEX IF NOT EXISTS", 1)
        )
    except sqlite3.IntegrityError as error:
        raise DuplicateKey(f"{index.collection}: {index.name}: {error}") from error
    log.info("store_unique_index_created", collection=index.collection, index=index.name)

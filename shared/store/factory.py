"""Which store a service runs on: `CSP_STORE=sqlite` (default) or `mongodb`.

- sqlite: one file per service under `CSP_DATA_DIR` (`ServiceSettings.store_path()`).
- mongodb: `MONGODB_URL` (a replica set: transactions need one; the URL may carry a
  password, so it is a secret and has no default with credentials) and one database
  per service, `CSP_MONGODB_DATABASE_PREFIX` + the service's name (`csp_billing`): a
  prefix rather than a name, so services sharing one environment (`make run`) can
  never share a database. The MongoDB store gets the indexes its service's
  repositories filter by (`mongodb_indexes`); so does the SQLite store.

Builds the store only; `open()` (the runtime's start) connects.
"""

from __future__ import annotations

from shared.clock import Clock
from shared.settings import ServiceSettings
from shared.store.mongodb_indexes import query_indexes
from shared.store.port import Store
from shared.store.sqlite import SqliteStore


def mongodb_database(settings: ServiceSettings) -> str:
    return f"{settings.csp_mongodb_database_prefix}{settings.SERVICE}"


def make_store(settings: ServiceSettings, clock: Clock) -> Store:
    if settings.csp_store == "mongodb":
        # Imported here: PyMongo costs a quarter second at start, and SQLite is the default.
        from shared.store.mongodb import MongoStore

        return MongoStore(
            settings.mongodb_url.get_secret_value(),
            mongodb_database(settings),
            clock=clock,
            query_indexes=query_indexes(settings.SERVICE),
        )
    if settings.csp_store == "sqlite":
        indexes = query_indexes(settings.SERVICE)  # pure data: no PyMongo import
        return SqliteStore(settings.store_path(), clock=clock, query_indexes=indexes)
    raise ValueError(f"CSP_STORE must be sqlite or mongodb, got {settings.csp_store!r}")

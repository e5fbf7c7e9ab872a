"""Which store a service runs on: `CSP_STORE=sqlite` (default) or `mongodb`.

- sqlite: one file per service under `CSP_DATA_DIR` (`ServiceSettings.store_path()`).
- mongodb: `MONGODB_URL` (a replica set: transactions need one; the URL may carry a
  password, so it is a secret and has no default with credentials) and one database
  per service, `CSP_MONGODB_DATABASE_PREFIX` + the service's name (`csp_billing`): a
  prefix rather than a name, so services sharing one environment (`make run`) can
  never share a database. The MongoDB store gets the indexes its service's
  repositories filter by (`mongodb_indexes`).

Builds the store only; `open()` (the runtime's start) connects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

from pydantic import SecretStr

from shared.clock import Clock
from shared.store.mongodb import MongoStore
from shared.store.mongodb_indexes import query_indexes
from shared.store.port import Store
from shared.store.sqlite import SqliteStore

StoreKind = Literal["sqlite", "mongodb"]
DEFAULT_MONGODB_URL = "mongodb://127.0.0.1:27017/"  # no credentials, ever
DEFAULT_DATABASE_PREFIX = "csp_"


class StoreSettings(Protocol):
    """What the factory reads of a service's settings (`ServiceSettings` has it all)."""

    @property
    def SERVICE(self) -> str: ...  # noqa: N802 - ServiceSettings' ClassVar

    @property
    def csp_store(self) -> StoreKind: ...

    @property
    def mongodb_url(self) -> SecretStr: ...

    @property
    def csp_mongodb_database_prefix(self) -> str: ...

    def store_path(self) -> Path: ...


def mongodb_database(settings: StoreSettings) -> str:
    return f"{settings.csp_mongodb_database_prefix}{settings.SERVICE}"


def make_store(settings: StoreSettings, clock: Clock) -> Store:
    if settings.csp_store == "mongodb":
        return MongoStore(
            settings.mongodb_url.get_secret_value(),
            mongodb_database(settings),
            clock=clock,
            query_indexes=query_indexes(settings.SERVICE),
        )
    if settings.csp_store == "sqlite":
        return SqliteStore(settings.store_path(), clock=clock)
    raise ValueError(f"CSP_STORE must be sqlite or mongodb, got {settings.csp_store!r}")

"""`CSP_STORE` picks the store; MongoDB gets `MONGODB_URL`, one database per service and
its service's query indexes. Building connects to nothing. The settings are the
services' own (`ServiceSettings` declares the fields), read from the environment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.billing.settings import BillingSettings
from shared.clock import Clock
from shared.store.factory import make_store, mongodb_database
from shared.store.mongodb import MongoStore
from shared.store.mongodb_indexes import query_indexes
from shared.store.sqlite import SqliteStore


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CSP_STORE", "MONGODB_URL", "CSP_MONGODB_DATABASE_PREFIX", "CSP_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_sqlite_is_the_default_one_file_per_service(tmp_path: Path) -> None:
    settings = BillingSettings(csp_data_dir=tmp_path)
    store = make_store(settings, Clock())
    assert isinstance(store, SqliteStore)
    assert store._path == tmp_path / "billing.sqlite3"
    assert not tmp_path.joinpath("billing.sqlite3").exists()  # nothing opened


def test_mongodb_reads_its_url_and_names_the_database_after_the_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "mongodb://csp:s3cret@db-1:27017,db-2:27017/?replicaSet=rs0"
    monkeypatch.setenv("CSP_STORE", "mongodb")
    monkeypatch.setenv("MONGODB_URL", url)
    settings = BillingSettings()

    store = make_store(settings, Clock())

    assert isinstance(store, MongoStore)
    assert store._url == url and store._database == "csp_billing"
    assert store._query_indexes == query_indexes("billing") != ()
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.model_dump())


def test_the_database_prefix_is_the_deployments_the_name_the_services() -> None:
    settings = BillingSettings(csp_store="mongodb", csp_mongodb_database_prefix="staging_")
    assert mongodb_database(settings) == "staging_billing"
    with pytest.raises(ValueError):
        BillingSettings(csp_mongodb_database_prefix="a.b")
    with pytest.raises(ValueError):
        BillingSettings(csp_store="postgres")


def test_the_default_url_carries_no_credentials() -> None:
    url = BillingSettings().mongodb_url.get_secret_value()
    assert "@" not in url

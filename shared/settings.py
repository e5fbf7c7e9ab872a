"""Settings from the environment: what every service reads, plus each service's own.

Each service declares its settings in `services/<name>/settings.py` as a subclass of
`ServiceSettings`, adding only what it uses (ordering and provisioning a catalog,
provisioning the purchase-token secret), so billing never requires a secret it does
not use. Names and defaults are in the README's configuration table.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.catalog import Catalog, load_catalog

# Documented dev defaults: printed by `make run`, refused when CSP_ENV=production.
DEV_JWT_SECRET = "csp-dev-jwt-secret-not-for-production"
MIN_SECRET_BYTES = 32  # RFC 7518 3.2 for HS256


class InsecureConfiguration(RuntimeError):
    """Production was asked to run with a dev default or a dev-only feature."""


def refuse_weak_secret(name: str, value: str, dev_default: str) -> None:
    if value == dev_default:
        raise InsecureConfiguration(f"{name.upper()} is the dev default; set a real secret")
    if len(value.encode()) < MIN_SECRET_BYTES:
        raise InsecureConfiguration(f"{name.upper()} must be at least {MIN_SECRET_BYTES} bytes")


class ServiceSettings(BaseSettings):
    """Broker, store, identity, clock and logging: the same for every service."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")
    SERVICE: ClassVar[str] = ""  # the service's name: its store file and client id

    csp_env: str = "development"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_idempotent_producer: bool = False  # the embedded broker cannot; real Kafka can
    # How long a fetch may wait for data: the per-hop latency floor on a quiet topic.
    # Kafka's 500 ms default made each event hop cost ~130 ms p50 on the embedded broker.
    kafka_fetch_max_wait_ms: int = Field(default=50, ge=1, le=5000)
    csp_host: str = "127.0.0.1"
    csp_data_dir: Path = Path("data")
    csp_jwt_secret: str = DEV_JWT_SECRET
    # How long sent outbox rows and inbox records are kept; must exceed the topics'
    # retention so a late redelivery is still recognised.
    csp_retention_days: int = Field(default=30, ge=1)
    csp_test_clock: bool = False
    csp_log_level: str = Field(default="info")

    @property
    def is_production(self) -> bool:
        return self.csp_env.lower() in {"production", "prod"}

    @property
    def port(self) -> int:
        raise NotImplementedError

    def store_path(self) -> Path:
        return self.csp_data_dir / f"{self.SERVICE}.sqlite3"

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_production(self) -> Self:
        if self.is_production:
            self.refuse_insecure()
        return self

    def refuse_insecure(self) -> None:
        """Production only; a subclass that adds a secret extends it."""
        refuse_weak_secret("csp_jwt_secret", self.csp_jwt_secret, DEV_JWT_SECRET)
        if self.csp_test_clock:
            raise InsecureConfiguration("CSP_TEST_CLOCK must never be on in production")

    @classmethod
    def load(cls) -> Self:
        """For a process entry point: a refused configuration exits with one clear line."""
        try:
            return cls()
        except (InsecureConfiguration, ValidationError) as error:
            raise SystemExit(f"configuration refused: {error}") from None


class CatalogSettings(ServiceSettings):
    """A service that reads the catalog file (publishers, offers, plans, prices)."""

    csp_catalog: Path | None = None  # None: the catalog shipped in shared/catalog/

    def catalog(self) -> Catalog:
        """Reads the file: call it in the composition root, never at import."""
        return load_catalog(self.csp_catalog)

    def refuse_insecure(self) -> None:
        super().refuse_insecure()
        if self.csp_catalog is None:
            raise InsecureConfiguration(
                "CSP_CATALOG is unset: the shipped catalog carries dev webhook secrets"
            )

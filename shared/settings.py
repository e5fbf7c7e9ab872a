"""Settings from the environment: what every service reads, plus each service's own.

Each service declares its settings in `services/<name>/settings.py` as a subclass of
`ServiceSettings`, adding only what it uses (ordering and provisioning a catalog,
provisioning the purchase-token secret), so billing never requires a secret it does
not use. Names and defaults are in the README's configuration table.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal, Self
from urllib.parse import urlparse

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.catalog import Catalog, load_catalog

# The documented dev secret of HS256 tokens, printed by `make run`. Production never
# reads it: it accepts only the OIDC issuer's RS256 tokens (JWKS_SETTINGS).
DEV_JWT_SECRET = "csp-dev-jwt-secret-not-for-production"
MIN_SECRET_BYTES = 32  # RFC 7518 3.2 for HS256
# The OIDC issuer whose RS256 tokens production accepts: all three or none.
JWKS_SETTINGS = ("csp_jwks_url", "csp_jwt_issuer", "csp_jwt_audience")


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
    # Partitions of each topic a service creates (shared.messaging.topic_admin): the most
    # replicas of one service that share its work. A topic that exists keeps its count.
    csp_topic_partitions: int = Field(default=4, ge=1, le=1000)
    # Copies of each partition of a topic a service creates: 1 for one broker, 3 on a
    # cluster. More than the cluster's brokers is refused by Kafka (the service says why).
    csp_topic_replication_factor: int = Field(default=1, ge=1, le=32)
    csp_host: str = "127.0.0.1"
    csp_data_dir: Path = Path("data")
    # Where the state lives (docs/stores.md): "sqlite", one file per service under
    # CSP_DATA_DIR, or "mongodb", a replica set at MONGODB_URL, one database per service
    # named CSP_MONGODB_DATABASE_PREFIX + the service's name (csp_billing).
    csp_store: Literal["sqlite", "mongodb"] = "sqlite"
    mongodb_url: SecretStr = SecretStr("mongodb://127.0.0.1:27017/")  # may carry a password
    csp_mongodb_database_prefix: str = Field(default="csp_", pattern=r"^[A-Za-z0-9_-]{0,40}$")
    # Identity. Production: RS256 tokens of an OIDC issuer, keys from its JWKS URL,
    # issuer and audience checked. Development and tests: HS256 with the secret, used
    # only while CSP_JWKS_URL is unset.
    csp_jwks_url: str | None = None
    csp_jwt_issuer: str | None = None
    csp_jwt_audience: str | None = None
    csp_jwt_secret: str = DEV_JWT_SECRET
    # How long sent outbox rows and inbox records are kept; must exceed the topics'
    # retention so a late redelivery is still recognised.
    csp_retention_days: int = Field(default=30, ge=1)
    csp_test_clock: bool = False
    # How often (real seconds) due work runs: renewals, timeouts, webhook retries.
    csp_due_work_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    csp_log_level: str = Field(default="info")
    # The largest request body any API accepts; past it a 413 before anything is parsed.
    csp_max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)

    @property
    def is_production(self) -> bool:
        return self.csp_env.lower() in {"production", "prod"}

    @property
    def port(self) -> int:
        raise NotImplementedError

    def store_path(self) -> Path:
        return self.csp_data_dir / f"{self.SERVICE}.sqlite3"

    @property
    def uses_jwks(self) -> bool:
        """Tokens are verified with the OIDC issuer's keys, not the HS256 secret."""
        return bool(self.csp_jwks_url)

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_production(self) -> Self:
        if self.is_production:
            self.refuse_insecure()
        else:
            self._refuse_half_an_issuer()
        return self

    def _refuse_half_an_issuer(self) -> None:
        """In any mode: the JWKS settings come together, with an http(s) URL."""
        missing = [name.upper() for name in JWKS_SETTINGS if not getattr(self, name)]
        if missing and len(missing) < len(JWKS_SETTINGS):
            raise InsecureConfiguration(
                "CSP_JWKS_URL, CSP_JWT_ISSUER and CSP_JWT_AUDIENCE go together; missing: "
                + ", ".join(missing)
            )
        if self.csp_jwks_url and urlparse(self.csp_jwks_url).scheme not in ("http", "https"):
            raise InsecureConfiguration("CSP_JWKS_URL must be an http(s) URL")

    def refuse_insecure(self) -> None:
        """Production only; a subclass that adds a secret extends it."""
        # The production rule: RS256 tokens of an OIDC issuer, never the HS256 secret.
        missing = [name.upper() for name in JWKS_SETTINGS if not getattr(self, name)]
        if missing:
            raise InsecureConfiguration(
                "production verifies RS256 tokens from an OIDC issuer: set CSP_JWKS_URL, "
                "CSP_JWT_ISSUER and CSP_JWT_AUDIENCE (missing: " + ", ".join(missing) + ")"
            )
        if urlparse(self.csp_jwks_url or "").scheme != "https":
            raise InsecureConfiguration("CSP_JWKS_URL must be an https:// URL in production")
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

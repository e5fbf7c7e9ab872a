"""Settings every service reads from the environment (names in the README)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Documented dev defaults: printed by `make run`, refused when CSP_ENV=production.
DEV_JWT_SECRET = "csp-dev-jwt-secret-not-for-production"
DEV_PURCHASE_TOKEN_SECRET = "csp-dev-purchase-token-secret-not-for-production"


class InsecureConfiguration(RuntimeError):
    """Production was asked to run with a dev default or a dev-only feature."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    csp_env: str = "development"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_idempotent_producer: bool = False  # the embedded broker cannot; real Kafka can
    # How long a fetch may wait for data: the per-hop latency floor on a quiet topic.
    # Kafka's 500 ms default made each event hop cost ~130 ms p50 on the embedded broker.
    kafka_fetch_max_wait_ms: int = Field(default=50, ge=1, le=5000)
    csp_host: str = "127.0.0.1"
    csp_ordering_port: int = 8001
    csp_provisioning_port: int = 8002
    csp_billing_port: int = 8003
    csp_data_dir: Path = Path("data")
    csp_catalog: Path | None = None  # None: the catalog shipped in shared/catalog/
    csp_jwt_secret: str = DEV_JWT_SECRET
    csp_purchase_token_secret: str = DEV_PURCHASE_TOKEN_SECRET
    csp_purchase_token_ttl: str = "P7D"  # ISO 8601 duration
    # How long sent outbox rows and inbox records are kept; must exceed the topics'
    # retention so a late redelivery is still recognised.
    csp_retention_days: int = Field(default=30, ge=1)
    csp_test_clock: bool = False
    csp_log_level: str = Field(default="info")

    @property
    def is_production(self) -> bool:
        return self.csp_env.lower() in {"production", "prod"}

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_production(self) -> Settings:
        if not self.is_production:
            return self
        if self.csp_jwt_secret == DEV_JWT_SECRET:
            raise InsecureConfiguration("CSP_JWT_SECRET is the dev default; set a real secret")
        for name in ("csp_jwt_secret", "csp_purchase_token_secret"):
            if len(getattr(self, name).encode()) < 32:  # RFC 7518 3.2 for HS256
                raise InsecureConfiguration(f"{name.upper()} must be at least 32 bytes")
        if self.csp_purchase_token_secret == DEV_PURCHASE_TOKEN_SECRET:
            raise InsecureConfiguration(
                "CSP_PURCHASE_TOKEN_SECRET is the dev default; set a real secret"
            )
        if self.csp_catalog is None:
            raise InsecureConfiguration(
                "CSP_CATALOG is unset: the shipped catalog carries dev webhook secrets"
            )
        if self.csp_test_clock:
            raise InsecureConfiguration("CSP_TEST_CLOCK must never be on in production")
        return self

    def store_path(self, service: str) -> Path:
        return self.csp_data_dir / f"{service}.sqlite3"


def load_settings() -> Settings:
    """Settings for a process entry point: a refused configuration exits with one clear line."""
    try:
        return Settings()
    except (InsecureConfiguration, ValidationError) as error:
        raise SystemExit(f"configuration refused: {error}") from None

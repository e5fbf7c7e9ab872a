"""A process started in production without what it needs, or with a dev default, stops
with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ISSUER = {
    "CSP_JWKS_URL": "https://login.example/tenant/discovery/v2.0/keys",
    "CSP_JWT_ISSUER": "https://login.example/tenant/v2.0",
    "CSP_JWT_AUDIENCE": "api://csp-marketplace",
}


def start_in_production(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CSP_", "KAFKA_"))}
    return subprocess.run(
        [sys.executable, "-m", module],
        cwd=REPO,
        env={**clean, "CSP_ENV": "production", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "module",
    ["services.ordering", "services.provisioning", "services.billing", "services.launcher"],
)
def test_production_without_the_oidc_issuer_refuses_to_start(module: str) -> None:
    """Even with a strong CSP_JWT_SECRET: production never accepts HS256 tokens."""
    result = start_in_production(module, CSP_JWT_SECRET="a-real-jwt-secret-of-at-least-32-bytes")
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "configuration refused: production verifies RS256 tokens from an OIDC issuer: set "
        "CSP_JWKS_URL, CSP_JWT_ISSUER and CSP_JWT_AUDIENCE (missing: CSP_JWKS_URL, "
        "CSP_JWT_ISSUER, CSP_JWT_AUDIENCE)"
    )


@pytest.mark.parametrize("module", ["services.ordering", "services.provisioning"])
def test_a_service_reading_the_catalog_refuses_the_shipped_one(module: str) -> None:
    result = start_in_production(module, **ISSUER)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "configuration refused: CSP_CATALOG is unset: the shipped catalog carries dev "
        "webhook secrets"
    )


def test_provisioning_refuses_the_dev_purchase_token_secret() -> None:
    result = start_in_production("services.provisioning", **ISSUER, CSP_CATALOG="catalog.json")
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "configuration refused: CSP_PURCHASE_TOKEN_SECRET is the dev default; set a real secret"
    )

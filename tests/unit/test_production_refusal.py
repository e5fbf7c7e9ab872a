"""A process started in production with a dev default stops with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REAL_JWT_SECRET = "a-real-jwt-secret-of-at-least-32-bytes"


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
def test_production_with_the_dev_jwt_secret_refuses_to_start(module: str) -> None:
    result = start_in_production(module)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "configuration refused: CSP_JWT_SECRET is the dev default; set a real secret"
    )


@pytest.mark.parametrize("module", ["services.ordering", "services.provisioning"])
def test_a_service_reading_the_catalog_refuses_the_shipped_one(module: str) -> None:
    result = start_in_production(module, CSP_JWT_SECRET=REAL_JWT_SECRET)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "configuration refused: CSP_CATALOG is unset: the shipped catalog carries dev "
        "webhook secrets"
    )


def test_provisioning_refuses_the_dev_purchase_token_secret() -> None:
    result = start_in_production(
        "services.provisioning", CSP_JWT_SECRET=REAL_JWT_SECRET, CSP_CATALOG="catalog.json"
    )
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "configuration refused: CSP_PURCHASE_TOKEN_SECRET is the dev default; set a real secret"
    )

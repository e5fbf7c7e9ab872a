"""A service started in production with a dev default stops with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "module", ["services.ordering", "services.provisioning", "services.billing"]
)
def test_production_with_the_dev_jwt_secret_refuses_to_start(module: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSP_")}
    env["CSP_ENV"] = "production"
    result = subprocess.run(
        [sys.executable, "-m", module],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "configuration refused: CSP_JWT_SECRET is the dev default; set a real secret"
    )

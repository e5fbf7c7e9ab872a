"""Importing any module, or building any service, touches no network and no store."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(
    """
    import importlib, pkgutil, socket, sqlite3, sys
    from pathlib import Path

    def refuse(*args, **kwargs):
        raise AssertionError(f"I/O during import or build: {args!r}")

    socket.socket.connect = refuse
    socket.create_connection = refuse
    sqlite3.connect = refuse

    import services, shared
    for package in (shared, services):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)

    from services.billing.settings import BillingSettings
    from services.ordering.settings import OrderingSettings
    from services.provisioning.settings import ProvisioningSettings

    data_dir = Path(sys.argv[1])
    for settings in (OrderingSettings, ProvisioningSettings, BillingSettings):
        bootstrap = importlib.import_module(f"services.{settings.SERVICE}.bootstrap")
        bootstrap.build_app(settings(csp_data_dir=data_dir, csp_test_clock=True))
    assert not data_dir.exists(), "building a service created its data directory"
    print("clean")
    """
)


def test_importing_every_module_and_building_every_service_does_no_io(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "data")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("clean")

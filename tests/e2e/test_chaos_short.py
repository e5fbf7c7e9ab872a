"""A short `make chaos` in the default run: 10 subscriptions bought, activated and
managed while billing is SIGKILLed once and the broker restarted once (the way back taken:
topics, consumer groups, the outbox replay); every ledger, invoice and credit note must
still be exactly what the purchases call for. `make chaos` is the long one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.processes import quick_acceptance_catalog
from tools.chaos_system import REPO

pytestmark = pytest.mark.e2e

ARGS = ["--subscriptions", "10", "--kills", "billing=1", "--broker-restarts", "1", "--seed", "5"]


def test_a_short_chaos_with_a_kill_and_a_broker_restart_ends_with_every_check_holding(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "CSP_CATALOG": str(quick_acceptance_catalog(tmp_path / "catalog.json"))}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    run = subprocess.run(
        [sys.executable, "-m", "tools.chaos", *ARGS],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "result   OK" in run.stdout
    assert "broker        1 restart(s)" in run.stdout
    print(run.stdout[run.stdout.index("seed          ") :])

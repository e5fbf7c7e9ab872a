"""One service as a real process (`python -m services.<name>`, as `make run` starts it)
and a broker on a port chosen beforehand: for restart and shutdown tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


def get(url: str) -> httpx.Response | None:
    """One GET; None while nothing answers."""
    try:
        return httpx.get(url, timeout=1.0)
    except httpx.HTTPError:
        return None


@dataclass
class ServiceProcess:
    """`python -m services.<name>` on `port`, its output appended to `log` across restarts."""

    name: str
    port: int
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def environment(self, bootstrap: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CSP_", "KAFKA_"))}
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=bootstrap,
            CSP_DATA_DIR=str(self.workdir / "data"),
            PYTHONUNBUFFERED="1",
            **{f"CSP_{self.name.upper()}_PORT": str(self.port)},
        )
        env.update(self.env)
        return env

    def start(self, bootstrap: str) -> float:
        """Launch; returns the monotonic time it was launched at."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.name}"],
                cwd=REPO,
                env=self.environment(bootstrap),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return time.monotonic()

    def wait_for(self, path: str, status: int = 200, timeout: float = 90.0) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if (code := self.process.poll()) is not None:
                raise AssertionError(f"{self.name} exited with {code}\n{self.tail()}")
            response = get(f"{self.url}{path}")
            if response is not None and response.status_code == status:
                return response
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no {status} from {path} in {timeout} s")
            time.sleep(0.05)

    def wait_ready(self, timeout: float = 90.0) -> None:
        self.wait_for("/readyz", 200, timeout)

    def terminate(self, timeout: float) -> tuple[int | None, float]:
        """SIGTERM; (exit code, seconds it took), the code None if it did not exit in time."""
        assert self.process is not None
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code: int | None = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        return code, time.monotonic() - began

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def events(self, name: str) -> list[dict[str, Any]]:
        """The JSON log lines of this service with this structlog event name."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            if f'"{name}"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == name:
                found.append(entry)
        return found

    def tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

"""The system under test, one process at a time: the embedded broker and the three
services, started as `make run` (services.launcher) starts them, with the same
commands and environment, on free ports. Started here rather than through the launcher
so each process can be measured (CPU, memory), profiled, and stopped and started on
its own (the backlog measurement). Each process's output goes to its own log file
(the launcher pipes it through honcho instead).
"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from benchmarks.procstat import ProcessBook
from shared.http.auth import mint_token
from shared.messaging.embedded_broker import broker_command, free_port, wait_for_port
from shared.settings import DEV_JWT_SECRET

REPO = Path(__file__).resolve().parents[1]
SERVICES = ("ordering", "provisioning", "billing")
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0  # a service stops within 10 s of SIGTERM (README)


@dataclass
class System:
    workdir: Path
    book: ProcessBook
    broker_port: int = field(default_factory=free_port)
    ports: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in SERVICES})
    secret: str = DEV_JWT_SECRET
    extra_env: dict[str, str] = field(default_factory=dict)  # experiments (--env)
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def pid(self, role: str) -> int:
        return self._procs[role].pid

    def partner_token(self, partner_id: str) -> str:
        claims = {"sub": f"{partner_id}-user", "partnerId": partner_id, "roles": ["GlobalAdmin"]}
        return mint_token(self.secret, claims)

    def publisher_token(self, publisher_id: str) -> str:
        return mint_token(self.secret, {"sub": f"{publisher_id}-app", "publisherId": publisher_id})

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CSP_", "KAFKA_"))}
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=self.bootstrap,
            CSP_DATA_DIR=str(self.workdir / "data"),
            CSP_JWT_SECRET=self.secret,
            PYTHONUNBUFFERED="1",
            **{f"CSP_{s.upper()}_PORT": str(p) for s, p in self.ports.items()},
        )
        env.update(self.extra_env)
        return env

    def _spawn(self, role: str, command: list[str]) -> None:
        with (self.workdir / f"{role}.log").open("ab") as log:
            process = subprocess.Popen(
                command, cwd=REPO, env=self._environment(), stdout=log, stderr=subprocess.STDOUT
            )
        self._procs[role] = process
        self.book.add(role, process.pid)

    def start_broker(self) -> None:
        self._spawn("broker", broker_command("127.0.0.1", self.broker_port))
        wait_for_port("127.0.0.1", self.broker_port)

    def start(self, service: str) -> None:
        self._spawn(service, [sys.executable, "-m", f"services.{service}"])

    async def wait_ready(self, *services: str) -> float:
        """Until each /readyz is 200 (consuming); the seconds it took."""
        began = time.monotonic()
        async with aiohttp.ClientSession() as http:
            for service in services:
                while True:
                    process = self._procs[service]
                    if process.poll() is not None:
                        raise RuntimeError(f"{service} exited: {self.log_tail(service)}")
                    if time.monotonic() - began > READY_TIMEOUT_S:
                        raise TimeoutError(f"{service} not ready: {self.log_tail(service)}")
                    try:
                        async with http.get(f"{self.url(service)}/readyz") as answer:
                            if answer.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.1)
        return time.monotonic() - began

    async def stop(self, role: str) -> None:
        """SIGTERM (a service stops cleanly: leaves its groups, drains its outbox), then
        reap with wait4 for the process's exact CPU and peak memory."""
        process = self._procs[role]
        if process.returncode is None:
            self.book.sample()
            process.send_signal(signal.SIGTERM)
            usage = await reap(process, STOP_TIMEOUT_S)
            self.book.ended(role, process.pid, usage)

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(s) for s in SERVICES if s in self._procs))
        if "broker" in self._procs:
            await self.stop("broker")

    def log_tail(self, role: str, chars: int = 2000) -> str:
        try:
            return (self.workdir / f"{role}.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""


async def reap(process: subprocess.Popen[bytes], timeout_s: float) -> resource.struct_rusage:
    """Wait for the child to exit (SIGKILL after `timeout_s`); its resource usage."""
    deadline = time.monotonic() + timeout_s
    while (usage := _reaped(process)) is None:
        if time.monotonic() > deadline:
            process.kill()
            deadline = float("inf")
        await asyncio.sleep(0.02)
    return usage


def _reaped(process: subprocess.Popen[bytes]) -> resource.struct_rusage | None:
    pid, status, usage = os.wait4(process.pid, os.WNOHANG)
    if not pid:
        return None
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage

"""The system under chaos: the broker and each service as a process of its own.

Not `services.launcher`: honcho stops everything when one child dies, and here
children die on purpose. Each service keeps its SQLite file in one data dir across
restarts, and appends to one log file across restarts. With `replicas=2` each service
runs twice (`billing` and `billing-2`): one consumer group, one SQLite file, two ports.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.messaging.embedded_broker import broker_command, free_port, wait_for_port
from shared.store.broker_starts import record_broker_start

SERVICES = ("ordering", "provisioning", "billing")
REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
START_TIMEOUT_S = 90.0  # one service, launch -> /readyz ok (a cold start on 2 busy cores)
HEALTH_POLL_S = 0.1
LOG_TAIL_CHARS = 3000


class SystemFailure(Exception):
    """The system could not be (re)started, or a process died without being killed:
    the run cannot say anything about the delivery guarantee (exit 2)."""


@dataclass
class Service:
    name: str  # the service's name, or for a further replica "<service>-<n>"
    port: int
    log: Path
    module: str = ""  # which service it runs: services.<module>; the name by default
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    killed_on_purpose: bool = False  # down because the chaos killed it; not yet restarted

    def __post_init__(self) -> None:
        self.module = self.module or self.name

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


@dataclass
class System:
    workdir: Path
    jwt_secret: str
    broker_port: int = field(default_factory=free_port)
    services: dict[str, Service] = field(default_factory=dict)
    broker: subprocess.Popen[bytes] | None = None
    broker_starts: int = 0
    broker_killed_on_purpose: bool = False  # down because the chaos killed it
    replicas: int = 1  # processes per service

    def __post_init__(self) -> None:
        for module in SERVICES:
            for replica in range(1, self.replicas + 1):
                name = module if replica == 1 else f"{module}-{replica}"
                log = self.workdir / f"{name}.log"
                self.services[name] = Service(name, free_port(), log, module)

    def url(self, name: str) -> str:
        return self.services[name].url

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=f"{HOST}:{self.broker_port}",
            CSP_DATA_DIR=str(self.workdir / "data"),
            CSP_JWT_SECRET=self.jwt_secret,
            PYTHONUNBUFFERED="1",  # a SIGKILL must not swallow the last log lines
        )
        for service in self.services.values():
            if service.name == service.module:  # the first replica's: what others call
                env[f"CSP_{service.module.upper()}_PORT"] = str(service.port)
        return env

    def _spawn(
        self, argv: list[str], log: Path, service: Service | None = None
    ) -> subprocess.Popen[bytes]:
        env = self._environment()
        if service is not None:  # its own port, whichever replica it is
            env[f"CSP_{service.module.upper()}_PORT"] = str(service.port)
        with log.open("ab") as out:  # appended across restarts: one history per service
            return subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)

    async def start_all(self) -> None:
        await self.start_broker()
        # One after the other: three cold starts at once on 2 cores only slow each other.
        for name in self.services:
            await self.start(name)

    async def start(self, name: str) -> None:
        """Launch one service and wait for its /readyz (it is consuming by then)."""
        service = self.services[name]
        argv = [sys.executable, "-m", f"services.{service.module}"]
        service.process = self._spawn(argv, service.log, service)
        service.starts += 1
        await self._wait_healthy(service)
        service.killed_on_purpose = False

    async def start_broker(self) -> None:
        """Launch the embedded broker on its port (the same one after a restart: what the
        services know) and wait until it listens; its start is recorded for the replay."""
        record_broker_start(self.workdir / "data", f"{HOST}:{self.broker_port}")
        self.broker = self._spawn(
            broker_command(HOST, self.broker_port), self.workdir / "broker.log"
        )
        self.broker_starts += 1
        try:
            await asyncio.to_thread(wait_for_port, HOST, self.broker_port)
        except TimeoutError as error:
            raise SystemFailure(f"the broker did not listen: {error}") from None
        self.broker_killed_on_purpose = False

    def kill_broker(self) -> int:
        """SIGKILL the broker: every topic, offset and group it held in memory is gone."""
        assert self.broker is not None, "the broker was never started"
        self.broker_killed_on_purpose = True
        self.broker.send_signal(signal.SIGKILL)
        self.broker.wait()
        return self.broker.pid

    def kill(self, name: str) -> int:
        """SIGKILL: no shutdown hook, no graceful drain, no last commit. Returns the pid."""
        service = self.services[name]
        assert service.process is not None, f"{name} was never started"
        service.killed_on_purpose = True
        service.process.send_signal(signal.SIGKILL)
        service.process.wait()
        return service.process.pid

    async def _wait_healthy(self, service: Service) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        async with httpx.AsyncClient(timeout=1.0) as client:
            while True:
                assert service.process is not None
                if (code := service.process.poll()) is not None:
                    raise SystemFailure(
                        f"{service.name} exited with {code} while starting\n"
                        + self.log_tail(service.name)
                    )
                try:
                    if (await client.get(f"{service.url}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass  # not listening yet: uvicorn binds once the store is open
                if time.monotonic() > deadline:
                    raise SystemFailure(
                        f"{service.name} not ready after {START_TIMEOUT_S:.0f} s\n"
                        + self.log_tail(service.name)
                    )
                await asyncio.sleep(HEALTH_POLL_S)

    def check_alive(self) -> None:
        """Raise if a process died that the chaos did not kill: then the run is void."""
        broker = None if self.broker_killed_on_purpose else self.broker
        if broker is not None and (code := broker.poll()) is not None:
            raise SystemFailure(f"the broker exited on its own with {code}")
        for service in self.services.values():
            process = service.process
            if process is None or service.killed_on_purpose:
                continue
            if (code := process.poll()) is not None:
                raise SystemFailure(
                    f"{service.name} exited on its own with {code}\n" + self.log_tail(service.name)
                )

    def stop_all(self) -> None:
        """Kill every child still running; safe to call at any point, and twice."""
        children = [s.process for s in self.services.values()] + [self.broker]
        for process in children:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGKILL)
        for process in children:
            if process is not None:
                process.wait()

    def log_tail(self, name: str) -> str:
        try:
            text = self.services[name].log.read_text(errors="replace")
        except OSError:
            return f"(no log for {name})"
        return f"--- last lines of {self.services[name].log} ---\n{text[-LOG_TAIL_CHARS:]}"

    def count_in_logs(self, name: str, log_event: str) -> int:
        """How many JSON log lines of one service carry this structlog event name."""
        try:
            text = self.services[name].log.read_text(errors="replace")
        except OSError:
            return 0
        return text.count(f'"event": "{log_event}"')

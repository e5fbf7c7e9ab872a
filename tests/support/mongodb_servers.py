"""The MongoDB servers the store tests run against.

- nx-27017 (PyPI): a MongoDB wire-protocol server on SQLite, started here as a local
  process on a free loopback port, every database in memory. Always available.
- real MongoDB: a single-node replica set (transactions need one) in a container
  started through testcontainers, only where a Docker engine answers; otherwise the
  tests that need it are skipped with the reason.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.messaging.embedded_broker import free_port, wait_for_port
from tests.support.broker import stop
from tests.support.containers import docker_unavailable

__all__ = ["docker_unavailable", "running_mongodb_replica_set", "running_nx_27017"]

MONGO_IMAGE = "mongo:8.0"


@contextmanager
def running_nx_27017(workdir: Path) -> Iterator[str]:
    """An nx-27017 process; yields its URL. Its pid and log files stay in `workdir` (the
    defaults are fixed paths in /tmp, and a second server would refuse to start)."""
    port = free_port()
    log = workdir / "nx-27017.log"
    command = [
        sys.executable,
        "-m",
        "nx_27017.nx_27017",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        "memory",  # one in-memory SQLite database per MongoDB database
        "--pid-file",
        str(workdir / "nx-27017.pid"),
        "--log-file",
        str(log),
    ]
    with (workdir / "nx-27017.out").open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        try:
            wait_for_port("127.0.0.1", port)
        except TimeoutError:
            output = (workdir / "nx-27017.out").read_text(errors="replace")
            raise RuntimeError(f"nx-27017 did not start:\n{output}") from None
        yield f"mongodb://127.0.0.1:{port}/?directConnection=true"
    finally:
        stop(process)


@contextmanager
def running_mongodb_replica_set() -> Iterator[str]:
    """A real mongod as a single-node replica set in a container; yields its URL."""
    from pymongo import MongoClient
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    container = (
        DockerContainer(MONGO_IMAGE)
        .with_command("--replSet rs0 --bind_ip_all")
        .with_exposed_ports(27017)
        .waiting_for(LogMessageWaitStrategy("Waiting for connections"))
    )
    with container:
        host, port = container.get_container_host_ip(), container.get_exposed_port(27017)
        url = f"mongodb://{host}:{port}/?directConnection=true"
        with MongoClient(url, serverSelectionTimeoutMS=20_000) as client:
            members = [{"_id": 0, "host": "localhost:27017"}]
            client.admin.command("replSetInitiate", {"_id": "rs0", "members": members})
            deadline = time.monotonic() + 30
            while not client.admin.command("hello").get("isWritablePrimary"):
                if time.monotonic() > deadline:
                    raise TimeoutError("the replica set elected no primary in 30 s")
                time.sleep(0.2)
        yield url

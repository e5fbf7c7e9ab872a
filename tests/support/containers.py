"""Whether containers can run here: testcontainers needs a Docker engine that answers.
Tests that need one (real MongoDB, real Apache Kafka) skip with the reason otherwise."""

from __future__ import annotations


def docker_unavailable() -> str | None:
    """Why no container can run here, or None when a Docker engine answers."""
    try:
        import docker
        from testcontainers.core.container import DockerContainer  # noqa: F401
    except ImportError as error:
        return f"testcontainers is not installed ({error})"
    try:
        client = docker.from_env(timeout=3)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as error:  # the docker client says why in many ways
        return f"no Docker engine reachable for testcontainers ({type(error).__name__}: {error})"
    return None

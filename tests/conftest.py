"""Fixtures shared by every test layer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.broker import running_broker


@pytest.fixture(scope="module")
def kafka_bootstrap() -> Iterator[str]:
    """A fresh real broker process per test module (its memory storage starts empty)."""
    with running_broker() as bootstrap:
        yield bootstrap

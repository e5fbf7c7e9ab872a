"""A MemoryStore that counts the transactions opened on it: a test proves that a
request was answered without touching the store (no lookup) when the count stays 0."""

from __future__ import annotations

from typing import Any

from shared.store.memory import MemoryStore
from shared.store.port import Transaction


class CountingStore(MemoryStore):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.opened = 0  # a read may count twice (read_only opens a transaction): only 0 matters

    def transaction(self) -> Transaction:
        self.opened += 1
        return super().transaction()

    def read_only(self) -> Transaction:
        self.opened += 1
        return super().read_only()

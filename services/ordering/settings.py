"""What ordering reads from the environment: the common settings, its port, the catalog."""

from __future__ import annotations

from typing import ClassVar

from shared.settings import CatalogSettings


class OrderingSettings(CatalogSettings):
    SERVICE: ClassVar[str] = "ordering"

    csp_ordering_port: int = 8001

    @property
    def port(self) -> int:
        return self.csp_ordering_port

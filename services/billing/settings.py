"""What billing reads from the environment: the common settings and its port.

No catalog: billing prices from the facts of ActivationCompleted, locked at purchase.
"""

from __future__ import annotations

from typing import ClassVar

from shared.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    SERVICE: ClassVar[str] = "billing"

    csp_billing_port: int = 8003

    @property
    def port(self) -> int:
        return self.csp_billing_port

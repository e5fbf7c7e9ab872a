"""What provisioning reads from the environment: the common settings, its port, the
catalog (landing pages, webhooks), the purchase-token secret of activation links and
the webhook timeout."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import CatalogSettings, refuse_weak_secret

DEV_PURCHASE_TOKEN_SECRET = "csp-dev-purchase-token-secret-not-for-production"


class ProvisioningSettings(CatalogSettings):
    SERVICE: ClassVar[str] = "provisioning"

    csp_provisioning_port: int = 8002
    csp_purchase_token_secret: str = DEV_PURCHASE_TOKEN_SECRET
    # ISO 8601. Longer than Microsoft's hour: the CSP partner hands the link on.
    csp_purchase_token_ttl: str = "P7D"
    # Subscriptions per page of the publisher's list (`@nextLink` to the next one).
    csp_publisher_page_size: int = Field(default=100, ge=1, le=1000)
    # How long one webhook POST may take before it counts as a failed attempt (retried).
    csp_webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @property
    def port(self) -> int:
        return self.csp_provisioning_port

    def refuse_insecure(self) -> None:
        super().refuse_insecure()
        refuse_weak_secret(
            "csp_purchase_token_secret", self.csp_purchase_token_secret, DEV_PURCHASE_TOKEN_SECRET
        )

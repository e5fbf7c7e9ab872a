"""Webhooks out: POST an operation to its publisher's `webhookUrl`, signed.

The body is the operation's payload (`presenters.webhook_payload`: the spec's
SaaSOperation fields, `operationRequestSource`, and the subscription as the publisher's
GET shows it), serialized once; `X-CSP-Signature` is the hex HMAC-SHA256 of exactly those
bytes keyed with the publisher's `webhookSecret` from the catalog (docs/subscription-lifecycle.md,
"Webhooks"). The payload reuses the publisher API's presenters on purpose: a webhook
shows the subscription exactly as GET does.

`send` never raises: a refused connection, a timeout or an unknown publisher is an
attempt that `failed`, which the due work retries with backoff.
"""

from __future__ import annotations

import hashlib
import hmac

import httpx
import structlog

from services.provisioning.domain.model import SaasSubscription
from services.provisioning.domain.operations import DeliveryAttempt, Operation
from services.provisioning.entrypoints.presenters import webhook_payload
from shared.catalog import Catalog

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-CSP-Signature"


def webhook_body(operation: Operation, subscription: SaasSubscription) -> bytes:
    payload = webhook_payload(operation, subscription)
    return payload.model_dump_json(by_alias=True, exclude_none=True).encode()


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def outcome_of(status_code: int) -> DeliveryAttempt:
    """2xx delivered, 4xx the publisher's refusal, anything else worth retrying."""
    detail = f"HTTP {status_code}"
    if 200 <= status_code < 300:
        return DeliveryAttempt("delivered", detail)
    if 400 <= status_code < 500:
        return DeliveryAttempt("rejected", detail)
    return DeliveryAttempt("failed", detail)


class HttpWebhookSender:
    """One pooled httpx client for every publisher; built by bootstrap, closed on shutdown."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        timeout_seconds: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._catalog = catalog
        self._timeout = httpx.Timeout(timeout_seconds)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None  # made on first use, inside a loop

    async def send(self, operation: Operation, subscription: SaasSubscription) -> DeliveryAttempt:
        publisher = self._catalog.publisher(operation.publisher_id)
        if publisher is None:  # the catalog changed since the purchase
            return DeliveryAttempt("failed", f"unknown publisher {operation.publisher_id!r}")
        body = webhook_body(operation, subscription)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(publisher.webhook_secret, body),
        }
        try:
            answer = await self._http().post(publisher.webhook_url, content=body, headers=headers)
        except httpx.TimeoutException as error:
            return DeliveryAttempt("failed", f"timed out: {type(error).__name__}")
        except Exception as error:  # refused, reset, a malformed URL: all worth a retry
            return DeliveryAttempt("failed", f"{type(error).__name__}: {error}"[:500])
        return outcome_of(answer.status_code)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # Never follow redirects: a webhook URL that moved is the publisher's to fix.
            self._client = httpx.AsyncClient(timeout=self._timeout, transport=self._transport)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

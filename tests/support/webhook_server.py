"""A publisher's webhook endpoint for tests: a real HTTP server on 127.0.0.1 that
checks every X-CSP-Signature and answers as the test scripts it.

It runs uvicorn in a thread of its own, so it outlives any one test's event loop
and serves processes (the launched system) as well as in-process apps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.messaging.embedded_broker import free_port
from tests.support.http_thread import serving

SIGNATURE_HEADER = "X-CSP-Signature"


@dataclass(frozen=True)
class Delivery:
    """One POST a publisher received, with whether its signature checked out (keyed
    with the webhook secret of the publisher the body names)."""

    body: dict[str, Any]
    signature_valid: bool
    answered: int

    @property
    def action(self) -> str:
        return str(self.body.get("action"))

    @property
    def subscription_id(self) -> str:
        return str(self.body.get("subscriptionId"))


class PublisherWebhooks:
    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = {publisher: secret.encode() for publisher, secret in secrets.items()}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhook"
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._scripted: dict[tuple[str, str], list[int]] = {}

    def answer(self, subscription_id: str, action: str, *statuses: int) -> None:
        """Reply to this subscription's webhooks of `action` with these statuses in
        turn (the last one repeats); unscripted ones get 200."""
        with self._lock:
            self._scripted[(subscription_id, action)] = list(statuses)

    def deliveries(self, subscription_id: str | None = None) -> list[Delivery]:
        with self._lock:
            return [
                d
                for d in self._deliveries
                if subscription_id is None or d.subscription_id == subscription_id
            ]

    def actions(self, subscription_id: str) -> list[str]:
        return [d.action for d in self.deliveries(subscription_id)]

    def _status_for(self, body: dict[str, Any]) -> int:
        key = (str(body.get("subscriptionId")), str(body.get("action")))
        with self._lock:
            statuses = self._scripted.get(key)
            if not statuses:
                return 200
            return statuses.pop(0) if len(statuses) > 1 else statuses[0]

    async def _receive(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsable": raw.decode(errors="replace")}
        secret = self.secrets.get(str(body.get("publisherId")), b"")
        expected = hmac.new(secret, raw, hashlib.sha256).hexdigest()
        valid = bool(secret) and hmac.compare_digest(
            expected, request.headers.get(SIGNATURE_HEADER, "")
        )
        status = self._status_for(body) if valid else 401
        with self._lock:
            self._deliveries.append(Delivery(body, valid, status))
        return Response(status_code=status)

    @contextmanager
    def running(self) -> Iterator[PublisherWebhooks]:
        app = Starlette(routes=[Route("/webhook", self._receive, methods=["POST"])])
        with serving(app, self.port, "publisher-webhooks"):
            yield self

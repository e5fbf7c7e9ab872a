"""Limits on what a request may carry, enforced before anything parses it.

Body: at most `CSP_MAX_BODY_BYTES` (1 MiB by default, far above any valid request of
these APIs); past it the answer is a 413 `PayloadTooLarge` in the shared error shape.
A declared Content-Length over the limit is refused without reading a byte; a body
without one (chunked) is read up to the limit plus one byte, refused if it goes past,
and otherwise handed to the app as read. So a 20 MB body is never held in memory or
parsed, whichever way it is sent.

Ids in paths: checked before any store lookup (`path_id`), so an id that cannot name
anything costs no query and is never quoted back in full.

Lengths of string fields are declared where the fields are (the request models and
route parameters), with the shared maxima below; a longer value is a 400 naming it.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import FastAPI, Path
from pydantic import AfterValidator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import NotFound
from shared.http.errors import clip, error_body

DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: far above any valid request of these APIs

# Maximum lengths (characters) of the string fields of requests.
ID_CHARS = 64  # an identifier: catalog ids (offerId, planId), foreign ids, short codes
NAME_CHARS = 256  # a name a person types: companyName, a user id or principal name
DOMAIN_CHARS = 253  # a DNS name (RFC 1035)
EMAIL_CHARS = 254  # an email address (RFC 5321 path limit)
CODE_CHARS = 32  # an enumerated value (termDuration, billingCycle, status)

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Ids another service made (billing's customer and subscription ids come from events).
_OPAQUE = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:@-]{{0,{ID_CHARS - 1}}}")
_OPAQUE_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9._:@-]{{0,{ID_CHARS - 1}}}$"


def path_id(what: str, name: str, *, guid: bool = True) -> Any:
    """A path parameter `name` naming one `what` (a customer, a cart...): a GUID (the
    ids this service makes, lower-cased) or, with `guid=False`, an id of at most
    `ID_CHARS` letters, digits and `._:@-`. Anything else is a 404 naming `name` before
    any store lookup: no such id can exist, as the partner API answers for an unknown
    one. Checked after the route's dependencies (authentication), like any parameter."""

    def known(value: str) -> str:
        if guid and _GUID.fullmatch(value):
            return value.lower()
        if not guid and _OPAQUE.fullmatch(value):
            return value
        raise NotFound(f"{what} {clip(value)} not found", name)

    schema: dict[str, Any] = (
        {"format": "uuid"} if guid else {"maxLength": ID_CHARS, "pattern": _OPAQUE_PATTERN}
    )
    described = Path(
        alias=name,
        description=f"The {what}'s id; one that cannot be an id is answered 404.",
        json_schema_extra=schema,
    )
    return Annotated[str, described, AfterValidator(known)]


# --- the body limit


def _refusal(limit: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = json.dumps(
        error_body("PayloadTooLarge", f"the request body exceeds {limit} bytes", "body")
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    return body, headers


class BodyLimit:
    """Pure ASGI middleware (no BaseHTTPMiddleware).

    The body is read here, at most `max_body_bytes + 1` bytes of it, before the app
    runs; the app then receives it as one message, and anything after (a disconnect)
    from the server as usual. Refusing inside the app instead would be too late: a
    framework that catches errors while reading turns them into its own 400.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_refusal(send, limit)
            return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                replay = _replay([], message, receive)
                await self.app(scope, replay, send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                await _send_refusal(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], None, receive), send)


def _replay(buffered: list[Message], then: Message | None, receive: Receive) -> Receive:
    """A receive that hands out what was already read, then asks the server again."""
    pending = [*buffered, *([then] if then is not None else [])]

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_refusal(send: Send, limit: int) -> None:
    body, headers = _refusal(limit)
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def install_request_limits(app: FastAPI, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
    app.add_middleware(BodyLimit, max_body_bytes=max_body_bytes)

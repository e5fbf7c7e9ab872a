"""The operator credential: when one is configured (always in production), every
request but the health probes must carry it, as HTTP basic (user CSP_DASHBOARD_USER,
the token as password: a browser asks for it by itself) or as `Bearer <token>`.

Pure ASGI, so the live stream (a long response) passes through untouched.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.http.errors import error_body

OPEN_PATHS = frozenset({"/healthz", "/readyz"})  # probes: they tell nothing about the topics
REALM = 'Basic realm="CSP dashboard", charset="UTF-8"'


class OperatorAuth:
    def __init__(self, app: ASGIApp, *, user: str, token: str | None) -> None:
        self.app = app
        self._user = user.encode()
        self._token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._token is None or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        problem = self._problem(Headers(scope=scope).get("authorization"))
        if problem is None:
            await self.app(scope, receive, send)
            return
        answer = JSONResponse(
            error_body("Unauthorized", problem),
            status_code=401,
            headers={"WWW-Authenticate": REALM},
        )
        await answer(scope, receive, send)

    def _problem(self, header: str | None) -> str | None:
        """None when the credential is right; else what is wrong with it."""
        if not header:
            return (
                "the dashboard asks for the operator credential: HTTP basic (the token as "
                "password) or Authorization: Bearer <token>"
            )
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            right = hmac.compare_digest(value.encode(), self._token or b"")
        elif scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value, validate=True).partition(b":")
            except (binascii.Error, ValueError):
                return "the basic credential is not base64 of user:password"
            # Both compared, whatever the first gives: no timing tells which one was wrong.
            right_user = hmac.compare_digest(user, self._user)
            right = hmac.compare_digest(password, self._token or b"") and right_user
        else:
            return "Authorization must be Basic or Bearer"
        return None if right else "wrong operator credential"

"""Bearer JWT (HS256 in dev/test) -> a partner user or a publisher client.

Partner claims: {"sub", "partnerId", "roles": [...]}. Publisher: {"sub", "publisherId"}.
Bad/expired/unsigned token -> 401; the wrong kind of caller or role -> 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.errors import Forbidden, Unauthorized

WRITE_ROLES = frozenset({"GlobalAdmin", "AdminAgent"})
READ_ROLES = WRITE_ROLES | {"HelpdeskAgent", "SalesAgent", "BillingAdmin"}


@dataclass(frozen=True)
class PartnerUser:
    user_id: str
    partner_id: str
    roles: frozenset[str]

    @property
    def can_write(self) -> bool:
        return bool(self.roles & WRITE_ROLES)

    @property
    def can_read(self) -> bool:
        return bool(self.roles & READ_ROLES)


@dataclass(frozen=True)
class PublisherClient:
    client_id: str
    publisher_id: str


Principal = PartnerUser | PublisherClient


def decode_principal(token: str, secret: str) -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub"]})
    except jwt.PyJWTError as error:
        raise Unauthorized(f"invalid bearer token: {error}") from error
    if isinstance(claims.get("publisherId"), str):
        return PublisherClient(client_id=str(claims["sub"]), publisher_id=claims["publisherId"])
    roles = claims.get("roles", [])
    if isinstance(claims.get("partnerId"), str) and isinstance(roles, list):
        return PartnerUser(str(claims["sub"]), claims["partnerId"], frozenset(map(str, roles)))
    raise Unauthorized("token names neither a partnerId nor a publisherId")


def mint_token(secret: str, claims: dict[str, Any], ttl: timedelta = timedelta(days=30)) -> str:
    """Dev/test tokens (the run command prints some; tests make their own)."""
    now = datetime.now(UTC)
    return jwt.encode({"iat": now, "exp": now + ttl, **claims}, secret, algorithm="HS256")


# Declares the scheme in every OpenAPI document, so /docs can authorize; the
# missing-header case is ours to answer (401 in the shared error shape, not 403).
_bearer = HTTPBearer(auto_error=False, description="JWT: a partner user or a publisher client")
Credentials = HTTPAuthorizationCredentials | None


class Authenticator:
    """FastAPI dependencies bound to one secret: `Depends(auth.partner_reader)` etc."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def principal(self, credentials: Credentials = Depends(_bearer)) -> Principal:
        if credentials is None or not credentials.credentials.strip():
            raise Unauthorized("missing 'Authorization: Bearer <token>' header")
        return decode_principal(credentials.credentials.strip(), self._secret)

    def partner_reader(self, credentials: Credentials = Depends(_bearer)) -> PartnerUser:
        principal = self.principal(credentials)
        if not isinstance(principal, PartnerUser) or not principal.can_read:
            raise Forbidden("a partner user role is required")
        return principal

    def partner_writer(self, credentials: Credentials = Depends(_bearer)) -> PartnerUser:
        user = self.partner_reader(credentials)
        if not user.can_write:
            raise Forbidden("this call needs the GlobalAdmin or AdminAgent role")
        return user

    def publisher(self, credentials: Credentials = Depends(_bearer)) -> PublisherClient:
        principal = self.principal(credentials)
        if not isinstance(principal, PublisherClient):
            raise Forbidden("a publisher token is required")
        return principal

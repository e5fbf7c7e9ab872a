"""Signed, expiring purchase tokens: the "authorization code" in the activation link.

HS256 JWTs keyed with CSP_PURCHASE_TOKEN_SECRET. Expiry is checked against the
injected business clock (the test clock may run ahead of the wall clock), so
PyJWT's own wall-clock `exp`/`iat` checks are switched off and done here. Format and
claims: services/provisioning/README.md, "Purchase token and activation link".
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from datetime import datetime

import jwt

from shared.clock import Clock
from shared.errors import RuleBroken
from shared.periods import add

AUDIENCE = "csp-marketplace-purchase"
TOKEN_HEADER = "x-ms-marketplace-token"  # where a publisher hands a purchase token back
_REQUIRED = ["sub", "publisherId", "aud", "iat", "exp"]


class InvalidPurchaseToken(RuleBroken):
    """Missing, malformed, wrongly signed or expired: a 400 naming the token's header."""

    def __init__(self, message: str) -> None:
        super().__init__(message, TOKEN_HEADER)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class PurchaseClaims:
    subscription_id: str
    publisher_id: str


class PurchaseTokens:
    def __init__(self, secret: str, ttl: str, clock: Clock) -> None:
        self._secret = secret
        self._ttl = ttl  # ISO 8601 duration
        self._clock = clock

    def issue(self, subscription_id: str, publisher_id: str) -> IssuedToken:
        now = self._clock.now()
        expires_at = add(now, self._ttl)
        claims = {
            "sub": subscription_id,
            "publisherId": publisher_id,
            "aud": AUDIENCE,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        return IssuedToken(jwt.encode(claims, self._secret, algorithm="HS256"), expires_at)

    def verify(self, token: str) -> PurchaseClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                options={"verify_exp": False, "verify_iat": False, "require": _REQUIRED},
            )
        except jwt.PyJWTError as error:
            raise InvalidPurchaseToken(f"invalid marketplace token: {error}") from error
        exp, sub, publisher = claims["exp"], claims["sub"], claims["publisherId"]
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise InvalidPurchaseToken("invalid marketplace token: exp is not a number")
        if not isinstance(sub, str) or not isinstance(publisher, str):
            raise InvalidPurchaseToken("invalid marketplace token: sub/publisherId not strings")
        if self._clock.now().timestamp() >= exp:
            raise InvalidPurchaseToken("the marketplace token has expired")
        return PurchaseClaims(subscription_id=sub, publisher_id=publisher)


def activation_link(landing_page_url: str, token: str) -> str:
    """The link a purchase hands on: the publisher's landing page with the token."""
    return f"{landing_page_url}?token={urllib.parse.quote(token, safe='')}"

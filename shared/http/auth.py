"""Bearer JWT -> a partner user or a publisher client.

Two ways to verify a token, chosen by the settings (`verifier_for`):
- production: RS256 tokens of an OIDC issuer, keys from its JWKS URL (`JwksVerifier`),
  issuer and audience checked;
- development and tests: HS256 with `CSP_JWT_SECRET` (`SharedSecretVerifier`).

Either way a token must carry `sub`, `iat` and `exp`; `nbf` is honoured; clocks may
disagree by `CLOCK_SKEW_LEEWAY`. Claims become a principal in one place
(`principal_from_claims`): partner {"sub", "partnerId", "roles": [...]}, publisher
{"sub", "publisherId"}; a token naming both is refused.

Bad, expired, not-yet-valid or unsigned token -> 401 naming why; the wrong kind of
caller or role -> 403; the issuer's keys cannot be fetched -> 503 (the token may be
fine: the caller should retry, not sign in again).

A caller sends the same token with each request: once verified, its principal is kept
(`VerifiedTokens`) until the token expires or `VERIFIED_TOKEN_SECONDS` pass, whichever
is first, so the next requests skip the signature check (and, for JWKS, the thread).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import jwt
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from shared.errors import Forbidden, Unauthorized, Unavailable

if TYPE_CHECKING:
    from shared.settings import ServiceSettings

WRITE_ROLES = frozenset({"GlobalAdmin", "AdminAgent"})
READ_ROLES = WRITE_ROLES | {"HelpdeskAgent", "SalesAgent", "BillingAdmin"}

# How far the issuer's clock and ours may disagree when checking exp, nbf and iat.
CLOCK_SKEW_LEEWAY = timedelta(seconds=30)
# Every token must carry these (PyJWT then checks exp and iat; nbf when present).
REQUIRED_CLAIMS = ("sub", "iat", "exp")
# The development tokens `make run` prints: long, but they do expire.
DEV_TOKEN_TTL = timedelta(days=30)

# JWKS (production): the only algorithm accepted, how long a fetched key set is
# trusted, the least time between two refreshes forced by an unknown `kid` (so tokens
# with made-up kids cannot hammer the issuer), and how long one fetch may take.
JWKS_ALGORITHMS = ("RS256",)
JWKS_CACHE_LIFESPAN = timedelta(minutes=5)
JWKS_REFRESH_COOLDOWN = timedelta(seconds=30)
JWKS_FETCH_TIMEOUT = timedelta(seconds=5)

# A verified token is trusted again without a check for this long at most (never past
# its exp): also how long a key the issuer withdrew still admits tokens it signed.
VERIFIED_TOKEN_SECONDS = 60.0
VERIFIED_TOKENS_KEPT = 4096  # distinct tokens; past it the cache starts over


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


class JwksUnavailable(Exception):
    """The issuer's key set could not be fetched or read: not the token's fault."""


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The one place verified claims become a principal."""
    partner_id, publisher_id = claims.get("partnerId"), claims.get("publisherId")
    if partner_id is not None and publisher_id is not None:
        raise Unauthorized("token names both a partnerId and a publisherId: one identity only")
    if isinstance(publisher_id, str) and publisher_id:
        return PublisherClient(client_id=str(claims["sub"]), publisher_id=publisher_id)
    if isinstance(partner_id, str) and partner_id:
        roles = claims.get("roles", [])
        if not isinstance(roles, list):
            raise Unauthorized("token 'roles' must be a list of role names")
        return PartnerUser(str(claims["sub"]), partner_id, frozenset(map(str, roles)))
    raise Unauthorized("token names neither a partnerId nor a publisherId")


def _why(error: jwt.PyJWTError) -> str:
    """A PyJWT refusal as the 401's message: which check failed."""
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"bearer token has no '{error.claim}' claim (sub, iat and exp are required)"
    if isinstance(error, jwt.ExpiredSignatureError):
        return "bearer token has expired (exp)"
    if isinstance(error, jwt.ImmatureSignatureError):
        which = "iat" if "(iat)" in str(error) else "nbf"
        return f"bearer token is not valid yet ({which})"
    if isinstance(error, jwt.InvalidIssuerError):
        return "bearer token is not from the expected issuer (iss)"
    if isinstance(error, jwt.InvalidAudienceError):
        return "bearer token is not meant for this audience (aud)"
    return f"invalid bearer token: {error}"


def _checked_claims(
    token: str, key: Any, algorithms: list[str], *, issuer: str = "", audience: str = ""
) -> dict[str, Any]:
    """Signature, algorithm, the required claims and their times (with the leeway);
    issuer and audience when given."""
    required = [*REQUIRED_CLAIMS, *(["iss"] if issuer else []), *(["aud"] if audience else [])]
    try:
        return jwt.decode(
            token,
            key,
            algorithms=algorithms,
            leeway=CLOCK_SKEW_LEEWAY,
            issuer=issuer or None,
            audience=audience or None,
            options={"require": required},
        )
    except jwt.PyJWTError as error:
        raise Unauthorized(_why(error)) from error


class TokenVerifier(Protocol):
    def claims(self, token: str) -> dict[str, Any]:
        """The token's verified claims, or `Unauthorized` naming why not."""
        ...


class SharedSecretVerifier:
    """HS256 with one shared secret: development and tests."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def claims(self, token: str) -> dict[str, Any]:
        return _checked_claims(token, self._secret, ["HS256"])


class _JwksClient(jwt.PyJWKClient):
    """PyJWT's client (the key set cached for a lifespan, refetched once on an unknown
    kid after a cooldown, a lock around fetches) whose failures to get a usable key set
    are `JwksUnavailable`; only "no key has this kid" stays a token problem."""

    def fetch_data(self) -> Any:
        try:
            return super().fetch_data()
        except Exception as error:  # unreachable, not JSON, not a key set
            raise JwksUnavailable(f"cannot fetch the token issuer's keys: {error}") from error

    def get_signing_keys(self, refresh: bool = False) -> list[jwt.PyJWK]:
        try:
            return super().get_signing_keys(refresh)
        except jwt.PyJWTError as error:  # a key set without any signing key
            raise JwksUnavailable(f"the token issuer's key set is unusable: {error}") from error


class JwksVerifier:
    """RS256 tokens of an OIDC issuer, verified with the keys its JWKS URL publishes.

    Synchronous (urllib under PyJWKClient): call it from a thread, as the
    Authenticator does, never on the event loop.
    """

    def __init__(
        self,
        jwks_url: str,
        *,
        issuer: str,
        audience: str,
        refresh_cooldown: timedelta = JWKS_REFRESH_COOLDOWN,
        cache_lifespan: timedelta = JWKS_CACHE_LIFESPAN,
        fetch_timeout: timedelta = JWKS_FETCH_TIMEOUT,
    ) -> None:
        if not (issuer and audience):
            raise ValueError("a JWKS verifier checks both the issuer and the audience")
        self._issuer, self._audience = issuer, audience
        self._client = _JwksClient(
            jwks_url,
            cache_jwk_set=True,
            lifespan=cache_lifespan.total_seconds(),
            cooldown_duration=refresh_cooldown.total_seconds(),
            timeout=fetch_timeout.total_seconds(),
        )

    def claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise Unauthorized(f"invalid bearer token: {error}") from error
        # Refused before any key is looked up: an HS256 token signed with a public key
        # (algorithm confusion) or a token without a kid never reaches the issuer.
        if header.get("alg") not in JWKS_ALGORITHMS:
            raise Unauthorized(
                f"bearer token algorithm {header.get('alg')!r} is not accepted "
                f"(only {', '.join(JWKS_ALGORITHMS)})"
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("bearer token header has no 'kid' naming the issuer's key")
        try:
            key = self._client.get_signing_key(kid)
        except jwt.PyJWTError as error:  # JwksUnavailable is not one: it goes up as is
            raise Unauthorized(
                f"bearer token key {kid!r} is not among the issuer's keys"
            ) from error
        return _checked_claims(
            token, key, list(JWKS_ALGORITHMS), issuer=self._issuer, audience=self._audience
        )


def verifier_for(settings: ServiceSettings) -> TokenVerifier:
    """JWKS when configured (production requires it), else the HS256 secret."""
    if settings.csp_jwks_url:  # the settings refuse it without issuer and audience
        return JwksVerifier(
            settings.csp_jwks_url,
            issuer=settings.csp_jwt_issuer or "",
            audience=settings.csp_jwt_audience or "",
        )
    return SharedSecretVerifier(settings.csp_jwt_secret)


def decode_principal(token: str, secret: str | TokenVerifier) -> Principal:
    """A token's principal: verified with an HS256 secret or a verifier."""
    verifier = SharedSecretVerifier(secret) if isinstance(secret, str) else secret
    return principal_from_claims(verifier.claims(token))


def mint_token(secret: str, claims: dict[str, Any], ttl: timedelta = DEV_TOKEN_TTL) -> str:
    """Dev/test HS256 tokens with iat and exp (the run command prints some)."""
    now = datetime.now(UTC)
    return jwt.encode({"iat": now, "exp": now + ttl, **claims}, secret, algorithm="HS256")


# Declares the scheme in every OpenAPI document, so /docs can authorize; the
# missing-header case is ours to answer (401 in the shared error shape, not 403).
_bearer = HTTPBearer(auto_error=False, description="JWT: a partner user or a publisher client")
Credentials = HTTPAuthorizationCredentials | None


class VerifiedTokens:
    """Token -> its principal, until min(its exp, verified + `seconds`). Keyed by the
    whole token: its signature is part of it, so no other token can hit an entry."""

    def __init__(
        self, seconds: float = VERIFIED_TOKEN_SECONDS, most: int = VERIFIED_TOKENS_KEPT
    ) -> None:
        self._seconds = seconds
        self._most = most
        self._entries: dict[str, tuple[Principal, float]] = {}

    def get(self, token: str, now: float) -> Principal | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        if now >= entry[1]:
            del self._entries[token]
            return None
        return entry[0]

    def keep(self, token: str, principal: Principal, expires: float, now: float) -> None:
        if len(self._entries) >= self._most:
            self._entries.clear()  # rare; simpler than an LRU and as bounded
        self._entries[token] = (principal, min(expires, now + self._seconds))


class Authenticator:
    """FastAPI dependencies bound to one verifier: `Depends(auth.partner_reader)` etc.

    Built from an HS256 secret (`Authenticator(secret)`) or a verifier
    (`Authenticator(verifier_for(settings))`). The dependencies are `async def`: a token
    seen before is answered from `VerifiedTokens` on the event loop; a new one is
    verified there too when that is pure computation (HS256), else (JWKS, which may
    fetch the issuer's keys; any other verifier) in FastAPI's threadpool, so a key
    fetch never blocks the event loop.
    """

    def __init__(self, verifier: str | TokenVerifier) -> None:
        self._verifier = SharedSecretVerifier(verifier) if isinstance(verifier, str) else verifier
        self._inline = isinstance(self._verifier, SharedSecretVerifier)
        self._verified = VerifiedTokens()

    async def principal(self, credentials: Credentials = Depends(_bearer)) -> Principal:
        if credentials is None or not credentials.credentials.strip():
            raise Unauthorized("missing 'Authorization: Bearer <token>' header")
        token = credentials.credentials.strip()
        now = time.time()
        known = self._verified.get(token, now)
        if known is not None:
            return known
        try:
            if self._inline:
                claims = self._verifier.claims(token)
            else:
                claims = await run_in_threadpool(self._verifier.claims, token)
        except JwksUnavailable as error:
            raise Unavailable(f"cannot verify the bearer token now: {error}") from error
        principal = principal_from_claims(claims)
        self._verified.keep(token, principal, float(claims["exp"]), now)
        return principal

    async def partner_reader(self, credentials: Credentials = Depends(_bearer)) -> PartnerUser:
        principal = await self.principal(credentials)
        if not isinstance(principal, PartnerUser) or not principal.can_read:
            raise Forbidden("a partner user role is required")
        return principal

    async def partner_writer(self, credentials: Credentials = Depends(_bearer)) -> PartnerUser:
        user = await self.partner_reader(credentials)
        if not user.can_write:
            raise Forbidden("this call needs the GlobalAdmin or AdminAgent role")
        return user

    async def publisher(self, credentials: Credentials = Depends(_bearer)) -> PublisherClient:
        principal = await self.principal(credentials)
        if not isinstance(principal, PublisherClient):
            raise Forbidden("a publisher token is required")
        return principal

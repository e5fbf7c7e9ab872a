"""Production identity: RS256 tokens of an OIDC issuer, verified with the keys its JWKS
URL publishes (here a tiny HTTP server on 127.0.0.1 serving keys made in the test).

Issuer and audience are checked; the key set is cached, and an unknown `kid` makes the
verifier fetch it again (key rotation); an HS256 token is refused outright; when the
keys cannot be fetched the answer is a 503 naming it, never a 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.security import HTTPAuthorizationCredentials

from shared.errors import Unauthorized
from shared.http.auth import (
    Authenticator,
    JwksUnavailable,
    JwksVerifier,
    PartnerUser,
    VerifiedTokens,
    decode_principal,
)
from tests.support.auth_app import app_with

ISSUER = "https://login.example/tenant/v2.0"
AUDIENCE = "api://csp-marketplace"
PARTNER = {"sub": "alice", "partnerId": "p1", "roles": ["GlobalAdmin"]}


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def jwk(self) -> dict[str, Any]:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def sign(self, **claims: Any) -> str:
        """A partner token from ISSUER for AUDIENCE, valid for an hour, plus `claims`
        (None leaves one out; a timedelta is that far from now)."""
        now = datetime.now(UTC)
        base = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + timedelta(hours=1)}
        merged = {**base, **PARTNER, **claims}
        payload = {
            name: now + value if isinstance(value, timedelta) else value
            for name, value in merged.items()
            if value is not None
        }
        return jwt.encode(payload, self.private, algorithm="RS256", headers={"kid": self.kid})


class Issuer:
    """Serves a JWKS on 127.0.0.1 and counts how often it was fetched."""

    def __init__(self) -> None:
        self.keys: list[SigningKey] = []
        self.fetches = 0
        self.broken: str | None = None  # "500" or "not-json"
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                issuer.fetches += 1
                if issuer.broken == "500":
                    self.send_error(500)
                    return
                body = (
                    b"<html>maintenance</html>"
                    if issuer.broken == "not-json"
                    else json.dumps({"keys": [k.jwk() for k in issuer.keys]}).encode()
                )
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()

    def verifier(self, **options: Any) -> JwksVerifier:
        return JwksVerifier(self.url, issuer=ISSUER, audience=AUDIENCE, **options)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    served = Issuer()
    yield served
    served.close()


@pytest.fixture(scope="module")
def key_a() -> SigningKey:
    return SigningKey("key-a")


@pytest.fixture(scope="module")
def key_b() -> SigningKey:
    return SigningKey("key-b")


async def call(verifier: JwksVerifier, token: str, path: str = "/read") -> httpx.Response:
    app = app_with(Authenticator(verifier))
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as api:
        return await api.get(path)


async def test_a_token_signed_with_a_published_key_is_accepted(
    issuer: Issuer, key_a: SigningKey
) -> None:
    issuer.keys = [key_a]

    answer = await call(issuer.verifier(), key_a.sign())

    assert answer.status_code == 200
    assert answer.json() == {"user": "alice"}


async def test_a_publisher_token_from_the_issuer_is_a_publisher(
    issuer: Issuer, key_a: SigningKey
) -> None:
    issuer.keys = [key_a]
    token = key_a.sign(partnerId=None, roles=None, sub="contoso-app", publisherId="contoso")

    answer = await call(issuer.verifier(), token, "/publish")

    assert answer.json() == {"publisher": "contoso"}


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"iss": "https://evil.example/"}, "not from the expected issuer (iss)"),
        ({"iss": None}, "has no 'iss' claim"),
        ({"aud": "api://another-app"}, "not meant for this audience (aud)"),
        ({"aud": None}, "has no 'aud' claim"),
        ({"exp": None}, "has no 'exp' claim"),
        ({"iat": None}, "has no 'iat' claim"),
        ({"exp": timedelta(minutes=-5)}, "has expired (exp)"),
        ({"publisherId": "contoso"}, "both a partnerId and a publisherId"),
    ],
    ids=[
        "wrong-issuer",
        "no-issuer",
        "wrong-audience",
        "no-audience",
        "no-exp",
        "no-iat",
        "expired",
        "both-identities",
    ],
)
async def test_a_token_the_issuer_signed_for_something_else_is_a_401(
    issuer: Issuer, key_a: SigningKey, claims: dict[str, Any], why: str
) -> None:
    issuer.keys = [key_a]

    answer = await call(issuer.verifier(), key_a.sign(**claims))

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "Unauthorized"
    assert why in answer.json()["error"]["message"]


def test_the_key_set_is_fetched_once_for_tokens_with_a_known_kid(
    issuer: Issuer, key_a: SigningKey
) -> None:
    issuer.keys = [key_a]
    verifier = issuer.verifier()

    decode_principal(key_a.sign(sub="one"), verifier)
    decode_principal(key_a.sign(sub="two"), verifier)

    assert issuer.fetches == 1


def test_an_unknown_kid_refetches_the_key_set_so_a_rotated_key_is_accepted(
    issuer: Issuer, key_a: SigningKey, key_b: SigningKey
) -> None:
    issuer.keys = [key_a]
    verifier = issuer.verifier(refresh_cooldown=timedelta(0))
    assert decode_principal(key_a.sign(), verifier).user_id == "alice"  # type: ignore[union-attr]
    assert issuer.fetches == 1

    issuer.keys = [key_b]  # the issuer rotates its signing key
    principal = decode_principal(key_b.sign(sub="bob"), verifier)

    assert principal == PartnerUser("bob", "p1", frozenset({"GlobalAdmin"}))
    assert issuer.fetches == 2
    decode_principal(key_b.sign(sub="carol"), verifier)
    assert issuer.fetches == 2  # the refreshed set is cached in turn


def test_unknown_kids_cannot_make_the_verifier_hammer_the_issuer(
    issuer: Issuer, key_a: SigningKey
) -> None:
    """Within the refresh cooldown an unknown kid is refused without another fetch."""
    issuer.keys = [key_a]
    verifier = issuer.verifier()  # the default cooldown
    decode_principal(key_a.sign(), verifier)

    for n in range(5):
        stranger = SigningKey(f"made-up-{n}", key_a.private)
        with pytest.raises(Unauthorized, match="not among the issuer's keys"):
            decode_principal(stranger.sign(), verifier)

    assert issuer.fetches == 1


async def test_a_kid_still_unknown_after_the_refresh_is_a_401(
    issuer: Issuer, key_a: SigningKey, key_b: SigningKey
) -> None:
    issuer.keys = [key_a]

    answer = await call(issuer.verifier(refresh_cooldown=timedelta(0)), key_b.sign())

    assert answer.status_code == 401
    assert "'key-b' is not among the issuer's keys" in answer.json()["error"]["message"]


@pytest.mark.parametrize("kid", ["key-a", None], ids=["known-kid", "no-kid"])
async def test_an_hs256_token_is_refused_when_the_issuer_is_configured(
    issuer: Issuer, key_a: SigningKey, kid: str | None
) -> None:
    """Algorithm confusion: an HS256 token signed with the public key as its secret."""
    issuer.keys = [key_a]
    public_pem = key_a.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = datetime.now(UTC)
    claims = {
        **PARTNER,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    forged = hs256_signed(claims, public_pem, kid)  # PyJWT itself refuses a PEM here

    answer = await call(issuer.verifier(), forged)

    assert answer.status_code == 401
    assert "algorithm 'HS256' is not accepted" in answer.json()["error"]["message"]
    assert issuer.fetches == 0  # refused before any key was looked up


def hs256_signed(claims: dict[str, Any], key: bytes, kid: str | None) -> str:
    """An HS256 JWT made by hand, with any bytes as the HMAC key."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
    body = json.dumps(claims, default=lambda moment: int(moment.timestamp()))
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(body.encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_an_unreachable_key_set_is_a_503_naming_it_never_a_500(key_a: SigningKey) -> None:
    down = JwksVerifier(f"http://127.0.0.1:{free_port()}/jwks", issuer=ISSUER, audience=AUDIENCE)

    answer = await call(down, key_a.sign())

    assert answer.status_code == 503
    assert "cannot fetch the token issuer's keys" in answer.json()["error"]["message"]


@pytest.mark.parametrize("broken", ["500", "not-json"])
async def test_an_issuer_answering_no_key_set_is_a_503(
    issuer: Issuer, key_a: SigningKey, broken: str
) -> None:
    issuer.keys, issuer.broken = [key_a], broken

    answer = await call(issuer.verifier(), key_a.sign())

    assert answer.status_code == 503
    assert "cannot fetch the token issuer's keys" in answer.json()["error"]["message"]


async def test_a_key_set_without_signing_keys_is_a_503(issuer: Issuer, key_a: SigningKey) -> None:
    issuer.keys = [SigningKey("", key_a.private)]  # no kid: not a usable signing key

    answer = await call(issuer.verifier(), key_a.sign())

    assert answer.status_code == 503
    assert "key set is unusable" in answer.json()["error"]["message"]


def test_the_verifier_itself_raises_jwks_unavailable_when_the_issuer_is_down(
    key_a: SigningKey,
) -> None:
    down = JwksVerifier(f"http://127.0.0.1:{free_port()}/jwks", issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(JwksUnavailable):
        down.claims(key_a.sign())


def test_a_jwks_verifier_always_checks_issuer_and_audience() -> None:
    with pytest.raises(ValueError, match="issuer and the audience"):
        JwksVerifier("https://login.example/keys", issuer="", audience=AUDIENCE)


async def test_a_new_token_is_verified_in_the_threadpool_so_a_key_fetch_never_blocks_the_loop(
    issuer: Issuer, key_a: SigningKey
) -> None:
    """PyJWKClient is blocking: a token not seen before is verified off the event loop."""
    issuer.keys = [key_a]
    threads: list[threading.Thread] = []

    class Watched(JwksVerifier):
        def claims(self, token: str) -> dict[str, Any]:
            threads.append(threading.current_thread())
            return super().claims(token)

    watched = Watched(issuer.url, issuer=ISSUER, audience=AUDIENCE)
    response = await call(watched, key_a.sign())

    assert response.status_code == 200
    assert threads and threads[0] is not threading.main_thread()


async def test_a_verified_token_is_not_checked_again_until_the_cache_lets_it_go(
    issuer: Issuer, key_a: SigningKey
) -> None:
    issuer.keys = [key_a]
    checks = 0

    class Counted(JwksVerifier):
        def claims(self, token: str) -> dict[str, Any]:
            nonlocal checks
            checks += 1
            return super().claims(token)

    auth = Authenticator(Counted(issuer.url, issuer=ISSUER, audience=AUDIENCE))
    credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=key_a.sign())
    first = await auth.principal(credentials)
    assert await auth.principal(credentials) == first
    assert checks == 1
    other = HTTPAuthorizationCredentials(scheme="Bearer", credentials=key_a.sign(sub="bob"))
    assert await auth.principal(other) != first  # another token: checked on its own
    assert checks == 2


def test_verified_tokens_are_kept_until_their_exp_or_the_cache_time_whichever_is_first() -> None:
    tokens = VerifiedTokens(seconds=60, most=2)
    alice = PartnerUser("alice", "p1", frozenset({"GlobalAdmin"}))
    tokens.keep("t1", alice, expires=1_000.0, now=990.0)  # expires before the cache time
    tokens.keep("t2", alice, expires=5_000.0, now=990.0)
    assert tokens.get("t1", 999.0) == alice
    assert tokens.get("t1", 1_000.0) is None  # expired: verified again, and refused
    assert tokens.get("t2", 1_049.0) == alice
    assert tokens.get("t2", 1_050.0) is None  # the cache time is up
    for n in range(3):  # bounded
        tokens.keep(f"x{n}", alice, expires=5_000.0, now=990.0)
    assert len(tokens._entries) <= 2

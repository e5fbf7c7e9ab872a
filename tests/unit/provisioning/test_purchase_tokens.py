"""Purchase tokens: signed, audience-bound, expiring on the business clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from services.provisioning.adapters.purchase_tokens import (
    AUDIENCE,
    InvalidPurchaseToken,
    PurchaseTokens,
)
from shared.clock import FixedClock
from shared.errors import RuleBroken

SECRET = "unit-test-purchase-token-secret-of-40-bytes"
T0 = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)  # far from the wall clock on purpose


def tokens(clock: FixedClock) -> PurchaseTokens:
    return PurchaseTokens(SECRET, "P7D", clock)


def test_issued_token_carries_the_documented_claims() -> None:
    issued = tokens(FixedClock(T0)).issue("sub-1", "contoso")
    claims = jwt.decode(
        issued.token,
        SECRET,
        algorithms=["HS256"],
        audience=AUDIENCE,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims == {
        "sub": "sub-1",
        "publisherId": "contoso",
        "aud": "csp-marketplace-purchase",
        "iat": int(T0.timestamp()),
        "exp": int((T0 + timedelta(days=7)).timestamp()),
    }
    assert issued.expires_at == T0 + timedelta(days=7)


def test_token_verifies_until_it_expires_by_the_business_clock() -> None:
    clock = FixedClock(T0)
    signer = tokens(clock)
    token = signer.issue("sub-1", "contoso").token
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    claims = signer.verify(token)
    assert (claims.subscription_id, claims.publisher_id) == ("sub-1", "contoso")
    clock.advance(timedelta(seconds=1))
    with pytest.raises(InvalidPurchaseToken, match="expired"):
        signer.verify(token)


def test_ttl_comes_from_settings_as_an_iso_duration() -> None:
    issued = PurchaseTokens(SECRET, "PT1H", FixedClock(T0)).issue("s", "p")
    assert issued.expires_at == T0 + timedelta(hours=1)


def test_token_signed_with_another_secret_is_refused() -> None:
    clock = FixedClock(T0)
    other = PurchaseTokens("another-purchase-token-secret-of-40-bytes", "P7D", clock)
    forged = other.issue("sub-1", "contoso").token
    with pytest.raises(InvalidPurchaseToken):
        tokens(clock).verify(forged)


def test_token_for_another_audience_is_refused() -> None:
    now = int(T0.timestamp())
    claims = {"sub": "s", "publisherId": "p", "aud": "someone-else", "iat": now, "exp": now + 60}
    with pytest.raises(InvalidPurchaseToken):
        tokens(FixedClock(T0)).verify(jwt.encode(claims, SECRET, algorithm="HS256"))


def test_token_missing_the_publisher_claim_is_refused() -> None:
    now = int(T0.timestamp())
    claims = {"sub": "s", "aud": AUDIENCE, "iat": now, "exp": now + 60}
    with pytest.raises(InvalidPurchaseToken, match="publisherId"):
        tokens(FixedClock(T0)).verify(jwt.encode(claims, SECRET, algorithm="HS256"))


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c"])
def test_malformed_token_is_refused(garbage: str) -> None:
    with pytest.raises(InvalidPurchaseToken):
        tokens(FixedClock(T0)).verify(garbage)


def test_an_invalid_token_is_a_broken_rule_naming_its_header() -> None:
    with pytest.raises(RuleBroken) as refused:
        tokens(FixedClock(T0)).verify("garbage")
    assert isinstance(refused.value, InvalidPurchaseToken)
    assert refused.value.target == "x-ms-marketplace-token"

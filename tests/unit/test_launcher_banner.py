"""What `make run` prints: URLs, the dev secret and tokens that really work."""

from __future__ import annotations

import re

from services.launcher import banner
from shared.http.auth import PartnerUser, PublisherClient, decode_principal
from shared.settings import DEV_JWT_SECRET, Settings


def test_the_banner_gives_urls_the_dev_secret_and_working_tokens() -> None:
    text = banner(Settings(), "127.0.0.1:9092", embedded=True)

    for url in (
        "http://127.0.0.1:8001/v1",
        "http://127.0.0.1:8002/api",
        "http://127.0.0.1:8003/v1",
    ):
        assert url in text
    assert DEV_JWT_SECRET in text
    tokens = dict(re.findall(r"export (\w+)=(\S+)", text))
    partner = decode_principal(tokens.pop("PARTNER_TOKEN"), DEV_JWT_SECRET)
    assert isinstance(partner, PartnerUser) and partner.can_write
    publishers = {decode_principal(t, DEV_JWT_SECRET) for t in tokens.values()}
    assert {p.publisher_id for p in publishers if isinstance(p, PublisherClient)} == {
        "contoso",
        "fabrikam",
    }


def test_a_custom_secret_is_never_printed() -> None:
    secret = "a-custom-secret-that-is-long-enough-for-hs256"
    text = banner(Settings(csp_jwt_secret=secret), "kafka:9092", embedded=False)
    assert secret not in text
    assert "embedded" not in text

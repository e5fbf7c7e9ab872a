"""A short schemathesis run in the default suite: each service's own OpenAPI, and the
publisher API through Microsoft's document of it (../shared/specs/saasapi.v2.json,
skipped where absent), a few generated requests per operation against the apps in
process (memory store, no broker). No request may get a 5xx, and every 4xx must say
what was wrong. Deterministic (derandomized); `make fuzz` is the long run against the
whole system."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402 - after the skip

from services.billing.bootstrap import build_app as billing_app  # noqa: E402
from services.billing.settings import BillingSettings  # noqa: E402
from services.ordering.bootstrap import build_app as ordering_app  # noqa: E402
from services.ordering.settings import OrderingSettings  # noqa: E402
from services.provisioning.bootstrap import build_app as provisioning_app  # noqa: E402
from services.provisioning.settings import ProvisioningSettings  # noqa: E402
from shared.http.auth import mint_token  # noqa: E402
from shared.store.memory import MemoryStore  # noqa: E402
from tools.fuzz_apis import says_what_was_wrong  # noqa: E402

SPEC = Path(__file__).resolve().parents[3] / "shared" / "specs" / "saasapi.v2.json"
SECRET = "short-fuzz-secret-of-at-least-thirty-two-bytes"
PARTNER = {"sub": "fuzz-user", "partnerId": "fuzz-partner", "roles": ["GlobalAdmin"]}
PUBLISHER = {"sub": "contoso-app", "publisherId": "contoso"}
EXAMPLES = 5  # per operation and phase

SEEN: Counter[str] = Counter()  # requests sent, per API
STATUSES: Counter[tuple[str, int]] = Counter()


def without_lifespan(app: Any) -> Callable[..., Any]:
    """The app minus its lifespan (which would start the broker runtime)."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await app(scope, receive, send)

    return asgi


def headers(claims: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(SECRET, claims)}"}


def checked(api: str, response: Any) -> None:
    SEEN[api] += 1
    STATUSES[api, response.status_code] += 1
    assert response.status_code < 500, f"{api}: {response.status_code} {response.text[:500]}"
    if 400 <= response.status_code < 500:
        assert says_what_was_wrong(json.loads(response.content or b"null")), (
            f"{api}: a {response.status_code} that does not say what was wrong: "
            f"{response.text[:500]}"
        )


FAST = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

ORDERING = without_lifespan(
    ordering_app(OrderingSettings(csp_jwt_secret=SECRET, csp_test_clock=True), store=MemoryStore())
)
PROVISIONING = without_lifespan(
    provisioning_app(ProvisioningSettings(csp_jwt_secret=SECRET), store=MemoryStore())
)
BILLING = without_lifespan(billing_app(BillingSettings(csp_jwt_secret=SECRET), store=MemoryStore()))

ordering = schemathesis.openapi.from_asgi("/openapi.json", ORDERING)
provisioning = schemathesis.openapi.from_asgi("/openapi.json", PROVISIONING)
billing = schemathesis.openapi.from_asgi("/openapi.json", BILLING)


@ordering.parametrize()
@FAST
def test_ordering_api(case: Any) -> None:
    checked("ordering", case.call(headers=headers(PARTNER)))


@provisioning.parametrize()
@FAST
def test_provisioning_api(case: Any) -> None:
    checked("provisioning", case.call(headers=headers(PUBLISHER)))


@billing.parametrize()
@FAST
def test_billing_api(case: Any) -> None:
    checked("billing", case.call(headers=headers(PARTNER)))


def spec_schema() -> Any:
    if not SPEC.is_file():
        return None
    schema = schemathesis.openapi.from_path(str(SPEC))
    schema.app = PROVISIONING
    return schema


publisher_spec = spec_schema()

if publisher_spec is not None:

    @publisher_spec.parametrize()
    @FAST
    def test_publisher_api_against_microsofts_spec(case: Any) -> None:
        checked(
            "publisher spec",
            case.call(base_url="http://testserver/api", headers=headers(PUBLISHER)),
        )

else:

    def test_publisher_api_against_microsofts_spec() -> None:
        pytest.skip(f"SaaS Fulfillment API spec not found at {SPEC}")


@pytest.fixture(scope="module", autouse=True)
def requests_sent() -> Iterator[None]:
    yield
    print(f"\nshort fuzz, requests per API: {dict(SEEN)}; statuses {sorted(STATUSES.items())}")


def test_zz_every_api_was_reached() -> None:
    """Runs last in this module: the runs above sent requests (none was skipped)."""
    assert {"ordering", "provisioning", "billing"} <= set(SEEN), SEEN

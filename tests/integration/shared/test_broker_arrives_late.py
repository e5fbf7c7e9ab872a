"""A service whose broker is not there yet serves HTTP at once: live, not ready, and a
checkout (store + outbox only) is accepted. When the broker appears it becomes ready and
the outbox is published (the real app and lifespan, then a real broker process)."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from services.ordering.bootstrap import build_app
from services.ordering.settings import OrderingSettings
from shared.events.ordering import SubscriptionPurchased
from shared.events.topics import ORDERING_SUBSCRIPTIONS
from shared.messaging.embedded_broker import free_port
from tests.support.broker import broker_on
from tests.support.polling import eventually
from tests.support.topics import read_records
from tests.unit.ordering.helpers import SETTINGS, auth, line

pytestmark = [
    pytest.mark.broker,
    # It starts the broker process itself, late, on a port the running service already
    # dials: a fresh Tansu process starts in well under a second on a chosen port, an
    # Apache Kafka container neither (tests/integration/conftest.py runs the others twice).
    pytest.mark.embedded_only(reason="starts its own broker late, on a port chosen first"),
]


async def test_unreachable_broker_live_not_ready_checkout_accepted_then_published(
    tmp_path: Path,
) -> None:
    port = free_port()  # nothing listens here yet
    settings = OrderingSettings(
        kafka_bootstrap_servers=f"127.0.0.1:{port}",
        csp_data_dir=tmp_path,
        csp_jwt_secret=SETTINGS.csp_jwt_secret,
    )
    app = build_app(settings)
    runtime = app.state.runtime
    with ExitStack() as later:  # the broker, started late, stops after the service
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://o") as http:
                live, ready = await http.get("/healthz"), await http.get("/readyz")
                assert (live.status_code, live.json()) == (200, {"status": "ok"})
                assert ready.status_code == 503
                assert ready.json()["status"] == "starting"
                assert ready.json()["brokerConnected"] is False

                sid = await checkout(http)
                # The purchase event and the subscription's state (subscriptions.state).
                assert await runtime.store.pending_outbox() == 2
                assert (await http.get("/readyz")).status_code == 503  # still no broker

                bootstrap = later.enter_context(broker_on(port))
                await eventually(
                    lambda: http.get("/readyz"),
                    lambda response: response.status_code == 200,
                    timeout=60,
                    interval=0.2,
                    what="ready once the broker is there",
                )
                assert (await http.get("/readyz")).json()["status"] == "ready"
                records = await read_records(
                    bootstrap,
                    ORDERING_SUBSCRIPTIONS,
                    at_least=1,
                    where=lambda record: record.key == sid.encode(),
                )
                [event] = [SubscriptionPurchased.model_validate_json(r.value) for r in records]
                assert event.subject == sid
                await eventually(runtime.store.pending_outbox, lambda n: n == 0, what="drained")


async def checkout(http: httpx.AsyncClient) -> str:
    """A customer, a cart of one line, its checkout: store and outbox only. The line's
    subscription id."""
    customer = await http.post("/v1/customers", json={"companyName": "Late"}, headers=auth())
    assert customer.status_code == 201, customer.text
    cid = customer.json()["id"]
    cart = await http.post(
        f"/v1/customers/{cid}/carts", json={"lineItems": [line()]}, headers=auth()
    )
    assert cart.status_code == 201, cart.text
    placed = await http.post(
        f"/v1/customers/{cid}/carts/{cart.json()['id']}/checkout", headers=auth()
    )
    assert placed.status_code == 201, placed.text
    return str(placed.json()["orders"][0]["lineItems"][0]["subscriptionId"])

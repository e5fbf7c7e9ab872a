"""Every log line of a request or an event carries its correlation id (and the causation
id where there is one), across the three services: read from their real JSON logs."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.e2e.actors import Partner, Publisher
from tests.e2e.conftest import System
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

LINE = {
    "offerId": "contoso-crm",
    "planId": "standard",
    "quantity": 1,
    "termDuration": "P1M",
    "billingCycle": "monthly",
}


def log_lines(system: System) -> list[dict[str, Any]]:
    """The services' JSON lines from the launcher's log (honcho: `time name.1 | line`)."""
    lines = []
    for raw in system.log.read_text(errors="replace").splitlines():
        _, bar, rest = raw.partition("| ")
        if bar and rest.startswith("{"):
            try:
                lines.append(json.loads(rest))
            except json.JSONDecodeError:
                continue  # a line cut by the reader racing the writer
    return lines


async def test_a_subscriptions_log_lines_share_its_correlation_id_across_services(
    system: System, partner: Partner, contoso: Publisher
) -> None:
    cid, order = await partner.buy(LINE)
    sid = order["lineItems"][0]["subscriptionId"]
    sub = await partner.wait_for_subscription(
        cid, sid, lambda s: s["activationLink"] is not None, "activation link"
    )
    await contoso.resolve(sub["activationLink"])
    assert (await contoso.assign_licenses(sid, "ann")).status_code == 200
    assert (await contoso.activate(sid, "standard", 1)).status_code == 200
    await partner.wait_for_ledger(cid, sid, lambda c: c["totalCount"] >= 1, "first charge")

    def handled(lines: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        return {
            (line["service"], line["event_type"]): line
            for line in lines
            if line.get("event") == "event_handled" and line.get("subscription_id") == sid
        }

    wanted = {
        ("provisioning", "SubscriptionPurchased"),
        ("ordering", "ActivationLinkIssued"),
        ("ordering", "ActivationCompleted"),
        ("billing", "ActivationCompleted"),
    }

    async def read() -> list[dict[str, Any]]:
        return log_lines(system)

    lines = await eventually(read, lambda ls: wanted <= set(handled(ls)), what="events handled")
    about = [line for line in lines if line.get("subscription_id") == sid]
    assert {line["service"] for line in about} == {"ordering", "provisioning", "billing"}
    assert len({line.get("correlation_id") for line in about}) == 1, about
    [correlation] = {line["correlation_id"] for line in about}
    assert correlation

    seen = handled(lines)
    purchase = seen[("provisioning", "SubscriptionPurchased")]
    assert "causation_id" not in purchase  # a partner's request caused it, not an event
    # the link was issued because of the purchase: that event is its cause, in ordering's log
    assert seen[("ordering", "ActivationLinkIssued")]["causation_id"] == purchase["event_id"]


async def test_every_request_is_logged_with_its_correlation_id_the_callers_when_valid(
    system: System, partner: Partner
) -> None:
    mine = f"e2e-{uuid.uuid4()}"
    answer = await partner.ordering.get("/v1/offers", headers={"X-Correlation-Id": mine})
    assert answer.headers["x-correlation-id"] == mine

    async def requests() -> list[dict[str, Any]]:
        return [line for line in log_lines(system) if line.get("event") == "http_request"]

    lines = await eventually(
        requests, lambda ls: any(line.get("correlation_id") == mine for line in ls), what="logged"
    )
    [line] = [line for line in lines if line.get("correlation_id") == mine]
    assert (line["service"], line["path"], line["status"]) == ("ordering", "/v1/offers", 200)
    assert all(line.get("correlation_id") and line.get("request_id") for line in lines)

"""Every log line of a request or an event carries its correlation id (and the causation
id where there is one), across the three services: read from their real JSON logs. The
lines of due work on a subscription too (a seat change's webhook, posted by provisioning's
due work): no request or event is behind them, so they carry the subscription's own, its
purchase's, as billing's due charges do."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.e2e.actors import Partner, Publisher, bought_and_charged
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
    cid, sid = await bought_and_charged(partner, contoso, LINE)
    # A seat change, a request of its own: its webhook is posted by due work, not a handler.
    change = f"e2e-change-{uuid.uuid4()}"
    changed = await partner.ordering.patch(
        f"/v1/customers/{cid}/subscriptions/{sid}",
        json={"quantity": 2},
        headers={"X-Correlation-Id": change},
    )
    assert changed.status_code == 200, changed.text

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

    def webhook_posted(lines: list[dict[str, Any]]) -> bool:
        return any(
            line.get("event") == "webhook_attempted" and line.get("subscription_id") == sid
            for line in lines
        )

    async def read() -> list[dict[str, Any]]:
        return log_lines(system)

    lines = await eventually(
        read,
        lambda ls: wanted <= set(handled(ls)) and webhook_posted(ls),
        what="events handled and the seat change's webhook posted",
    )
    about = [line for line in lines if line.get("subscription_id") == sid]
    assert {line["service"] for line in about} == {"ordering", "provisioning", "billing"}
    of_the_change = [line for line in about if line.get("correlation_id") == change]
    # The request's own lines; the events it caused carry the subscription's correlation.
    assert {line["service"] for line in of_the_change} == {"ordering"}
    the_rest = [line for line in about if line.get("correlation_id") != change]
    assert len({line.get("correlation_id") for line in the_rest}) == 1, the_rest
    [correlation] = {line["correlation_id"] for line in the_rest}
    assert correlation
    webhooks = [line for line in about if line["event"] == "webhook_attempted"]
    assert webhooks and all(line["correlation_id"] == correlation for line in webhooks)

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

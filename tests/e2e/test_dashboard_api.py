"""The dashboard's JSON views on the running system, off the real broker: after a
purchase is charged, consumer lag per group is a high watermark minus a committed offset
the broker really holds, and drains to zero; the dashboard's own `/metrics` counts the
requests it served."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.dashboard.groups import service_groups
from tests.e2e.actors import Partner, Publisher, bought_and_charged
from tests.e2e.conftest import System
from tests.e2e.test_metrics import LINE, scrape, total
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


async def get_json(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(url)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_lag_per_group_is_read_off_the_broker_and_drains_once_all_is_handled(
    system: System, partner: Partner, contoso: Publisher
) -> None:
    cid, sid = await bought_and_charged(partner, contoso, LINE)

    def drained(answer: dict[str, Any]) -> bool:
        groups = {g["group"]: g for g in answer["groups"]}
        return set(groups) == set(service_groups()) and all(
            g["known"] and g["partitions"] and g["lag"] == 0 for g in groups.values()
        )

    lag = await eventually(
        lambda: get_json(f"{system.dashboard}/api/lag"),
        drained,
        what="every group's committed offsets read and its lag zero",
    )
    for group in lag["groups"]:
        assert group["topic"] == service_groups()[group["group"]]
        high = sum(p["highWatermark"] for p in group["partitions"])
        committed = sum(p["committed"] or 0 for p in group["partitions"])
        assert high >= 1 and committed == high, group  # what was written, all handled

    samples = await scrape(system.dashboard)
    route = {"service": "dashboard", "method": "GET", "route": "/api/lag", "status": "200"}
    assert total(samples, "csp_http_request_seconds_count", route) >= 1

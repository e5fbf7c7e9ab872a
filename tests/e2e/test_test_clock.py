"""The test clock moves every service, each process applying it from the broker."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from tests.e2e.conftest import System
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


async def test_advancing_ordering_moves_provisioning_and_billing_too(system: System) -> None:
    headers = {"Authorization": f"Bearer {system.partner_token(role='HelpdeskAgent')}"}
    async with httpx.AsyncClient(headers=headers, timeout=10) as http:

        async def now_at(base: str) -> datetime:
            answer = await http.get(f"{base}/admin/test-clock")
            assert answer.status_code == 200, answer.text
            return datetime.fromisoformat(answer.json()["now"])

        before = await now_at(system.billing)
        moved = await http.post(f"{system.ordering}/admin/test-clock", json={"advanceBy": "PT25H"})
        assert moved.status_code == 200, moved.text
        target = datetime.fromisoformat(moved.json()["now"])
        assert target - before >= timedelta(hours=25)

        for base in (system.provisioning, system.billing, system.ordering):
            await eventually(
                lambda b=base: now_at(b),
                lambda now: now >= target,
                what=f"{base} at the advanced time",
            )

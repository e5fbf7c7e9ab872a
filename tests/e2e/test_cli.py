"""The `csp` executable end to end against the running system (`make run`'s launcher,
with the dashboard): a partner's whole day through the CLI (offers, customers, buy,
subscriptions, set seats, show with the dashboard's timeline, invoices, cancel), the
publisher acting through its API meanwhile, and an operator's dead letters listed and
replayed through the dashboard's API."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from shared.events.topics import ORDERING_SUBSCRIPTIONS
from tests.e2e.actors import Publisher
from tests.e2e.conftest import System
from tests.support.polling import eventually
from tests.support.topics import publish_raw

pytestmark = pytest.mark.e2e

CSP = Path(sys.executable).parent / "csp"  # the console script of the package
RUN_TIMEOUT_S = 120
WAIT_S = 60.0
POLL_S = 0.5  # each probe starts a `csp` process: no need to start ten a second


class Cli:
    """Runs the installed `csp` as a partner would, with the token and URLs in the
    environment (nothing of the caller's own CSP_* settings)."""

    def __init__(self, system: System, token: str) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("CSP_") and k not in {"PARTNER_TOKEN", "COLUMNS"}
        }
        env.update(
            CSP_TOKEN=token,
            CSP_ORDERING_URL=system.ordering,
            CSP_BILLING_URL=system.billing,
            CSP_DASHBOARD_URL=system.dashboard,
        )
        self.env = env

    async def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(
            subprocess.run,
            [str(CSP), *args],
            env=self.env,
            stdin=subprocess.DEVNULL,  # as in CI: nobody to answer a prompt
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )

    async def ok(self, *args: str) -> str:
        done = await self.run(*args)
        assert done.returncode == 0, f"csp {' '.join(args)}: {done.returncode}\n{done.stderr}"
        assert "Traceback" not in done.stderr
        return done.stdout

    async def json(self, *args: str) -> Any:
        return json.loads(await self.ok(*args, "--json"))


@pytest.fixture
def cli(system: System) -> Cli:
    assert CSP.exists(), f"{CSP} is missing: `pip install -e .` installs the console script"
    # A partner of its own: the lists hold only what this test made.
    return Cli(system, system.partner_token(partner_id="cli-partner"))


def in_order(types: list[str], *wanted: str) -> bool:
    """Every `wanted` type is there, their first occurrences in this order."""
    if not all(t in types for t in wanted):
        return False
    firsts = [types.index(t) for t in wanted]
    return firsts == sorted(firsts)


async def test_a_partner_buys_changes_reads_and_cancels_through_the_cli(
    cli: Cli, contoso: Publisher
) -> None:
    offers = await cli.ok("offers")
    assert "contoso-crm" in offers
    assert "P1M monthly: 10.00 USD" in offers

    customer = await cli.json("customers", "add", "Adatum CLI", "--domain", "adatum.example")
    cid = customer["id"]
    listed = await cli.ok("customers", "list")
    assert cid in listed
    assert "Adatum CLI" in listed

    bought = await cli.run(
        "buy", cid, "contoso-crm", "--plan", "standard", "--seats", "2", "--json"
    )
    assert bought.returncode == 0, bought.stderr
    assert "3/3" in bought.stderr  # the progress display's last state: cart, checkout, link
    purchase = json.loads(bought.stdout)
    sid = purchase["order"]["lineItems"][0]["subscriptionId"]
    link = purchase["subscription"]["activationLink"]
    assert link and purchase["subscription"]["status"] == "pending"

    # The publisher, through its own API: resolve the link, license, activate.
    assert (await contoso.resolve(link))["id"] == sid
    assert (await contoso.assign_licenses(sid, "ann")).status_code == 200
    assert (await contoso.activate(sid, "standard", 2)).status_code == 200

    async def active_ids() -> list[str]:
        found = await cli.json("subscriptions", cid, "--status", "active")
        return [s["id"] for s in found]

    await eventually(
        active_ids, lambda ids: ids == [sid], timeout=WAIT_S, interval=POLL_S, what="active"
    )
    row = next(line for line in (await cli.ok("subscriptions", cid)).splitlines() if sid in line)
    assert "active" in row
    assert "contoso-crm / standard" in row

    # Three seats: the CLI waits for the publisher's answer, which comes meanwhile.
    seats = asyncio.create_task(cli.run("set", "seats", cid, sid, "3", "--wait"))

    async def change_in_progress() -> list[dict[str, Any]]:
        return [
            op
            for op in await contoso.operations(sid)
            if op["action"] == "ChangeQuantity" and op["status"] == "InProgress"
        ]

    [operation] = await eventually(
        change_in_progress, bool, timeout=WAIT_S, interval=POLL_S, what="seat change"
    )
    assert (await contoso.answer(sid, operation["id"], "Success")).status_code == 200
    changed = await seats
    assert changed.returncode == 0, changed.stderr
    assert "accepted: 3 seats now" in changed.stdout
    assert "waiting for the publisher's answer" in changed.stderr

    # show: the subscription, and its timeline from the dashboard.
    async def shown() -> dict[str, Any]:
        return await cli.json("show", cid, sid)

    both = await eventually(
        shown,
        lambda b: in_order(
            [e["type"] for e in b["timeline"] or []],
            "SubscriptionPurchased",
            "ActivationCompleted",
            "ChargePosted",
        ),
        timeout=WAIT_S,
        interval=POLL_S,
        what="the timeline on the dashboard",
    )
    assert both["subscription"]["quantity"] == 3
    assert both["timelineUnavailable"] is None
    assert all(e["eventId"] and e["topic"] for e in both["timeline"])
    shown_table = await cli.ok("show", cid, sid)
    assert "Timeline (" in shown_table
    purchased = next(line for line in shown_table.splitlines() if "SubscriptionPurchased" in line)
    assert "ordering.subscriptions" in purchased

    async def documents() -> list[dict[str, Any]]:
        return await cli.json("invoices", "--customer", cid)

    # The first month's charge, and the third seat's proration on an invoice of its own.
    issued = await eventually(
        documents, lambda d: len(d) == 2, timeout=WAIT_S, interval=POLL_S, what="two invoices"
    )
    assert {d["kind"] for d in issued} == {"invoice"}
    table = await cli.ok("invoices", "--customer", cid)
    assert all(d["number"] in table for d in issued)
    first = issued[-1]  # newest first: the oldest is the first month's
    lines = await cli.ok("invoice", first["id"])
    assert f"Invoice {first['number']}" in lines
    assert sid in lines

    # Cancelled within the day of the monthly window: at once, refunded by credit note.
    cancelled = await cli.ok("cancel", cid, sid, "--yes")
    assert "cancelled now: its charges are reversed by a credit note" in cancelled
    refunded = await eventually(
        documents,
        lambda d: any(x["kind"] == "creditNote" for x in d),
        timeout=WAIT_S,
        interval=POLL_S,
        what="the credit note",
    )
    note = next(d for d in refunded if d["kind"] == "creditNote")
    assert note["number"].startswith("CN-")
    assert note["total"].startswith("-")
    assert (await cli.json("show", cid, sid))["subscription"]["status"] == "deleted"


async def test_an_operator_lists_and_replays_dead_letters_through_the_cli(
    cli: Cli, system: System
) -> None:
    # A record nobody can read on ordering's topic: provisioning dead-letters it.
    subject = f"cli-unreadable-{uuid.uuid4()}"
    await publish_raw(system.bootstrap, ORDERING_SUBSCRIPTIONS, subject, b"{not json")

    async def listed() -> list[dict[str, Any]]:
        return [d for d in await cli.json("dead-letters", "list") if d["subject"] == subject]

    [letter] = await eventually(listed, bool, what="the dead letter listed", timeout=WAIT_S)
    assert letter["topic"] == f"{ORDERING_SUBSCRIPTIONS}.dlq"
    assert letter["id"] == f"{letter['topic']}:{letter['partition']}:{letter['offset']}"
    assert letter["consumer"] == "provisioning.purchases"
    assert letter["error"].startswith("JSONDecodeError")
    assert letter["payload"] == "{not json"
    table = await cli.ok("dead-letters", "list", "--service", "provisioning")
    assert "Dead letters" in table
    assert "provisioning.purchases" in table
    assert letter["id"] in table

    # Replayed through the dashboard: back on ordering's topic with its key, where
    # provisioning still cannot read it and dead-letters it a second time.
    replayed = await cli.run("dead-letters", "replay", letter["id"], "--yes")
    assert replayed.returncode == 0, replayed.stderr
    assert "1/1" in replayed.stderr  # the progress display's last state
    [line] = [x for x in replayed.stdout.splitlines() if x.startswith("replayed ")]
    assert line.startswith(f"replayed {letter['id']} -> {ORDERING_SUBSCRIPTIONS} ")
    assert f"key={subject}" in line
    landed = line.split()[4]  # PARTITION:OFFSET on the original topic

    both = await eventually(
        listed,
        lambda d: len(d) == 2,
        what="the replayed record dead-lettered again",
        timeout=WAIT_S,
    )
    again = next(d for d in both if d["id"] != letter["id"])
    assert f"{again['originalPartition']}:{again['originalOffset']}" == landed
    assert again["originalTopic"] == ORDERING_SUBSCRIPTIONS
    assert again["payload"] == "{not json"

    unknown = await cli.run("dead-letters", "replay", f"{letter['topic']}:0:999999", "--yes")
    assert unknown.returncode == 2
    assert "nothing replayed: no dead letter" in unknown.stderr


async def test_a_refused_token_is_one_line_and_no_traceback(cli: Cli) -> None:
    refused = await cli.run("--token", "not-a-token", "offers")

    assert refused.returncode == 1
    assert refused.stdout == ""
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith("error: ordering answered 401 Unauthorized: ")
    assert line.endswith("(check --token / CSP_TOKEN)")

"""`make chaos`: the delivery guarantee on the real system, with services SIGKILLed mid-flow.

    python -m tools.chaos [--subscriptions N] [--concurrency C] [--seed S] [--keep]

Starts the embedded broker and each service as its own process, drives the purchase
flow (tools.chaos_flow) while killing provisioning and billing twice each and ordering
once at seeded random moments (tools.chaos_monkey), waits until the system converged
and checks that every purchase ended with exactly one charge and one invoice
(tools.chaos_checks).

Exit 0: every check holds. 1: a check failed (ERROR lines say which). 2: the system could
not be started, a process died unasked, or the 15-minute bound was hit. Every child
process is killed on the way out, whatever happened.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from shared.http.auth import mint_token
from shared.settings import DEV_JWT_SECRET
from tests.e2e.actors import Partner, Publisher
from tools.chaos_checks import Check, converge, judge, settle, snapshot
from tools.chaos_flow import Flow, FlowDriver
from tools.chaos_http import Retrying
from tools.chaos_monkey import Monkey
from tools.chaos_system import SERVICES, System, SystemFailure

LIMIT_S = 15 * 60.0
PARTNER = {"sub": "chaos-admin", "partnerId": "chaos-partner", "roles": ["GlobalAdmin"]}
PUBLISHER = {"sub": "contoso-app", "publisherId": "contoso"}  # contoso-crm's publisher
# Log events that show the kills forced redelivery and the product absorbed it.
ABSORBED = ("event_duplicate_skipped", "purchase_already_provisioned", "activation_already_billed")


@dataclass(frozen=True)
class Outcome:
    checks: list[Check]
    monkey: Monkey
    retrying: Retrying
    converged_after_last_kill_s: float | None


async def run(system: System, n: int, c: int, seed: int) -> Outcome:
    print("starting broker, ordering, provisioning, billing ...", flush=True)
    await system.start_all()
    retrying = Retrying(after_failure=system.check_alive)
    buyer, watcher = (
        Partner(
            system.url("ordering"), system.url("billing"), mint_token(system.jwt_secret, PARTNER)
        )
        for _ in range(2)
    )
    publisher = Publisher(system.url("provisioning"), mint_token(system.jwt_secret, PUBLISHER))
    try:
        return await _chaos_flow(system, retrying, buyer, watcher, publisher, n, c, seed)
    finally:
        for client in (buyer, watcher, publisher):
            await client.close()


async def _chaos_flow(
    system: System,
    retrying: Retrying,
    buyer: Partner,
    watcher: Partner,
    publisher: Publisher,
    n: int,
    c: int,
    seed: int,
) -> Outcome:
    started = time.monotonic()
    flow = Flow()
    monkey = Monkey(system, random.Random(seed), started, flow.progress)
    kills = len(monkey.plan)
    driver = FlowDriver(
        buyer, watcher, publisher, retrying, monkey.wait_for_kills, kills, n, c, flow=flow
    )
    print(
        f"flow: {n} subscriptions, {c} publisher workers; kills in order {monkey.plan}", flush=True
    )
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(monkey.run())
            group.create_task(driver.run())
    except* SystemFailure as failures:
        raise failures.exceptions[0] from None
    print(
        f"  t={time.monotonic() - started:6.1f}s  last activation; waiting for convergence",
        flush=True,
    )
    converged = await converge(watcher, retrying, flow)
    after_kill: float | None = None
    if converged is not None:
        after_kill = converged - monkey.last_kill_at if monkey.last_kill_at else None
        await settle(converged, monkey.last_kill_at)
    system.check_alive()
    checks = judge(flow, await snapshot(watcher, retrying, flow), n)
    return Outcome(checks, monkey, retrying, after_kill)


def report(outcome: Outcome, system: System, seed: int) -> list[str]:
    kills = Counter(k.service for k in outcome.monkey.kills)
    restarts = {name: system.services[name].starts - 1 for name in SERVICES}
    converged = outcome.converged_after_last_kill_s
    absorbed = {
        name: {event: system.count_in_logs(name, event) for event in ABSORBED} for name in SERVICES
    }
    failures = outcome.retrying.failures
    lines = [
        "",
        f"seed          {seed}",
        "kills         " + ", ".join(f"{name} {kills[name]}" for name in SERVICES),
        "restarts      " + ", ".join(f"{name} {restarts[name]}" for name in SERVICES),
        "converged     "
        + (
            f"{converged:.1f} s after the last kill"
            if converged is not None
            else "NOT within the bound"
        ),
        "client        "
        + (", ".join(f"{k} x{v}" for k, v in failures.most_common()) or "no failed call")
        + " (retried until answered)",
        "redelivered   "
        + "; ".join(
            f"{name}: " + ", ".join(f"{e} {count}" for e, count in events.items() if count)
            for name, events in absorbed.items()
            if any(events.values())
        ),
    ]
    lines += [f"WARN  5xx answer (retried): {e}" for e in outcome.retrying.server_errors[:10]]
    lines.append("checks")
    for check in outcome.checks:
        lines.append(f"  {'ok ' if not check.errors else 'FAIL'} {check.name}")
        lines += [f"ERROR {e}" for e in check.errors[:20]]
        if len(check.errors) > 20:
            lines.append(f"ERROR ... and {len(check.errors) - 20} more")
    return lines


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.chaos", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--subscriptions", type=int, default=60, metavar="N")
    parser.add_argument("--concurrency", type=int, default=4, metavar="C")
    parser.add_argument("--seed", type=int, default=None, help="default: a random one (printed)")
    parser.add_argument(
        "--keep", action="store_true", help="keep logs and data even when all holds"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.subscriptions <= 5000 or not 1 <= args.concurrency <= 64:
        parser.error("need 1 <= N <= 5000 and 1 <= C <= 64")
    return args


def _terminate_as_interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM's default kills Python without running `finally`: children would outlive us.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    workdir = Path(tempfile.mkdtemp(prefix="csp-chaos-"))
    system = System(workdir, os.environ.get("CSP_JWT_SECRET", DEV_JWT_SECRET))
    print(f"chaos seed {seed}; data and logs in {workdir}", flush=True)
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    code = 2
    try:
        outcome = asyncio.run(
            asyncio.wait_for(run(system, args.subscriptions, args.concurrency, seed), LIMIT_S)
        )
        lines = report(outcome, system, seed)
        code = 1 if any(check.errors for check in outcome.checks) else 0
        print("\n".join(lines + ["result   " + ("OK" if code == 0 else "FAILED")]), flush=True)
    except SystemFailure as failure:
        print(f"ERROR the system failed under the run (not a check): {failure}", file=sys.stderr)
    except TimeoutError:
        print(f"ERROR aborted: the run hit its {LIMIT_S / 60:.0f}-minute bound", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    finally:
        system.stop_all()
    if code == 0 and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"logs and data kept in {workdir}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())

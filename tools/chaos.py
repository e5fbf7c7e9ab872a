"""`make chaos`: the delivery guarantee on the real system, with services SIGKILLed mid-flow.

    python -m tools.chaos [--subscriptions N] [--concurrency C] [--seed S] [--keep]

Starts the embedded broker and each service as its own process, drives the flow
(tools.chaos_flow: purchases, activations, then added seats and cancellations) while
killing provisioning and billing twice each and ordering once at seeded random moments
(tools.chaos_monkey), waits until the system converged and checks that every purchase
ended with exactly the charges, invoices and credit notes its changes call for
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
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType

from shared.http.auth import mint_token
from shared.settings import DEV_JWT_SECRET
from tests.e2e.actors import Partner, Publisher
from tools.chaos_checks import answered_as_expected, converge, judge, settle, snapshot
from tools.chaos_flow import Flow, FlowDriver, FlowError, cart_sizes
from tools.chaos_http import Retrying
from tools.chaos_monkey import KILLS, Monkey
from tools.chaos_pace import Pace
from tools.chaos_report import Outcome, report
from tools.chaos_system import System, SystemFailure

LIMIT_S = 15 * 60.0
PARTNER = {"sub": "chaos-admin", "partnerId": "chaos-partner", "roles": ["GlobalAdmin"]}
PUBLISHER = {"sub": "contoso-app", "publisherId": "contoso"}  # contoso-crm's publisher


@dataclass(frozen=True)
class Actors:
    buyer: Partner
    watcher: Partner  # its own connection pool: polling does not queue behind the buyer
    publisher: Publisher

    @classmethod
    def of(cls, system: System) -> Actors:
        partner_token = mint_token(system.jwt_secret, PARTNER)
        ordering, billing = system.url("ordering"), system.url("billing")
        return cls(
            buyer=Partner(ordering, billing, partner_token),
            watcher=Partner(ordering, billing, partner_token),
            publisher=Publisher(
                system.url("provisioning"), mint_token(system.jwt_secret, PUBLISHER)
            ),
        )

    async def close(self) -> None:
        for client in (self.buyer, self.watcher, self.publisher):
            await client.close()


async def run(system: System, n: int, c: int, seed: int) -> Outcome:
    print("starting broker, ordering, provisioning, billing ...", flush=True)
    await system.start_all()
    actors = Actors.of(system)
    try:
        return await _chaos_flow(system, actors, n, c, seed)
    finally:
        await actors.close()


async def _chaos_flow(system: System, actors: Actors, n: int, c: int, seed: int) -> Outcome:
    retrying = Retrying(after_failure=system.check_alive)
    started = time.monotonic()
    flow = Flow()
    pace = Pace.of(cart_sizes(n), rounds=sum(KILLS.values()) + 1)  # + the round after
    monkey = Monkey(system, random.Random(seed), started, flow.progress, pace)
    driver = FlowDriver(
        actors.buyer, actors.watcher, actors.publisher, retrying, pace, n, c, flow=flow
    )
    print(
        f"flow: {n} subscriptions, {c} publisher workers; kills in order {monkey.plan}", flush=True
    )
    stopped = False
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(monkey.run())
            group.create_task(driver.run())
    except* SystemFailure as failures:
        raise failures.exceptions[0] from None
    except* FlowError as errors:  # the product answered wrong: a failed check, not exit 2
        flow.errors += [f"the flow stopped: {error}" for error in errors.exceptions]
        stopped = True
    what = "the flow stopped" if stopped else "last activation; waiting for convergence"
    print(f"  t={time.monotonic() - started:6.1f}s  {what}", flush=True)
    outcome = Outcome([], monkey, retrying, None, None, flow.recovered)
    if not stopped:
        try:
            return await _converge_and_judge(outcome, system, actors.watcher, flow, n)
        except FlowError as error:
            flow.errors.append(f"reading the outcome: {error}")
    return replace(outcome, checks=[answered_as_expected(flow)], flow_stopped=stopped)


async def _converge_and_judge(
    outcome: Outcome, system: System, watcher: Partner, flow: Flow, n: int
) -> Outcome:
    monkey, retrying = outcome.monkey, outcome.retrying
    converged = await converge(watcher, retrying, flow)
    after_kill = after_restart = None
    if converged is not None:
        if monkey.last_kill_at is not None:
            after_kill = converged - monkey.last_kill_at
            after_restart = after_kill - monkey.kills[-1].back_s
        await settle(converged, monkey.last_kill_at)
    system.check_alive()  # a process that died unasked voids the snapshot
    checks = judge(flow, await snapshot(watcher, retrying, flow), n)
    return replace(
        outcome,
        checks=checks,
        converged_after_last_kill_s=after_kill,
        converged_after_last_restart_s=after_restart,
    )


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

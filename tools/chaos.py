"""`make chaos`: the delivery guarantee on the real system, with services SIGKILLed mid-flow.

    python -m tools.chaos [--subscriptions N] [--concurrency C] [--seed S] [--keep]
                          [--kills provisioning=2,billing=2,ordering=1] [--broker-restarts R]
                          [--figures README.md]

Starts the embedded broker and each service as its own process, drives the flow
(tools.chaos_flow: purchases, activations, then added seats and cancellations) while
killing provisioning and billing twice each and ordering once (`--kills`), and
restarting the broker R times (`--broker-restarts`, then the way back is taken: topics,
consumer groups, the outbox replay; tools.chaos_broker), at seeded random moments
(tools.chaos_monkey). It waits until the system converged and everything was delivered
(no unsent outbox row, no consumer lag), and checks that every purchase ended with
exactly the charges, invoices and credit notes its changes call for (tools.chaos_checks).
`--figures FILE` writes the run's figures into FILE's chaos section (tools.chaos_figures).

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
from tools.chaos_broker import events, wait_drained
from tools.chaos_checks import Check, answered_as_expected, converge, judge, settle, snapshot
from tools.chaos_figures import Figures, write_figures
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


@dataclass(frozen=True)
class Plan:
    n: int  # subscriptions
    c: int  # publisher workers
    seed: int
    kills: dict[str, int]  # per service
    broker_restarts: int


async def run(system: System, plan: Plan) -> Outcome:
    print("starting broker, ordering, provisioning, billing ...", flush=True)
    await system.start_all()
    actors = Actors.of(system)
    try:
        return await _chaos_flow(system, actors, plan)
    finally:
        await actors.close()


async def _chaos_flow(system: System, actors: Actors, plan: Plan) -> Outcome:
    n, c = plan.n, plan.c
    retrying = Retrying(after_failure=system.check_alive)
    started = time.monotonic()
    flow = Flow()
    rounds = sum(plan.kills.values()) + plan.broker_restarts + 1  # + the round after
    pace = Pace.of(cart_sizes(n), rounds=rounds)
    monkey = Monkey(
        system,
        random.Random(plan.seed),
        started,
        flow.progress,
        pace,
        kills_per_service=plan.kills,
        broker_restarts=plan.broker_restarts,
    )
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
    after_kill = after_restart = drained_s = None
    if converged is not None:
        if monkey.last_kill_at is not None:
            after_kill = converged - monkey.last_kill_at
            after_restart = after_kill - monkey.kills[-1].back_s
        await settle(converged)
        drained_s = await wait_drained(system)
    system.check_alive()  # a process that died unasked voids the snapshot
    checks = judge(flow, await snapshot(watcher, retrying, flow), n)
    if converged is not None:
        checks.append(_delivered(drained_s))
    return replace(
        outcome,
        checks=checks,
        converged_after_last_kill_s=after_kill,
        converged_after_last_restart_s=after_restart,
        drained_after_converged_s=drained_s,
        events=events(system),
    )


def _delivered(drained_s: float | None) -> Check:
    """No outbox row left unsent and no consumer behind: nothing can still arrive (a
    relay that died holding rows has republished them, a replay has been consumed)."""
    errors = [] if drained_s is not None else ["outbox rows unsent or consumer lag left"]
    return Check("everything delivered: no outbox row unsent, no consumer lag", errors)


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
    parser.add_argument(
        "--kills",
        type=_kills,
        default=dict(KILLS),
        metavar="SERVICE=K,...",
        help="SIGKILLs per service (default: "
        + ",".join(f"{name}={k}" for name, k in KILLS.items())
        + "; a service not named is not killed)",
    )
    parser.add_argument("--broker-restarts", type=int, default=0, metavar="R")
    parser.add_argument(
        "--figures", type=Path, metavar="FILE", help="write the run's figures into FILE"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.subscriptions <= 5000 or not 1 <= args.concurrency <= 64:
        parser.error("need 1 <= N <= 5000 and 1 <= C <= 64")
    if not 0 <= args.broker_restarts <= 10:
        parser.error("need 0 <= R <= 10")
    return args


def _kills(text: str) -> dict[str, int]:
    kills = dict.fromkeys(KILLS, 0)
    for part in filter(None, text.split(",")):
        name, _, times = part.partition("=")
        if name not in kills or not times.isdigit() or int(times) > 10:
            raise argparse.ArgumentTypeError(f"not SERVICE=K (0-10 of {', '.join(KILLS)}): {part}")
        kills[name] = int(times)
    return kills


def _command(plan: Plan) -> str:
    """The command line that repeats this plan."""
    kills = ",".join(f"{name}={k}" for name, k in plan.kills.items())
    parts = ["python -m tools.chaos", f"--subscriptions {plan.n}", f"--seed {plan.seed}"]
    if plan.kills != KILLS:
        parts.append(f"--kills {kills}")
    if plan.broker_restarts:
        parts.append(f"--broker-restarts {plan.broker_restarts}")
    return " ".join(parts)


def _terminate_as_interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM's default kills Python without running `finally`: children would outlive us.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    plan = Plan(args.subscriptions, args.concurrency, seed, args.kills, args.broker_restarts)
    workdir = Path(tempfile.mkdtemp(prefix="csp-chaos-"))
    system = System(workdir, os.environ.get("CSP_JWT_SECRET", DEV_JWT_SECRET))
    print(f"chaos seed {seed}; data and logs in {workdir}", flush=True)
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    code = 2
    try:
        outcome = asyncio.run(asyncio.wait_for(run(system, plan), LIMIT_S))
        lines = report(outcome, system, seed)
        code = 1 if any(check.errors for check in outcome.checks) else 0
        print("\n".join(lines + ["result   " + ("OK" if code == 0 else "FAILED")]), flush=True)
        if args.figures is not None:
            figures = Figures.of(
                outcome, system, plan.seed, plan.n, ok=code == 0, command=_command(plan)
            )
            write_figures(args.figures, figures)
            print(f"figures written into {args.figures}", flush=True)
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

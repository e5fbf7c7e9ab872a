"""`make bench`: measured figures of the central flow, purchase -> activation -> first charge.

    python -m benchmarks.purchase_to_charge [--subscriptions N] [--concurrency C]

Not a test: it asserts nothing about speed. It does check the outcome (exactly one charge
of the right amount per subscription, N invoices) and exits 1 when that is wrong, 2 when
the run cannot finish (system does not start, or the 10-minute bound is hit).
See benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.flow import CART_LINES, POLL_S, SETTLE_S, Measured, run_flow
from tests.e2e.conftest import launch_system

LIMIT_S = 600.0
MAX_SUBSCRIPTIONS = 5000
MAX_SHOWN_ERRORS = 20
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 50), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "max_ms": round(max(values), 1),
    }


def machine() -> dict[str, Any]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")),
        platform.processor() or "unknown",
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def results(n: int, c: int, startup_s: float, m: Measured) -> dict[str, Any]:
    charged = sum(1 for s in m.subs if s.charged)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "run": {"subscriptions": n, "concurrency": c, "carts": m.carts, "cart_lines": CART_LINES},
        "poll_interval_ms": POLL_S * 1000,
        "startup_s": round(startup_s, 2),
        "latency": {name: summary(values) for name, values in m.ms.items()},
        "checkout_lines_per_s": (
            round(len(m.subs) / m.checkout_wall_s, 1) if m.checkout_wall_s else None
        ),
        "checkout_wall_s": round(m.checkout_wall_s, 2),
        "completed_activations": charged,
        "completed_activations_per_s": round(charged / m.flow_wall_s, 1) if m.flow_wall_s else None,
        "flow_wall_s": round(m.flow_wall_s, 2),
        "polls": m.polls,
        "client_cpu_s": round(m.client_cpu_s, 2),
        "correct_charges": m.charged_right,
        "invoices": m.invoices,
        "errors": m.errors,
    }


def table(r: dict[str, Any]) -> str:
    mc, run = r["machine"], r["run"]
    out = [
        f"purchase -> first charge   {r['date']}",
        f"machine  {mc['cpus']} CPUs ({mc['cpu_model']}), Python {mc['python']}, {mc['platform']}",
        f"run      {run['subscriptions']} subscriptions in {run['carts']} carts of <= {run['cart_lines']}"
        f" lines, concurrency {run['concurrency']}, one partner, one publisher",
        f"note     eventually-consistent state is polled every {r['poll_interval_ms']:.0f} ms, one list"
        " request per stage for the whole customer (a sleep between answers): the '->' latencies"
        " have a resolution of"
        f" {r['poll_interval_ms']:.0f} ms + one poll GET (see the poll GET rows)",
        "",
        f"startup (launch -> 3x /readyz ok, polled every 200 ms)  {r['startup_s']:.2f} s",
        "",
        f"{'latency (ms)':<32}{'count':>7}{'p50':>9}{'p95':>9}{'max':>9}",
    ]
    for name, s in r["latency"].items():
        if s["count"]:
            out.append(
                f"{name:<32}{s['count']:>7}{s['p50_ms']:>9.1f}{s['p95_ms']:>9.1f}{s['max_ms']:>9.1f}"
            )
    out += [
        "",
        f"checkout throughput        {r['checkout_lines_per_s']} lines/s"
        f"  ({run['carts']} checkouts in {r['checkout_wall_s']:.2f} s)",
        f"completed activations      {r['completed_activations_per_s']} /s"
        f"  ({r['completed_activations']} charged, first checkout -> last charge {r['flow_wall_s']:.2f} s)",
        f"polling requests           {r['polls']}",
        f"benchmark client CPU       {r['client_cpu_s']:.2f} s (it shares the {mc['cpus']} CPUs"
        " with the broker and the three services)",
        f"correctness                {r['correct_charges']}/{run['subscriptions']} with exactly one"
        f" charge of the right amount (checked {SETTLE_S:.0f} s after the last);"
        f" invoices {r['invoices']} (expected {run['subscriptions']})",
    ]
    shown = r["errors"][:MAX_SHOWN_ERRORS]
    out += [f"ERROR {e}" for e in shown]
    if len(r["errors"]) > len(shown):
        out.append(f"ERROR ... and {len(r['errors']) - len(shown)} more (all in the JSON)")
    out.append("result   " + ("ERRORS (see above)" if r["errors"] else "OK"))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.purchase_to_charge")
    parser.add_argument("--subscriptions", type=int, default=200, metavar="N")
    parser.add_argument("--concurrency", type=int, default=16, metavar="C")
    args = parser.parse_args(argv)
    n, c = args.subscriptions, args.concurrency
    if not 1 <= n <= MAX_SUBSCRIPTIONS or not 1 <= c <= 256:
        parser.error(f"need 1 <= N <= {MAX_SUBSCRIPTIONS} and 1 <= C <= 256")

    began = time.monotonic()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="csp-bench-")))
        print(f"starting the system (data and log in {workdir}) ...", flush=True)
        try:
            system, _ = stack.enter_context(launch_system(workdir))
        except (RuntimeError, TimeoutError) as error:
            print(f"ERROR the system did not start: {error}", file=sys.stderr)
            return 2
        startup_s = time.monotonic() - began
        print(f"running {n} subscriptions with concurrency {c} ...", flush=True)
        remaining = LIMIT_S - (time.monotonic() - began)
        try:
            measured = asyncio.run(asyncio.wait_for(run_flow(system, n, c), remaining))
        except httpx.HTTPError as error:
            print(f"ERROR the flow could not run: {error!r}", file=sys.stderr)
            return 2
        except TimeoutError:
            print(
                f"ERROR aborted: the benchmark exceeded its {LIMIT_S / 60:.0f}-minute bound"
                f" (N={n}, C={c}); service log tail:\n{system.log.read_text()[-2000:]}",
                file=sys.stderr,
            )
            return 2
    report = results(n, c, startup_s, measured)
    print(table(report))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

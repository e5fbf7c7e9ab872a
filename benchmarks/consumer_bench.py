"""One service's event path alone, in this process: billing's consumer on a backlog of
`ActivationCompleted` (each a new subscription: charge, invoice, outbox), on the
embedded broker and a SQLite store, as the service runs it (runtime, relay included):

    python -m benchmarks.consumer_bench [--events 1000] [--profile cprofile|pyinstrument]

Prints events/s and CPU ms per event (this process, all threads). A before/after
measurement of the consumer, unit of work and inbox code on a busy machine, where the
whole-system figures (`purchase_to_charge`) vary too much.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

from services.billing.bootstrap import build_app
from services.billing.settings import BillingSettings
from shared.events.topics import PROVISIONING_SUBSCRIPTIONS
from shared.logging import configure_logging
from shared.messaging.embedded_broker import broker_command, free_port, wait_for_port
from shared.messaging.kafka import make_broker
from shared.messaging.outbox import outbox_message
from tests.unit.billing.builders import activation_completed


async def measure(bootstrap: str, data: Path, events: int, profile: str | None) -> dict[str, Any]:
    producer = make_broker(bootstrap, client_id="consumer-bench")
    await producer.start()
    for _ in range(events):
        row = outbox_message(activation_completed())
        await producer.publish(
            row.payload, topic=PROVISIONING_SUBSCRIPTIONS, key=row.key.encode(), headers=row.headers
        )
    await producer.stop()
    app = build_app(BillingSettings(kafka_bootstrap_servers=bootstrap, csp_data_dir=data))
    runtime = app.state.runtime
    [consumer] = runtime.consumers
    profiler: Any = None
    await runtime.start()
    try:
        while sum(consumer.stats.values()) == 0:  # noqa: ASYNC110 (polls a counter)
            await asyncio.sleep(0.005)
        done0 = sum(consumer.stats.values())
        wall0, cpu0 = time.perf_counter(), time.process_time()
        if profile == "cprofile":
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        elif profile == "pyinstrument":
            import pyinstrument

            profiler = pyinstrument.Profiler(async_mode="disabled", interval=0.0005)
            profiler.start()
        while sum(consumer.stats.values()) < events:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        if profile == "cprofile":
            profiler.disable()
        elif profile == "pyinstrument":
            profiler.stop()
    finally:
        await runtime.stop()
    if profile == "cprofile":
        import pstats

        pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
        pstats.Stats(profiler).sort_stats("cumtime").print_stats(60)
    elif profile == "pyinstrument":
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    timed = events - done0
    return {
        "events": timed,
        "counts": dict(consumer.stats),
        "events_per_s": round(timed / wall, 1),
        "cpu_ms_per_event": round(cpu * 1000 / timed, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--profile", choices=["cprofile", "pyinstrument"])
    args = parser.parse_args()
    configure_logging("billing")  # JSON lines on stderr, as a service writes them
    port = free_port()
    broker = subprocess.Popen(
        broker_command(port=port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port("127.0.0.1", port)
        with tempfile.TemporaryDirectory() as tmp:
            result = uvloop.run(measure(f"127.0.0.1:{port}", Path(tmp), args.events, args.profile))
        print(json.dumps(result))
    finally:
        broker.terminate()
        broker.wait(10)
    sys.exit(0)


if __name__ == "__main__":
    main()

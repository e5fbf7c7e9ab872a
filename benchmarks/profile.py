"""Profiles of the services under load: py-spy samples each process (`--nonblocking`:
the process is never paused) while the maximum-rate phase runs, and writes collapsed
stacks (`--format raw`, the input of flamegraph.pl or speedscope). `summarize` turns
them into where the CPU went: by function (self and inclusive) and by package.

Only the threads doing work are sampled (py-spy leaves idle ones out by default), so
`samples / (seconds x rate)` is how busy the process was, in threads.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

RATE_HZ = 100
_LINE = re.compile(r" \(([^()]*?)(?::\d+)?\)$")  # "func (path/file.py:123)" -> path


def py_spy() -> str | None:
    found = shutil.which("py-spy")
    if found:
        return found
    beside = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "py-spy"
    return str(beside) if beside.exists() else None


def start(pid: int, out: Path, seconds: float) -> subprocess.Popen[bytes] | None:
    binary = py_spy()
    if binary is None:
        return None
    command = [
        binary, "record", "--nonblocking", "--format", "raw", "--rate", str(RATE_HZ),
        "--duration", str(max(1, round(seconds))), "--output", str(out), "--pid", str(pid),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def frame_name(frame: str) -> str:
    """'handle (shared/messaging/consumer.py:123)' -> 'handle (shared/messaging/consumer.py)'."""
    return _LINE.sub(lambda m: f" ({m.group(1)})", frame)


def package(frame: str) -> str:
    """The top package (or stdlib module) a frame's file belongs to."""
    match = _LINE.search(frame)
    if match is None:
        return "?"
    path = match.group(1).lstrip("<").rstrip(">")
    head = path.split("/", 1)[0]
    return head.removesuffix(".py") or "?"


# What each sample was doing, by the frames on its stack (a sample may match several):
# the entry points first (on the event loop, or SQLite on aiosqlite's worker thread),
# then costs that cut across them.
STAGES: dict[str, tuple[str, ...]] = {
    # BaseHTTPMiddleware runs the rest of the app in an anyio task of its own.
    "HTTP requests (uvicorn -> FastAPI -> handler)": (
        "RequestResponseCycle.run_asgi",
        "BaseHTTPMiddleware.",
        "TaskHandle._run_coro (anyio",
    ),
    "event consumers (FastStream -> EventConsumer)": ("LogicSubscriber._run_consume_loop",),
    "outbox relay": ("OutboxRelay.", "_SentMarker."),
    "due work": ("DueWorkRunner.",),
    "SQLite statements (aiosqlite worker thread)": ("_connection_worker_thread",),
    "  of which pydantic validation": ("model_validate",),
    "  of which inspect.signature from pydantic PrivateAttr(default_factory=list)": (
        "takes_validated_data_argument",
    ),
    "  of which logging (structlog, stdlib logging)": ("structlog/", "(logging/"),
    "  of which publishing (FastStream -> aiokafka send)": ("publish_function.",),
    "  of which thread hops to aiosqlite (event loop side)": ("Connection._execute (aiosqlite",),
}


def parse(collapsed: str) -> list[tuple[list[str], int]]:
    stacks = []
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append(([frame_name(f) for f in stack.split(";")], int(count)))
    return stacks


def summarize(collapsed: str, seconds: float, top: int = 15) -> dict[str, Any]:
    stacks = parse(collapsed)
    total = sum(count for _, count in stacks)
    if not total:
        return {"samples": 0}
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    for frames, count in stacks:
        own[frames[-1]] += count
        packages[package(frames[-1])] += count
        for name in set(frames):
            inclusive[name] += count
        for stage, marks in STAGES.items():
            if any(mark in frame for frame in frames for mark in marks):
                stages[stage] += count

    def shares(counter: Counter[str], n: int) -> list[list[Any]]:
        return [[name, round(100 * c / total, 1)] for name, c in counter.most_common(n)]

    return {
        "samples": total,
        "busy_threads": round(total / (seconds * RATE_HZ), 2),
        "self_pct": shares(own, top),
        "inclusive_pct": shares(inclusive, top * 3),
        "package_self_pct": shares(packages, top),
        "stages_pct": {stage: round(100 * stages[stage] / total, 1) for stage in STAGES},
    }

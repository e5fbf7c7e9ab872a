"""Collapsed py-spy stacks -> where the CPU went."""

from __future__ import annotations

from benchmarks.profile import frame_name, package, summarize

COLLAPSED = """\
main (svc/__main__.py:10);handle (shared/messaging/consumer.py:120);execute (aiosqlite/core.py:50) 6
main (svc/__main__.py:10);handle (shared/messaging/consumer.py:121);dumps (json/__init__.py:231) 3
main (svc/__main__.py:10);publish (shared/messaging/relay.py:99) 1
not a stack line
"""


def test_frames_lose_their_line_numbers_and_name_their_package() -> None:
    frame = "handle (shared/messaging/consumer.py:120)"
    assert frame_name(frame) == "handle (shared/messaging/consumer.py)"
    assert package(frame) == "shared"
    assert package("<module> (<frozen runpy>)") == "frozen runpy"
    assert package("run (asyncio/runners.py:118)") == "asyncio"
    assert package("no file here") == "?"


def test_summary_shares_of_self_inclusive_and_package_time() -> None:
    profile = summarize(COLLAPSED, seconds=0.05)  # 5 possible samples at 100 Hz
    assert profile["samples"] == 10
    assert profile["busy_threads"] == 2.0
    assert profile["self_pct"][0] == ["execute (aiosqlite/core.py)", 60.0]
    inclusive = dict(map(tuple, profile["inclusive_pct"]))
    assert inclusive["handle (shared/messaging/consumer.py)"] == 90.0  # lines 120 and 121
    assert inclusive["main (svc/__main__.py)"] == 100.0
    assert dict(map(tuple, profile["package_self_pct"])) == {
        "aiosqlite": 60.0,
        "json": 30.0,
        "shared": 10.0,
    }


def test_no_samples() -> None:
    assert summarize("", seconds=1) == {"samples": 0}

"""CPU and memory from /proc: the parsing, and a role's CPU summed over restarts."""

from __future__ import annotations

import os
import resource

from benchmarks.procstat import (
    CLOCK_TICKS,
    ProcessBook,
    Reading,
    cpu_seconds_from_stat,
    read,
    status_kb,
)


def test_cpu_seconds_come_from_utime_and_stime_even_with_spaces_in_the_name() -> None:
    ticks = CLOCK_TICKS
    fields = ["S"] + ["0"] * 10 + [str(3 * ticks), str(ticks)] + ["0"] * 30
    line = "4242 (python -m svc) " + " ".join(fields)
    assert cpu_seconds_from_stat(line) == 4.0


def test_status_values_in_kb() -> None:
    text = "Name:\tpython\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"
    assert status_kb(text, "VmRSS") == 102400
    assert status_kb(text, "VmHWM") == 204800
    assert status_kb(text, "VmSwap") is None


def test_reading_this_process() -> None:
    now = read(os.getpid())
    assert now is not None
    assert now.cpu_s > 0
    assert now.hwm_kb >= now.rss_kb > 0


def test_a_role_counts_every_incarnation_and_the_peak_of_any() -> None:
    book = ProcessBook()
    book.add("svc", os.getpid())
    first = book.roles["svc"][0]
    first.last = Reading(cpu_s=2.0, rss_kb=50 * 1024, hwm_kb=80 * 1024)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    book.ended("svc", first.pid, None)  # reaped without figures: the last reading stays
    assert book.cpu()["svc"] == 2.0
    book.add("svc", os.getpid())  # started again
    second = book.roles["svc"][1]
    second.last = Reading(cpu_s=1.5, rss_kb=40 * 1024, hwm_kb=60 * 1024)
    assert book.cpu()["svc"] == 3.5
    assert book.peak_rss_mb()["svc"] == 80.0
    assert book.rss_mb()["svc"] == 40.0  # only the living one
    book.ended("svc", second.pid, usage)  # reaped: its exact CPU from wait4's figures
    assert book.cpu()["svc"] >= 2.0 + usage.ru_utime + usage.ru_stime - 1e-9

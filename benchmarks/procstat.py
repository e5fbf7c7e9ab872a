"""CPU seconds and resident memory of processes, read from /proc (Linux; no psutil).

`ProcessBook` keeps every process of the run under a role name ("broker", "ordering",
"client", ...), across restarts: a role's CPU is the sum over its incarnations, so a
phase in which a service was stopped and started again still counts all of its work.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds_from_stat(text: str) -> float:
    """utime + stime of a /proc/<pid>/stat line (all threads), in seconds. The command
    name in parentheses may contain spaces: the fields are counted after its ')'."""
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is the state (field 3 of proc(5)); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def status_kb(text: str, key: str) -> int | None:
    """A `kB` value of /proc/<pid>/status, e.g. VmRSS (resident now) or VmHWM (its peak)."""
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


@dataclass(frozen=True)
class Reading:
    cpu_s: float
    rss_kb: int
    hwm_kb: int


def read(pid: int) -> Reading | None:
    """None once the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return Reading(
        cpu_seconds_from_stat(stat),
        status_kb(status, "VmRSS") or 0,
        status_kb(status, "VmHWM") or 0,
    )


@dataclass
class Incarnation:
    pid: int
    last: Reading = field(default_factory=lambda: Reading(0.0, 0, 0))
    ended: bool = False


@dataclass
class ProcessBook:
    roles: dict[str, list[Incarnation]] = field(default_factory=dict)

    def add(self, role: str, pid: int) -> None:
        self.roles.setdefault(role, []).append(Incarnation(pid))
        self.sample()

    def ended(self, role: str, pid: int, usage: resource.struct_rusage | None) -> None:
        """The process was reaped; `usage` (from os.wait4) has its exact final figures."""
        for life in self.roles.get(role, []):
            if life.pid == pid and not life.ended:
                if usage is not None:
                    cpu = usage.ru_utime + usage.ru_stime
                    life.last = Reading(
                        max(cpu, life.last.cpu_s), 0, max(usage.ru_maxrss, life.last.hwm_kb)
                    )
                else:
                    life.last = Reading(life.last.cpu_s, 0, life.last.hwm_kb)
                life.ended = True

    def sample(self) -> None:
        for lives in self.roles.values():
            for life in lives:
                if not life.ended and (now := read(life.pid)) is not None:
                    life.last = now

    def cpu(self) -> dict[str, float]:
        """Each role's CPU seconds so far, over all its incarnations (sample() first)."""
        return {role: sum(life.last.cpu_s for life in lives) for role, lives in self.roles.items()}

    def rss_mb(self) -> dict[str, float]:
        """Resident memory of each role's living process now (sample() first)."""
        return {
            role: round(sum(life.last.rss_kb for life in lives if not life.ended) / 1024, 1)
            for role, lives in self.roles.items()
        }

    def peak_rss_mb(self) -> dict[str, float]:
        """Each role's highest resident memory of any incarnation (VmHWM / ru_maxrss)."""
        return {
            role: round(max(life.last.hwm_kb for life in lives) / 1024, 1)
            for role, lives in self.roles.items()
        }


def cpu_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {role: round(after[role] - before.get(role, 0.0), 2) for role in after}

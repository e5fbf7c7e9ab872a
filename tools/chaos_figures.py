"""The figures of the latest chaos run, written into a file between two markers.

`make chaos` keeps the README's "Reliability" section current: everything between
`<!-- chaos:begin -->` and `<!-- chaos:end -->` is replaced by the run's figures; the rest
of the file is left byte for byte. A file without both markers is refused, not guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tools.chaos_report import Outcome, absorbed, kills_per_service
from tools.chaos_system import SERVICES, System
from tools.readme_figures import markers, write_between

BEGIN, END = markers("chaos")


@dataclass(frozen=True)
class Figures:
    date: str
    seed: int
    subscriptions: int
    ok: bool
    kills: dict[str, int]
    broker_restarts: int
    replayed: int  # outbox rows queued again by the replay(s)
    events: dict[str, int]
    absorbed: dict[str, int]  # duplicates skipped, per service (log lines)
    converged_after_last_kill_s: float | None
    converged_after_back_s: float | None
    delivered_after_converged_s: float | None
    command: str  # what repeats the run's plan

    @classmethod
    def of(
        cls, outcome: Outcome, system: System, seed: int, n: int, *, ok: bool, command: str
    ) -> Figures:
        kills = kills_per_service(outcome)
        return cls(
            date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            seed=seed,
            subscriptions=n,
            ok=ok,
            kills={name: kills[name] for name in SERVICES},
            broker_restarts=len(outcome.monkey.restarts),
            replayed=sum(sum(r.requeued.values()) for r in outcome.monkey.restarts),
            events=dict(outcome.events),
            absorbed=absorbed(system),
            converged_after_last_kill_s=outcome.converged_after_last_kill_s,
            converged_after_back_s=outcome.converged_after_last_restart_s,
            delivered_after_converged_s=outcome.drained_after_converged_s,
            command=command,
        )

    def markdown(self) -> str:
        def per_service(counts: dict[str, int]) -> str:
            listed = ", ".join(f"{name} {count}" for name, count in counts.items())
            return f"{sum(counts.values())} ({listed})"

        def seconds(value: float | None) -> str:
            return "not reached" if value is None else f"{value:.1f} s"

        restarts = f"{self.broker_restarts}" + (
            f" ({self.replayed} outbox rows replayed)" if self.broker_restarts else ""
        )
        rows = [
            ("result", "all checks hold" if self.ok else "**a check FAILED**"),
            ("kills (SIGKILL) per service", per_service(self.kills)),
            ("broker restarts", restarts),
            ("events emitted", per_service(self.events)),
            ("duplicates absorbed", per_service(self.absorbed)),
            (
                "seconds to converge after the last kill",
                f"{seconds(self.converged_after_last_kill_s)}"
                f" ({seconds(self.converged_after_back_s)} after it was back)",
            ),
            ("then everything delivered after", seconds(self.delivered_after_converged_s)),
        ]
        return "\n".join(
            [
                f"Latest run: {self.date}, seed {self.seed}, {self.subscriptions} subscriptions"
                f" (`{self.command}` repeats its plan).",
                "",
                "| figure | value |",
                "|---|---|",
                *(f"| {name} | {value} |" for name, value in rows),
            ]
        )


def write_figures(path: Path, figures: Figures) -> None:
    write_between(path, "chaos", figures.markdown())

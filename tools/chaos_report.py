"""What a chaos run saw, and the report it prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tools.chaos_checks import Check
from tools.chaos_http import Retrying
from tools.chaos_monkey import Monkey
from tools.chaos_system import SERVICES, System

# Log events that show the kills forced redelivery and the product absorbed it.
ABSORBED = ("event_duplicate_skipped", "purchase_already_provisioned", "activation_already_billed")


@dataclass(frozen=True)
class Outcome:
    checks: list[Check]
    monkey: Monkey
    retrying: Retrying
    converged_after_last_kill_s: float | None
    converged_after_last_restart_s: float | None
    recovered: Counter[str]
    flow_stopped: bool = False  # an unexpected answer stopped the flow: nothing to wait for
    drained_after_converged_s: float | None = None  # no unsent row, no lag, from then on
    events: dict[str, int] = field(default_factory=dict)  # emitted per service (outbox rows)


def absorbed(system: System) -> dict[str, int]:
    """Per service, the redeliveries the product skipped (counted in its log)."""
    return {name: sum(system.count_in_logs(name, event) for event in ABSORBED) for name in SERVICES}


def _absorbed(system: System) -> str:
    parts = []
    for name in SERVICES:
        counts = [(event, system.count_in_logs(name, event)) for event in ABSORBED]
        seen = ", ".join(f"{event} x{count}" for event, count in counts if count)
        if seen:
            parts.append(f"{name}: {seen}")
    return "; ".join(parts)


def _broker(outcome: Outcome) -> list[str]:
    restarts = outcome.monkey.restarts
    if not restarts:
        return []
    replayed = sum(sum(r.requeued.values()) for r in restarts)
    return [
        f"broker        {len(restarts)} restart(s); the way back: "
        + "; ".join(
            f"{len(r.topics_created)} topics created, groups joined after"
            f" {r.groups_back_s:.1f} s, {sum(r.requeued.values())} outbox rows replayed"
            for r in restarts
        )
        + f" ({replayed} in all)"
    ]


def _delivered(outcome: Outcome) -> list[str]:
    lines = []
    if outcome.events:
        total = sum(outcome.events.values())
        per = ", ".join(f"{name} {count}" for name, count in outcome.events.items())
        lines.append(f"events        {total} emitted ({per})")
    if outcome.drained_after_converged_s is not None:
        lines.append(
            f"delivered     all, {outcome.drained_after_converged_s:.1f} s after convergence"
            " (no outbox row unsent, no consumer lag)"
        )
    return lines


def _converged(outcome: Outcome) -> str:
    after_kill, after_restart = (
        outcome.converged_after_last_kill_s,
        outcome.converged_after_last_restart_s,
    )
    if outcome.flow_stopped:
        return "not waited for (the flow stopped)"
    if after_kill is None or after_restart is None:
        return "NOT within the bound"
    return f"{after_kill:.1f} s after the last kill ({after_restart:.1f} s after it was healthy)"


def kills_per_service(outcome: Outcome) -> Counter[str]:
    return Counter(k.service for k in outcome.monkey.kills if k.service in SERVICES)


def report(outcome: Outcome, system: System, seed: int) -> list[str]:
    kills = kills_per_service(outcome)
    restarts = {name: system.services[name].starts - 1 for name in SERVICES}
    failures = outcome.retrying.failures
    lines = [
        "",
        f"seed          {seed}",
        "kills         " + ", ".join(f"{name} {kills[name]}" for name in SERVICES),
        "restarts      " + ", ".join(f"{name} {restarts[name]}" for name in SERVICES),
        *_broker(outcome),
        "converged     " + _converged(outcome),
        *_delivered(outcome),
        "client        "
        + (", ".join(f"{k} x{v}" for k, v in failures.most_common()) or "no failed call")
        + " (retried until answered)",
        "cut-off calls "
        + (
            ", ".join(f"{what} x{count}" for what, count in outcome.recovered.items())
            or "no answer needed the state to confirm an earlier attempt"
        ),
        "redelivered   "
        + (_absorbed(system) or "nothing absorbed (no redelivery seen in the logs)"),
    ]
    lines += [f"WARN  5xx answer (retried): {e}" for e in outcome.retrying.server_errors[:10]]
    lines.append("checks")
    for check in outcome.checks:
        lines.append(f"  {'ok ' if not check.errors else 'FAIL'} {check.name}")
        lines += [f"ERROR {e}" for e in check.errors[:20]]
        if len(check.errors) > 20:
            lines.append(f"ERROR ... and {len(check.errors) - 20} more")
    return lines

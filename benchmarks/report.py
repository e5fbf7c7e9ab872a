"""The run's figures as markdown: printed by `make bench` and written into
benchmarks/README.md between the markers (no I/O here except `write_between_markers`)."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

BEGIN = "<!-- bench:results:begin -->"
END = "<!-- bench:results:end -->"
SERVICES = ("ordering", "provisioning", "billing")


def machine() -> dict[str, Any]:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        cpuinfo = []
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
        platform.processor() or "unknown",
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def load_average() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return []


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        text = f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    else:
        text = f"{value:,}" if isinstance(value, int) else str(value)
    return text + unit


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows]
    return out


def _latency_rows(latency: dict[str, dict[str, Any]]) -> list[list[Any]]:
    return [
        [name, s["count"], s["p50_ms"], s["p95_ms"], s["p99_ms"], s["max_ms"]]
        for name, s in latency.items()
        if s.get("count")
    ]


def render(r: dict[str, Any]) -> str:
    mc = r["machine"]
    load = r.get("load_average", {})
    out = [
        f"## purchase -> activation -> charge, {r['date']}",
        "",
        f"Machine: {mc['cpus']} CPUs ({mc['cpu_model']}), Python {mc['python']},"
        f" {mc['platform']}. Load average (1 min) at start {_fmt(load.get('start', [None])[0])},"
        f" at end {_fmt(load.get('end', [None])[0])}"
        + (" (other work on the machine: figures are indicative)." if r.get("loaded") else ".")
        + f" Embedded Tansu broker, SQLite stores. Command: `{r['command']}`"
        f" ({_fmt(r['wall_s'])} s, startup {_fmt(r['startup_s'])} s).",
    ]
    if env := r.get("settings", {}).get("env"):
        named = ", ".join(f"`{k}={v}`" for k, v in env.items())
        out += ["", f"**Not the defaults**: every service ran with {named}."]
    if r.get("profiled"):
        out += ["", "**Profiled run** (py-spy sampling each service during the max phase): "
                "the max-phase figures carry its overhead."]  # fmt: skip
    if "max" in r:
        m = r["max"]
        out += [
            "",
            "### Maximum rate",
            "",
            f"**{_fmt(m['activations_per_s'])} completed activations/s** sustained (charges"
            f" seen from {_fmt(m['warmup_s'])} s to {_fmt(m['seconds'])} s; up to"
            f" {m['window']} subscriptions in flight, {m['buyers']} checkouts at a time);"
            f" {m['bought']} bought, {m['charged']} charged; checkouts"
            f" {_fmt(m['checkouts_per_s'])} subscriptions/s. Client CPU per activation:"
            f" **{_fmt(m.get('client_cpu_ms_per_activation'))} ms**.",
        ]
        if m.get("lag_at_end"):
            lags = ", ".join(f"{k} {_fmt(v)}" for k, v in m["lag_at_end"].items())
            out += ["", f"Consumer lag when buying stopped (events not yet committed): {lags}."]
        out += [
            "",
            *_table(
                ["latency at max rate (ms)", "n", "p50", "p95", "p99", "max"],
                _latency_rows(m["latency"]),
            ),
        ]
    if "half" in r:
        h = r["half"]
        out += [
            "",
            f"### Fixed rate: {_fmt(h['offered_per_s'])} subscriptions/s (half the maximum)",
            "",
            f"{h['bought']} bought over {_fmt(h['seconds'])} s, {h['charged']} charged"
            f" (achieved {_fmt(h['achieved_per_s'])} /s, carts sent late: {h['carts_sent_late']})."
            " `link visible`: when ordering stored the link (its `subscriptions.state`"
            f" record's time), each confirmed by a GET of the partner view ({h['view_polls']}"
            " GETs).",
            "",
            *_table(
                ["latency at half rate (ms)", "n", "p50", "p95", "p99", "max"],
                _latency_rows(h["latency"]),
            ),
        ]
    if r.get("relay_delay"):
        rows = []
        for service, figures in r["relay_delay"].items():
            for name, s in figures.items():
                if isinstance(s, dict) and s.get("count"):
                    rows.append(
                        [
                            f"{service}: {name}",
                            s["count"],
                            s["p50_ms"],
                            s["p95_ms"],
                            s["p99_ms"],
                            s["max_ms"],
                        ]
                    )
        out += [
            "",
            "### Outbox relay delay (fixed-rate phase)",
            "",
            *_table(["ms", "n", "p50", "p95", "p99", "max"], rows),
        ]
    if "backlog" in r:
        b = r["backlog"]
        raw = r.get("raw", {})
        out += [
            "",
            f"### Event path on a backlog ({b['purchases']} purchases) and the raw baseline",
            "",
        ]
        rows = []
        for service in SERVICES:
            s = b["services"].get(service, {})
            rows.append([
                service, s.get("group"), s.get("backlog"), s.get("events_per_s"), s.get("handled_per_s"),
                s.get("cpu_ms_per_event"), r.get("ratios", {}).get(service, {}).get("vs_raw_hop"),
                r.get("ratios", {}).get(service, {}).get("vs_raw_hop_single"),
            ])  # fmt: skip
        for hop in raw.get("hop_alone_batch", []):
            rows.append(
                [
                    f"raw hop {hop['hop']} (batch)",
                    "",
                    hop.get("backlog"),
                    hop.get("events_per_s"),
                    "",
                    hop.get("cpu_ms_per_event"),
                    "",
                    "",
                ]
            )
        if single := raw.get("hop_alone_single"):
            rows.append(
                [
                    "raw hop 1 (single)",
                    "",
                    single.get("backlog"),
                    single.get("events_per_s"),
                    "",
                    single.get("cpu_ms_per_event"),
                    "",
                    "",
                ]
            )
        out += _table(
            [
                "consumer",
                "group",
                "backlog",
                "events/s",
                "handled/s",
                "CPU ms/event",
                "x raw hop",
                "x raw single",
            ],
            rows,
        )
        if chain := raw.get("chain"):
            out += [
                "",
                f"Raw chain of three hops: {_fmt(chain.get('messages_per_s'))} messages/s end to end"
                f" ({raw['messages']} messages, mean payload {raw['payload_bytes_mean']} bytes, copies of"
                f" {raw['record_kinds']} of the services' records). `x raw hop` = the service's events/s"
                " / the median of the three hops alone (batched: send all, await the acks, commit);"
                " `x raw single` = / one hop in the services' shape (one record, send and wait, commit).",
            ]
    if r.get("processes"):
        phases = [p for p in ("max", "half", "backlog", "raw") if p in r.get("cpu_s", {})]
        rows = []
        for role, figures in r["processes"].items():
            rows.append(
                [
                    role,
                    *(r["cpu_s"][p].get(role) for p in phases),
                    figures["cpu_s"],
                    figures["peak_rss_mb"],
                ]
            )
        rss = r.get("half", {}).get("rss_mb", {})
        out += [
            "",
            "### Processes",
            "",
            *_table(
                ["process", *(f"CPU s ({p})" for p in phases), "CPU s (run)", "peak RSS MB"], rows
            ),
        ]
        if rss:
            flat = ", ".join(
                f"{role} {_fmt(v['start'])} -> {_fmt(v['end'])}" for role, v in rss.items()
            )
            out += ["", f"RSS (MB) at the start and end of the fixed-rate phase: {flat}."]
    c = r.get("correctness", {})
    out += [
        "",
        f"Correctness: {c.get('right')}/{c.get('subscriptions')} subscriptions with exactly one"
        f" invoice line, a charge of the right amount; {c.get('invoices')} invoices.",
        "",
        "Result: " + ("ERRORS (see above)" if r["errors"] else "OK"),
    ]
    out += [f"- ERROR {e}" for e in r["errors"][:20]]
    if len(r["errors"]) > 20:
        out.append(f"- ERROR ... and {len(r['errors']) - 20} more (all in the JSON)")
    return "\n".join(out) + "\n"


def render_profile(profiles: dict[str, dict[str, Any]], top: int = 8) -> str:
    out = ["### Profile (py-spy, max phase): where each process's CPU went", ""]
    for service, p in profiles.items():
        if not p.get("samples"):
            out += [f"{service}: no samples ({p.get('error', 'py-spy unavailable')})", ""]
            continue
        out.append(
            f"**{service}**: {p['samples']} samples, {p['busy_threads']} threads busy on average."
        )
        pkgs = ", ".join(f"{name} {pct}%" for name, pct in p["package_self_pct"][:top])
        out.append(f"Self time by package: {pkgs}.")
        out += [
            "",
            *_table(
                ["self %", "function"], [[pct, f"`{name}`"] for name, pct in p["self_pct"][:top]]
            ),
            "",
        ]
    return "\n".join(out)


def write_between_markers(path: Path, text: str) -> bool:
    """Replace what stands between BEGIN and END in `path`; False if the markers are missing."""
    document = path.read_text()
    if BEGIN not in document or END not in document:
        return False
    head, rest = document.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{text.rstrip()}\n{END}{tail}")
    return True

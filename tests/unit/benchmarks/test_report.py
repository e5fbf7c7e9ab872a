"""The markdown `make bench` prints and writes into benchmarks/README.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.report import BEGIN, END, render, write_between_markers

LATENCY = {"count": 10, "p50_ms": 12.5, "p95_ms": 40.0, "p99_ms": 55.0, "max_ms": 60.0}


def result(**changes: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "date": "2026-12-02T04:34:32+00:00",
        "machine": {"cpus": 2, "cpu_model": "AMD EPYC", "python": "3.11.7", "platform": "Linux"},
        "load_average": {"start": [0.08, 0.1, 0.1], "end": [3.07, 2.0, 2.0]},
        "loaded": False,
        "command": "make bench",
        "settings": {"env": {}},
        "wall_s": 216.8,
        "startup_s": 5.95,
        "max": {
            "window": 200,
            "buyers": 4,
            "seconds": 20.2,
            "warmup_s": 5.0,
            "bought": 515,
            "charged": 515,
            "activations_per_s": 16.1,
            "checkouts_per_s": 16.0,
            "client_cpu_ms_per_activation": 10.1,
            "lag_at_end": {"provisioning": 183},
            "latency": {"activate -> charge posted (topic)": LATENCY},
        },  # fmt: skip
        "backlog": {
            "purchases": 600,
            "services": {
                "provisioning": {
                    "group": "provisioning.purchases",
                    "backlog": 600,
                    "events_per_s": 56.8,
                    "handled_per_s": 56.8,
                    "cpu_ms_per_event": 15.1,
                }
            },
        },  # fmt: skip
        "raw": {
            "messages": 20000,
            "payload_bytes_mean": 785,
            "record_kinds": 400,
            "hop_alone_batch": [
                {"hop": 1, "backlog": 19961, "events_per_s": 4268.1, "cpu_ms_per_event": 0.11}
            ],
            "hop_alone_single": {"backlog": 1979, "events_per_s": 302.5, "cpu_ms_per_event": 0.99},
            "chain": {"messages_per_s": 1806.6},
        },  # fmt: skip
        "ratios": {"provisioning": {"vs_raw_hop": 0.01, "vs_raw_hop_single": 0.19}},
        "cpu_s": {"max": {"client": 5.22, "provisioning": 22.2}},
        "processes": {
            "client": {"cpu_s": 40.3, "peak_rss_mb": 103.5},
            "provisioning": {"cpu_s": 118.7, "peak_rss_mb": 144.7},
        },
        "correctness": {"subscriptions": 515, "right": 515, "invoices": 515},
        "errors": [],
    }
    r.update(changes)
    return r


def test_the_headline_figures_and_the_machine_are_in_the_markdown() -> None:
    text = render(result())
    assert "2 CPUs (AMD EPYC), Python 3.11.7" in text
    assert "**16.1 completed activations/s**" in text
    assert "Client CPU per activation: **10.1 ms**" in text
    assert "| activate -> charge posted (topic) | 10 | 12.5 | 40.0 | 55.0 | 60.0 |" in text
    assert (
        "| provisioning | provisioning.purchases | 600 | 56.8 | 56.8 | 15.1 | 0.01 | 0.19 |" in text
    )
    assert "| raw hop 1 (batch) |  | 19,961 | 4,268.1 |  | 0.11 |  |  |" in text
    assert "Raw chain of three hops: 1,806.6 messages/s" in text
    assert "| provisioning | 22.2 | 118.7 | 144.7 |" in text
    assert text.rstrip().endswith("Result: OK")


def test_errors_a_loaded_machine_and_settings_that_are_not_the_defaults_are_said() -> None:
    text = render(result(errors=["max: x: no charge"], loaded=True, settings={"env": {"A": "1"}}))
    assert "figures are indicative" in text
    assert "**Not the defaults**: every service ran with `A=1`." in text
    assert "Result: ERRORS" in text
    assert "- ERROR max: x: no charge" in text


def test_only_what_stands_between_the_markers_is_replaced(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\nbefore\n{BEGIN}\nold figures\n{END}\nafter\n")
    assert write_between_markers(readme, "new figures\n")
    assert readme.read_text() == f"# Title\nbefore\n{BEGIN}\nnew figures\n{END}\nafter\n"
    readme.write_text("no markers\n")
    assert not write_between_markers(readme, "new figures")
    assert readme.read_text() == "no markers\n"

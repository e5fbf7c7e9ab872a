"""The chaos run's figures replace the README's chaos section, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.chaos_figures import BEGIN, END, Figures, write_figures

FIGURES = Figures(
    date="2030-01-01 12:00 UTC",
    seed=7,
    subscriptions=60,
    ok=True,
    kills={"ordering": 1, "provisioning": 2, "billing": 2},
    broker_restarts=1,
    replayed=184,
    events={"ordering": 88, "provisioning": 208, "billing": 176},
    absorbed={"ordering": 96, "provisioning": 39, "billing": 39},
    converged_after_last_kill_s=30.8,
    converged_after_back_s=10.6,
    delivered_after_converged_s=1.1,
    command="python -m tools.chaos --subscriptions 60 --seed 7 --broker-restarts 1",
)


def test_the_section_between_the_markers_is_replaced_and_the_rest_kept(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    head, tail = "# Title\n\n## Reliability\n\n", "\n\n## Docs\n- a link\n"
    readme.write_text(f"{head}{BEGIN}\nold figures\n{END}{tail}")

    write_figures(readme, FIGURES)
    write_figures(readme, FIGURES)  # again: still one section

    text = readme.read_text()
    assert text.startswith(head + BEGIN + "\n") and text.endswith(END + tail)
    assert "old figures" not in text and text.count(BEGIN) == 1
    for figure in (
        "seed 7, 60 subscriptions (`python -m tools.chaos --subscriptions 60 --seed 7"
        " --broker-restarts 1` repeats its plan)",
        "| kills (SIGKILL) per service | 5 (ordering 1, provisioning 2, billing 2) |",
        "| broker restarts | 1 (184 outbox rows replayed) |",
        "| events emitted | 472 (ordering 88, provisioning 208, billing 176) |",
        "| duplicates absorbed | 174 (ordering 96, provisioning 39, billing 39) |",
        "| seconds to converge after the last kill | 30.8 s (10.6 s after it was back) |",
    ):
        assert figure in text


def test_a_file_without_the_markers_is_refused_and_left_alone(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n")
    with pytest.raises(ValueError):
        write_figures(readme, FIGURES)
    assert readme.read_text() == "# Title\n"

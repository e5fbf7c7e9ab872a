"""`csp dead-letters` without a broker: one line naming the broker and the option; a
contradictory choice refused before anything is read. (The real broker's side:
tests/integration/cli/test_dead_letters_cli.py.)"""

from __future__ import annotations

from shared.messaging.embedded_broker import free_port
from tests.unit.cli.conftest import Csp
from tests.unit.cli.test_failures import one_error_line


def test_a_broker_out_of_reach_is_one_line(csp: Csp) -> None:
    bootstrap = f"127.0.0.1:{free_port()}"

    result = csp("dead-letters", "list", env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap})

    assert result.exit_code == 1
    line = one_error_line(result)
    assert f"cannot use the broker at {bootstrap} (KafkaConnectionError" in line
    assert "(--bootstrap / KAFKA_BOOTSTRAP_SERVERS)" in line


def test_the_flag_names_the_broker_for_replay_too(csp: Csp) -> None:
    bootstrap = f"127.0.0.1:{free_port()}"

    result = csp("dead-letters", "replay", "--all", "--yes", "--bootstrap", bootstrap)

    assert result.exit_code == 1
    assert f"cannot use the broker at {bootstrap}" in one_error_line(result)


def test_all_and_a_choice_together_are_refused_before_reading(csp: Csp) -> None:
    # No broker listens there: the refusal comes before any attempt to read.
    bootstrap = f"127.0.0.1:{free_port()}"

    result = csp("dead-letters", "replay", "--all", "--offset", "3", "--bootstrap", bootstrap)

    assert result.exit_code == 2
    assert "--all or a choice (--offset, --event-id), not both" in one_error_line(result)

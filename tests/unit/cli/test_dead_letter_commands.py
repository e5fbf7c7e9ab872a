"""`csp dead-letters list|replay` against a scripted dashboard: what is asked of its API
(`GET /api/dead-letters`, `POST /api/dead-letters/replay`), with the operator credential
and never the partner token; the table, the JSON, the choice by id, event id, prompt or
--all; replays in batches with a progress display; refusals before anything is
published; the dashboard's errors as one line. (End to end against the running system:
tests/e2e/test_cli.py.)"""

from __future__ import annotations

import json
from typing import Any

from tests.unit.cli.conftest import Csp
from tests.unit.cli.scripted_api import ScriptedApi, error
from tests.unit.cli.test_failures import one_error_line

LIST = "/api/dead-letters"
REPLAY = "/api/dead-letters/replay"
DLQ = "provisioning.subscriptions.dlq"
EVENT_A = "6f1c0e38-2d1e-4a51-9a1e-0c6a3f1b2a01"
EVENT_B = "6f1c0e38-2d1e-4a51-9a1e-0c6a3f1b2a02"


def letter(offset: int, event_id: str, subject: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": f"{DLQ}:0:{offset}",
        "topic": DLQ,
        "partition": 0,
        "offset": offset,
        "time": f"2026-11-23T12:00:0{offset}+00:00",
        "eventId": event_id,
        "type": "ActivationCompleted",
        "subject": subject,
        "consumer": "billing.activations",
        "originalTopic": "provisioning.subscriptions",
        "originalPartition": "0",
        "originalOffset": str(offset + 10),
        "error": f"ValueError: cannot read {subject} yet",
        "payload": {"id": event_id, "subject": subject},
        **changes,
    }


LETTERS = [letter(1, EVENT_B, "sub-b"), letter(0, EVENT_A, "sub-a")]  # newest first


def listing(items: list[dict[str, Any]], dropped: int = 0) -> dict[str, Any]:
    return {"totalCount": len(items), "dropped": dropped, "items": items}


def went(item: dict[str, Any], offset: int) -> dict[str, Any]:
    return {
        "id": item["id"],
        "eventId": item["eventId"],
        "type": item["type"],
        "subject": item["subject"],
        "key": item["subject"],
        "originalTopic": item["originalTopic"],
        "partition": 0,
        "offset": offset,
    }


def test_the_list_is_the_dashboards_with_the_ids_replay_takes(
    csp: Csp, dashboard: ScriptedApi, ordering: ScriptedApi
) -> None:
    dashboard.on("GET", LIST, listing(LETTERS))

    result = csp("dead-letters", "list", env={"CSP_DASHBOARD_TOKEN": "operator-secret"})

    assert result.exit_code == 0, result.output
    row_a = next(line for line in result.stdout.splitlines() if EVENT_A in line)
    assert f"{DLQ}:0:0" in row_a
    assert "sub-a" in row_a
    assert "billing.activations" in row_a
    assert "ValueError: cannot read sub-a yet" in row_a
    [call] = dashboard.calls
    assert call.query == {"limit": "1000"}
    assert call.authorization == "Bearer operator-secret"  # never the partner token
    assert ordering.calls == []


def test_the_list_as_json_and_its_filters(csp: Csp, dashboard: ScriptedApi) -> None:
    dashboard.on("GET", LIST, listing(LETTERS))

    result = csp(
        "dead-letters", "list", "--topic", "provisioning.subscriptions", "--service", "billing"
    )
    as_json = csp("dead-letters", "list", "--json")

    assert result.exit_code == 0, result.output
    assert dashboard.calls[0].query == {"topic": DLQ, "service": "billing", "limit": "1000"}
    assert as_json.exit_code == 0, as_json.output
    assert [d["id"] for d in json.loads(as_json.stdout)] == [f"{DLQ}:0:1", f"{DLQ}:0:0"]


def test_an_empty_list_and_what_the_dashboard_no_longer_holds(
    csp: Csp, dashboard: ScriptedApi
) -> None:
    dashboard.on("GET", LIST, listing([], dropped=3))

    result = csp("dead-letters", "list")

    assert result.exit_code == 0
    assert result.stdout.strip() == "no dead letters"
    assert "no longer holds 3 older dead letters" in result.stderr


def test_chosen_ids_and_event_ids_are_replayed_with_the_answer_shown(
    csp: Csp, dashboard: ScriptedApi
) -> None:
    dashboard.on("GET", LIST, listing(LETTERS))
    dashboard.on(
        "POST", REPLAY, {"replayed": [went(LETTERS[0], 41), went(LETTERS[1], 42)], "skipped": []}
    )

    result = csp("dead-letters", "replay", f"{DLQ}:0:0", EVENT_B, "--yes")

    assert result.exit_code == 0, result.output
    [call] = dashboard.calls_to("POST", REPLAY)
    assert call.body == {"ids": [f"{DLQ}:0:1", f"{DLQ}:0:0"]}
    assert (
        f"replayed {DLQ}:0:1 -> provisioning.subscriptions 0:41 key=sub-b "
        f"ActivationCompleted {EVENT_B}"
    ) in result.stdout
    assert "2/2" in result.stderr  # the progress display's last state


def test_many_are_replayed_batch_by_batch(csp: Csp, dashboard: ScriptedApi) -> None:
    many = [letter(n, f"event-{n}", f"sub-{n}") for n in range(45)]
    dashboard.on("GET", LIST, listing(many))
    dashboard.on("POST", REPLAY, {"replayed": [], "skipped": []})

    result = csp("dead-letters", "replay", "--all", "--yes")

    assert result.exit_code == 0, result.output
    sizes = [len(c.body["ids"]) for c in dashboard.calls_to("POST", REPLAY)]
    assert sizes == [20, 20, 5]
    assert "45/45" in result.stderr


def test_the_same_event_dead_lettered_twice_is_replayed_once(
    csp: Csp, dashboard: ScriptedApi
) -> None:
    twice = [letter(1, EVENT_A, "sub-a", consumer="ordering.x"), letter(0, EVENT_A, "sub-a")]
    dashboard.on("GET", LIST, listing(twice))
    dashboard.on("POST", REPLAY, {"replayed": [went(twice[0], 7)], "skipped": []})

    result = csp("dead-letters", "replay", EVENT_A, "--yes")

    assert result.exit_code == 0, result.output
    assert dashboard.calls_to("POST", REPLAY)[0].body == {"ids": [f"{DLQ}:0:1"]}
    assert f"{DLQ}:0:0 is the same event as {DLQ}:0:1: replayed once" in result.stderr


def test_the_operator_picks_at_the_prompt_and_confirms(csp: Csp, dashboard: ScriptedApi) -> None:
    dashboard.on("GET", LIST, listing(LETTERS))
    dashboard.on("POST", REPLAY, {"replayed": [went(LETTERS[1], 3)], "skipped": []})

    result = csp("dead-letters", "replay", input=f"{EVENT_A}\ny\n")

    assert result.exit_code == 0, result.output
    assert dashboard.calls_to("POST", REPLAY)[0].body == {"ids": [f"{DLQ}:0:0"]}


def test_without_a_choice_or_a_confirmation_nothing_is_published(
    csp: Csp, dashboard: ScriptedApi
) -> None:
    dashboard.on("GET", LIST, listing(LETTERS))

    unnamed = csp("dead-letters", "replay", "--yes")
    unconfirmed = csp("dead-letters", "replay", f"{DLQ}:0:0", input="n\n")
    unknown = csp("dead-letters", "replay", f"{DLQ}:0:99", "--yes")
    dry = csp("dead-letters", "replay", "--all", "--dry-run")

    assert unnamed.exit_code == 2
    assert "name what to replay: ids (as listed), event ids or --all" in one_error_line(unnamed)
    assert unconfirmed.exit_code == 1
    assert "Aborted" in unconfirmed.stderr
    assert unknown.exit_code == 2
    assert f"nothing replayed: no dead letter {DLQ}:0:99 among the 2" in one_error_line(unknown)
    assert dry.exit_code == 0
    assert "dry run: nothing published" in dry.stderr
    assert dashboard.calls_to("POST", REPLAY) == []


def test_all_and_ids_together_are_refused_before_asking_anything(
    csp: Csp, dashboard: ScriptedApi
) -> None:
    result = csp("dead-letters", "replay", "--all", f"{DLQ}:0:3")

    assert result.exit_code == 2
    assert "--all or ids, not both" in one_error_line(result)
    assert dashboard.calls == []


def test_the_dashboards_refusal_is_one_line_naming_its_credential(
    csp: Csp, dashboard: ScriptedApi
) -> None:
    dashboard.on("GET", LIST, error(401, "Unauthorized", "wrong operator credential"))

    result = csp("dead-letters", "list", env={"CSP_DASHBOARD_TOKEN": "not-it"})

    assert result.exit_code == 1
    line = one_error_line(result)
    assert "the dashboard answered 401 Unauthorized: wrong operator credential" in line
    assert "(check --dashboard-token / CSP_DASHBOARD_TOKEN)" in line


def test_a_replay_refused_by_the_dashboard_is_one_line(csp: Csp, dashboard: ScriptedApi) -> None:
    dashboard.on("GET", LIST, listing(LETTERS))
    dashboard.on("POST", REPLAY, error(404, "NotFound", "no dead letter x held: nothing replayed"))

    result = csp("dead-letters", "replay", "--all", "--yes")

    assert result.exit_code == 1
    assert "404 NotFound: no dead letter x held: nothing replayed" in one_error_line(result)


def test_a_dashboard_out_of_reach_is_one_line(csp: Csp, nothing_listens: str) -> None:
    result = csp("dead-letters", "list", env={"CSP_DASHBOARD_URL": nothing_listens})

    assert result.exit_code == 1
    line = one_error_line(result)
    assert f"cannot reach the dashboard at {nothing_listens}" in line
    assert "(--dashboard-url / CSP_DASHBOARD_URL)" in line

"""`csp set seats` (the publisher's answer waited for on request) and `csp cancel`
(asked for confirmation unless --yes; at once or at term end, as ordering decides)."""

from __future__ import annotations

import json

from tests.unit.cli import samples as s
from tests.unit.cli.conftest import Csp
from tests.unit.cli.scripted_api import ScriptedApi, error

SUBSCRIPTION = f"/v1/customers/{s.CID}/subscriptions/{s.SID}"
PENDING = {"quantity": 8, "operationId": "op-1"}


def decided(status: str, reason: str | None = None, quantity: int = 8) -> dict:
    last = {
        "operationId": "op-1",
        "quantity": 8,
        "status": status,
        "reason": reason,
        "decidedAt": "2026-11-23T11:00:00Z",
    }
    return s.active(quantity=quantity, lastChange=last)


def test_set_seats_asks_and_says_the_publisher_answers(csp: Csp, ordering: ScriptedApi) -> None:
    ordering.on("PATCH", SUBSCRIPTION, s.active(pendingChange=PENDING))

    result = csp("set", "seats", s.CID, s.SID, "8")

    assert result.exit_code == 0, result.output
    assert [c.body for c in ordering.calls] == [{"quantity": 8}]
    assert "asked the publisher for 8 seats (operation op-1); it keeps 5" in result.stdout
    assert "5 -> 8 asked seats, active" in result.stdout


def test_set_seats_waits_for_the_acceptance(csp: Csp, ordering: ScriptedApi) -> None:
    ordering.on("PATCH", SUBSCRIPTION, s.active(pendingChange=PENDING))
    ordering.on(
        "GET", SUBSCRIPTION, s.active(pendingChange=PENDING), decided("accepted", quantity=8)
    )

    result = csp("set", "seats", s.CID, s.SID, "8", "--wait")

    assert result.exit_code == 0, result.output
    assert "accepted: 8 seats now" in result.stdout
    assert len(ordering.calls_to("GET", SUBSCRIPTION)) == 2
    assert "waiting for the publisher's answer" in result.stderr


def test_a_rejection_is_a_failure_with_the_publishers_reason(
    csp: Csp, ordering: ScriptedApi
) -> None:
    ordering.on("PATCH", SUBSCRIPTION, s.active(pendingChange=PENDING))
    ordering.on("GET", SUBSCRIPTION, decided("rejected", "no capacity", quantity=5))

    result = csp("set", "seats", s.CID, s.SID, "8", "--wait")

    assert result.exit_code == 1
    assert "the publisher rejected 8 seats. " in result.stdout
    assert result.stderr.strip().endswith(
        "error: the publisher rejected the change to 8 seats: no capacity"
    )


def test_no_answer_in_time_is_exit_3(csp: Csp, ordering: ScriptedApi) -> None:
    ordering.on("PATCH", SUBSCRIPTION, s.active(pendingChange=PENDING))
    ordering.on("GET", SUBSCRIPTION, s.active(pendingChange=PENDING))

    result = csp("set", "seats", s.CID, s.SID, "8", "--wait", "--timeout", "0.3")

    assert result.exit_code == 3
    assert "error: no answer from the publisher within 0.3 s" in result.stderr


def test_the_seats_it_has_already_change_nothing(csp: Csp, ordering: ScriptedApi) -> None:
    ordering.on("PATCH", SUBSCRIPTION, s.active())

    result = csp("set", "seats", s.CID, s.SID, "5", "--wait", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["quantity"] == 5
    assert "already 5 seats: nothing changed" in result.stderr
    assert ordering.calls_to("GET", SUBSCRIPTION) == []


def test_a_refused_change_is_the_apis_409(csp: Csp, ordering: ScriptedApi) -> None:
    message = "a seat change is only possible while active (it is pending)"
    ordering.on("PATCH", SUBSCRIPTION, error(409, "Conflict", message, "quantity"))

    result = csp("set", "seats", s.CID, s.SID, "8")

    assert result.exit_code == 1
    assert f"409 Conflict: {message} (target: quantity)" in result.stderr


def test_cancel_within_the_window_ends_it_now(csp: Csp, ordering: ScriptedApi) -> None:
    ordering.on("GET", SUBSCRIPTION, s.active())
    ordering.on("PATCH", SUBSCRIPTION, s.active(status="deleted"))

    result = csp("cancel", s.CID, s.SID, "--yes")

    assert result.exit_code == 0, result.output
    assert ordering.calls_to("PATCH", SUBSCRIPTION)[0].body == {"status": "deleted"}
    assert "cancelled now: its charges are reversed by a credit note" in result.stdout


def test_cancel_after_the_window_is_scheduled(csp: Csp, ordering: ScriptedApi) -> None:
    ordering.on("GET", SUBSCRIPTION, s.active())
    ordering.on("PATCH", SUBSCRIPTION, s.active(autoRenewEnabled=False))

    result = csp("cancel", s.CID, s.SID, "--yes")

    assert result.exit_code == 0, result.output
    assert (
        "cancellation scheduled: it stays active until its term ends (2026-12-22), "
        "auto-renew is off, nothing is refunded" in result.stdout
    )


def test_cancel_asks_first_and_a_no_changes_nothing(csp: Csp, ordering: ScriptedApi) -> None:
    ordering.on("GET", SUBSCRIPTION, s.active())

    declined = csp("cancel", s.CID, s.SID, input="n\n")
    no_stdin = csp("cancel", s.CID, s.SID)

    for result in (declined, no_stdin):
        assert result.exit_code == 1
        assert "Cancel CRM for sales" in result.stdout
        assert "Aborted" in result.stderr
    assert ordering.calls_to("PATCH", SUBSCRIPTION) == []


def test_cancel_confirmed_at_the_prompt(csp: Csp, ordering: ScriptedApi) -> None:
    ordering.on("GET", SUBSCRIPTION, s.subscription())
    ordering.on("PATCH", SUBSCRIPTION, s.subscription(status="deleted"))

    result = csp("cancel", s.CID, s.SID, input="y\n")

    assert result.exit_code == 0, result.output
    assert "cancelled now: nothing was charged" in result.stdout


def test_cancelling_a_cancelled_one_changes_nothing(csp: Csp, ordering: ScriptedApi) -> None:
    ordering.on("GET", SUBSCRIPTION, s.active(status="deleted"))

    result = csp("cancel", s.CID, s.SID)

    assert result.exit_code == 0, result.output
    assert "already cancelled: nothing changed" in result.stdout
    assert ordering.calls_to("PATCH", SUBSCRIPTION) == []

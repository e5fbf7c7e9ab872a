"""The partner's changes as the Subscription aggregate rules them (no I/O): every rule
of docs/subscription-lifecycle.md's PATCH table, allowed and refused, and the request
event each change records."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.ordering.domain.events import (
    CancellationRequested,
    QuantityChangeRequested,
    ReinstatementRequested,
    SubscriptionDetailsChanged,
    SuspensionRequested,
)
from services.ordering.domain.subscription import LastChange, PendingChange, Subscription
from services.ordering.domain.subscription_changes import ChangeRequest, SubscriptionChanges
from shared.catalog import Plan, Price
from shared.errors import Conflict, RuleBroken

PURCHASED_AT = datetime(2030, 1, 31, 12, 0, tzinfo=UTC)
REFUNDABLE_UNTIL = PURCHASED_AT + timedelta(days=14)  # annual billing: P14D
NOW = PURCHASED_AT + timedelta(days=3)  # inside the window
PLAN = Plan(
    plan_id="standard",
    name="Standard",
    currency="USD",
    min_quantity=1,
    max_quantity=500,
    prices=[Price(term_duration="P1Y", billing_cycle="annual", price_per_seat="100.00")],
)


def subscription(**overrides: Any) -> Subscription:
    """Active, 5 seats, auto-renew on, no reseller, bought at PURCHASED_AT."""
    fields: dict[str, Any] = {
        "id": "sub-1",
        "csp_partner_id": "partner-a",
        "customer_id": "c",
        "order_id": "o",
        "line_item_number": 0,
        "offer_id": "contoso-crm",
        "plan_id": "standard",
        "publisher_id": "contoso",
        "friendly_name": "CRM",
        "quantity": 5,
        "status": "active",
        "auto_renew_enabled": True,
        "reseller_mpn_id": None,
        "term_duration": "P1Y",
        "billing_cycle": "annual",
        "currency": "USD",
        "price_per_seat_minor": 10000,
        "creation_date": PURCHASED_AT,
        "refundable_until": REFUNDABLE_UNTIL,
        "correlation_id": "corr-1",
    }
    return Subscription.model_validate({**fields, **overrides})


def request(at: datetime = NOW) -> ChangeRequest:
    """Asked by alice at `at`; operation ids op-1, op-2, ... in the order they are taken."""
    numbers = itertools.count(1)
    return ChangeRequest("alice", at, lambda: f"op-{next(numbers)}")


def change(sub: Subscription, at: datetime = NOW, plan: Plan | None = PLAN, **fields: Any) -> None:
    sub.change(SubscriptionChanges(**fields), plan, request(at))


def refused(
    kind: type[Exception], sub: Subscription, target: str, at: datetime = NOW, **fields: Any
) -> str:
    """Asserts the change is refused with `kind` naming `target`, and that the
    subscription is exactly as before, with no event; returns the message."""
    before = sub.model_dump()
    with pytest.raises(kind) as raised:
        change(sub, at, **fields)
    assert raised.value.target == target  # type: ignore[attr-defined]
    assert sub.model_dump() == before
    assert sub.events == []
    return str(raised.value)


REQUESTED = {"subscription_id": "sub-1", "requested_by": "alice", "requested_at": NOW}


# --- nickname, reseller, auto-renew: at once, one SubscriptionDetailsChanged


def test_details_change_at_once_and_record_all_three_as_they_now_stand() -> None:
    sub = subscription()
    change(sub, friendly_name="  Sales team  ", reseller_mpn_id="1234567")

    assert (sub.friendly_name, sub.reseller_mpn_id, sub.auto_renew_enabled) == (
        "Sales team",
        "1234567",
        True,
    )
    assert sub.events == [
        SubscriptionDetailsChanged(
            **REQUESTED,
            operation_id="op-1",
            friendly_name="Sales team",
            reseller_mpn_id="1234567",
            auto_renew_enabled=True,
        )
    ]


@pytest.mark.parametrize("name", ["x", "n" * 128, "  padded to fit  " + "n" * 111])
def test_a_friendly_name_of_1_to_128_characters_after_trimming_is_taken(name: str) -> None:
    sub = subscription()
    change(sub, friendly_name=name)
    assert sub.friendly_name == name.strip()


@pytest.mark.parametrize("name", ["", "   ", "n" * 129, 42, None])
def test_a_blank_too_long_or_non_text_friendly_name_is_refused(name: Any) -> None:
    message = refused(RuleBroken, subscription(), "friendlyName", friendly_name=name)
    assert "friendlyName" in message


@pytest.mark.parametrize("mpn_id", ["7", "0", "1234567890", "0012345678"])
def test_an_mpn_id_of_1_to_10_digits_is_taken(mpn_id: str) -> None:
    sub = subscription()
    change(sub, reseller_mpn_id=mpn_id)
    assert sub.reseller_mpn_id == mpn_id
    assert [type(e) for e in sub.events] == [SubscriptionDetailsChanged]


@pytest.mark.parametrize(
    "mpn_id",
    ["", "12345678901", "12a45", "MPN-42", " 123", "١٢٣", 4711],  # 0 / 11 digits, not digits
)
def test_an_mpn_id_of_0_or_11_digits_or_not_digits_is_refused(mpn_id: Any) -> None:
    message = refused(RuleBroken, subscription(), "partnerId", reseller_mpn_id=mpn_id)
    assert "partnerId" in message and "1 to 10 digits" in message


def test_a_null_mpn_id_clears_it() -> None:
    sub = subscription(reseller_mpn_id="4711")
    change(sub, reseller_mpn_id=None)
    assert sub.reseller_mpn_id is None
    [event] = sub.events
    assert isinstance(event, SubscriptionDetailsChanged) and event.reseller_mpn_id is None


def test_auto_renew_turns_off_and_on() -> None:
    sub = subscription()
    change(sub, auto_renew_enabled=False)
    change(sub, auto_renew_enabled=True)
    assert sub.auto_renew_enabled is True
    assert [e.auto_renew_enabled for e in sub.events] == [False, True]  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["false", 0, None])
def test_auto_renew_must_be_a_boolean(value: Any) -> None:
    refused(RuleBroken, subscription(), "autoRenewEnabled", auto_renew_enabled=value)


@pytest.mark.parametrize(
    "fields",
    [
        {"friendly_name": "CRM"},
        {"friendly_name": "  CRM "},  # the same once trimmed
        {"reseller_mpn_id": None},
        {"auto_renew_enabled": True},
        {"quantity": 5},
        {"status": "active"},
        {"friendly_name": "CRM", "reseller_mpn_id": None, "auto_renew_enabled": True},
    ],
)
def test_the_same_value_again_changes_nothing_and_records_nothing(fields: dict[str, Any]) -> None:
    sub = subscription()
    before = sub.model_dump()
    change(sub, **fields)
    assert sub.model_dump() == before
    assert sub.events == []


@pytest.mark.parametrize("status", ["pending", "suspended"])
def test_details_change_in_any_state_but_deleted(status: str) -> None:
    sub = subscription(status=status)
    change(sub, friendly_name="New", reseller_mpn_id="42", auto_renew_enabled=False)
    assert (sub.friendly_name, sub.reseller_mpn_id, sub.auto_renew_enabled) == ("New", "42", False)


def test_a_deleted_subscription_takes_a_new_nickname_but_nothing_else() -> None:
    sub = subscription(status="deleted")
    change(sub, friendly_name="Archived")
    assert sub.friendly_name == "Archived"
    assert [type(e) for e in sub.events] == [SubscriptionDetailsChanged]

    deleted = subscription(status="deleted")
    assert "deleted" in refused(Conflict, deleted, "partnerId", reseller_mpn_id="42")
    refused(Conflict, deleted, "autoRenewEnabled", auto_renew_enabled=False)
    refused(Conflict, deleted, "quantity", quantity=6)
    refused(Conflict, deleted, "status", status="suspended")
    refused(Conflict, deleted, "status", status="active")


def test_deleting_a_deleted_subscription_again_changes_nothing() -> None:
    sub = subscription(status="deleted")
    change(sub, status="deleted")
    assert sub.events == []


# --- seats: asked of the publisher, pending until its answer


def test_a_seat_change_is_pending_and_the_quantity_stays_until_the_publisher_answers() -> None:
    sub = subscription()
    change(sub, quantity=8)

    assert sub.quantity == 5
    assert sub.pending_change == PendingChange(quantity=8, operation_id="op-1")
    assert sub.events == [
        QuantityChangeRequested(**REQUESTED, operation_id="op-1", quantity=8, previous_quantity=5)
    ]


@pytest.mark.parametrize("quantity", [1, 2, 499, 500])
def test_seats_within_the_plans_limits_are_asked_for(quantity: int) -> None:
    sub = subscription()
    change(sub, quantity=quantity)
    assert sub.pending_change is not None and sub.pending_change.quantity == quantity


@pytest.mark.parametrize("quantity", [0, 501, -1])
def test_seats_beyond_the_plans_limits_are_refused(quantity: int) -> None:
    message = refused(RuleBroken, subscription(), "quantity", quantity=quantity)
    assert "between 1 and 500" in message


@pytest.mark.parametrize("quantity", ["8", 8.0, True, None])
def test_seats_must_be_an_integer(quantity: Any) -> None:
    refused(RuleBroken, subscription(), "quantity", quantity=quantity)


def test_a_second_seat_change_while_one_is_pending_is_a_conflict() -> None:
    sub = subscription(pending_change={"quantity": 8, "operation_id": "op-0"})
    message = refused(Conflict, sub, "quantity", quantity=9)
    assert "pending" in message and "op-0" in message


def test_asking_again_for_the_seats_pending_changes_nothing() -> None:
    """A client retrying a PATCH whose answer it lost gets 200, not a conflict."""
    sub = subscription(pending_change={"quantity": 8, "operation_id": "op-0"})
    change(sub, quantity=8)
    assert sub.pending_change == PendingChange(quantity=8, operation_id="op-0")
    assert sub.events == []


@pytest.mark.parametrize("status", ["pending", "suspended", "deleted"])
def test_seats_change_only_while_active(status: str) -> None:
    message = refused(Conflict, subscription(status=status), "quantity", quantity=8)
    assert f"it is {status}" in message


def test_seats_cannot_be_judged_when_the_catalog_no_longer_sells_the_plan() -> None:
    sub = subscription()
    with pytest.raises(Conflict):
        change(sub, plan=None, quantity=8)
    assert sub.pending_change is None and sub.events == []


# --- suspend and reactivate


def test_an_active_subscription_is_suspended_at_once() -> None:
    sub = subscription()
    change(sub, status="suspended")
    assert sub.status == "suspended"
    assert sub.events == [SuspensionRequested(**REQUESTED, operation_id="op-1")]


@pytest.mark.parametrize("status", ["pending", "deleted"])
def test_only_an_active_subscription_is_suspended(status: str) -> None:
    message = refused(Conflict, subscription(status=status), "status", status="suspended")
    assert "only an active subscription can be suspended" in message


def test_no_suspension_while_a_seat_change_is_pending() -> None:
    sub = subscription(pending_change={"quantity": 8, "operation_id": "op-0"})
    refused(Conflict, sub, "status", status="suspended")


def test_a_suspended_subscription_is_reactivated_at_once() -> None:
    sub = subscription(status="suspended")
    change(sub, status="active")
    assert sub.status == "active"
    assert sub.events == [ReinstatementRequested(**REQUESTED, operation_id="op-1")]


@pytest.mark.parametrize("status", ["pending", "deleted"])
def test_only_a_suspended_subscription_is_reactivated(status: str) -> None:
    message = refused(Conflict, subscription(status=status), "status", status="active")
    assert "only a suspended subscription can be reactivated" in message


def test_suspending_a_suspended_subscription_again_changes_nothing() -> None:
    sub = subscription(status="suspended")
    change(sub, status="suspended")
    assert sub.events == []


# --- cancel: immediate inside the refund window, scheduled from its end on


@pytest.mark.parametrize("status", ["active", "suspended"])
def test_cancelling_a_second_before_the_window_ends_is_immediate(status: str) -> None:
    sub = subscription(status=status)
    at = REFUNDABLE_UNTIL - timedelta(seconds=1)
    change(sub, at, status="deleted")

    assert (sub.status, sub.auto_renew_enabled) == ("deleted", True)
    assert sub.events == [
        CancellationRequested(
            **{**REQUESTED, "requested_at": at}, operation_id="op-1", immediate=True
        )
    ]


@pytest.mark.parametrize("after", [timedelta(0), timedelta(seconds=1), timedelta(days=200)])
@pytest.mark.parametrize("status", ["active", "suspended"])
def test_cancelling_from_the_windows_end_on_is_scheduled(status: str, after: timedelta) -> None:
    sub = subscription(status=status)
    at = REFUNDABLE_UNTIL + after
    change(sub, at, status="deleted")

    assert (sub.status, sub.auto_renew_enabled) == (status, False)  # ends at term end
    assert sub.events == [
        CancellationRequested(
            **{**REQUESTED, "requested_at": at}, operation_id="op-1", immediate=False
        )
    ]


def test_cancelling_a_subscription_never_activated_is_immediate_even_after_the_window() -> None:
    sub = subscription(status="pending", action_needed=True)
    change(sub, REFUNDABLE_UNTIL + timedelta(days=30), status="deleted")
    assert (sub.status, sub.action_needed) == ("deleted", False)
    assert [e.immediate for e in sub.events] == [True]  # type: ignore[attr-defined]


def test_no_cancellation_while_a_seat_change_is_pending() -> None:
    sub = subscription(pending_change={"quantity": 8, "operation_id": "op-0"})
    refused(Conflict, sub, "status", status="deleted")


def test_turning_auto_renew_back_on_undoes_a_scheduled_cancellation() -> None:
    sub = subscription()
    after_window = REFUNDABLE_UNTIL + timedelta(days=1)
    change(sub, after_window, status="deleted")
    change(sub, after_window, auto_renew_enabled=True)

    assert (sub.status, sub.auto_renew_enabled) == ("active", True)
    assert [type(e) for e in sub.events] == [CancellationRequested, SubscriptionDetailsChanged]


def test_a_cancellation_cannot_also_turn_auto_renew_on() -> None:
    refused(
        RuleBroken,
        subscription(),
        "autoRenewEnabled",
        at=REFUNDABLE_UNTIL,
        status="deleted",
        auto_renew_enabled=True,
    )


@pytest.mark.parametrize("status", ["pending", "removed", "Active", None, 1])
def test_an_unknown_target_status_is_refused(status: Any) -> None:
    refused(RuleBroken, subscription(), "status", status=status)


# --- one PATCH: all or nothing


def test_nothing_named_is_refused() -> None:
    sub = subscription()
    with pytest.raises(RuleBroken, match="nothing to change"):
        change(sub)
    assert sub.events == []


@pytest.mark.parametrize(
    ("fields", "kind", "target"),
    [
        ({"friendly_name": "New", "quantity": 501}, RuleBroken, "quantity"),
        ({"friendly_name": "New", "reseller_mpn_id": "x"}, RuleBroken, "partnerId"),
        # the details and the status would pass alone; the seats then see them suspended
        ({"auto_renew_enabled": False, "status": "suspended", "quantity": 8}, Conflict, "quantity"),
        # ...or deleted (cancelled inside the window)
        ({"reseller_mpn_id": "42", "status": "deleted", "quantity": 8}, Conflict, "quantity"),
        # every value rule (400) is checked before any rule of state (409)
        ({"status": "active", "friendly_name": ""}, RuleBroken, "friendlyName"),
    ],
)
def test_one_broken_rule_changes_nothing_and_records_nothing(
    fields: dict[str, Any], kind: type[Exception], target: str
) -> None:
    refused(kind, subscription(), target, **fields)


def test_each_request_of_one_patch_carries_its_own_operation_id() -> None:
    sub = subscription(status="suspended")
    change(sub, friendly_name="Back", status="active", quantity=9)  # reactivated, then seats

    assert [(type(e), e.operation_id) for e in sub.events] == [  # type: ignore[attr-defined]
        (SubscriptionDetailsChanged, "op-1"),
        (ReinstatementRequested, "op-2"),
        (QuantityChangeRequested, "op-3"),
    ]
    assert (sub.status, sub.quantity, sub.pending_change) == (
        "active",
        5,
        PendingChange(quantity=9, operation_id="op-3"),
    )


def test_a_scheduled_cancellation_leaves_seats_changeable_until_term_end() -> None:
    sub = subscription()
    change(sub, REFUNDABLE_UNTIL, status="deleted", quantity=3)
    assert (sub.status, sub.auto_renew_enabled) == ("active", False)
    assert sub.pending_change is not None and sub.pending_change.quantity == 3


# --- provisioning's decisions about a seat change, into the view (no events)

DECIDED_AT = NOW + timedelta(seconds=10)


def pending(operation_id: str = "op-1", quantity: int = 8) -> Subscription:
    return subscription(pending_change={"quantity": quantity, "operation_id": operation_id})


def test_an_accepted_seat_change_sets_the_quantity_and_clears_the_pending_change() -> None:
    sub = pending()
    assert sub.record_quantity_accepted("op-1", 8, DECIDED_AT)
    assert (sub.quantity, sub.pending_change) == (8, None)
    assert sub.last_change == LastChange(
        operation_id="op-1", quantity=8, status="accepted", decided_at=DECIDED_AT
    )
    assert sub.events == []

    before = sub.model_dump()
    assert sub.record_quantity_accepted("op-1", 8, DECIDED_AT)  # the same fact again
    assert sub.model_dump() == before


def test_a_rejected_seat_change_keeps_the_quantity_and_says_why() -> None:
    sub = pending()
    assert sub.record_quantity_rejected("op-1", 8, DECIDED_AT, "licence pool exhausted")
    assert (sub.quantity, sub.pending_change) == (5, None)
    assert sub.last_change == LastChange(
        operation_id="op-1",
        quantity=8,
        status="rejected",
        reason="licence pool exhausted",
        decided_at=DECIDED_AT,
    )


def test_a_decision_about_another_change_than_the_pending_one_changes_nothing() -> None:
    sub = pending("op-2", 9)
    before = sub.model_dump()
    assert not sub.record_quantity_accepted("op-1", 8, DECIDED_AT)
    assert not sub.record_quantity_rejected("op-1", 8, DECIDED_AT, "late")
    assert sub.model_dump() == before


def test_an_older_decision_replayed_after_a_newer_one_changes_nothing() -> None:
    sub = pending("op-1", 8)
    sub.record_quantity_accepted("op-1", 8, DECIDED_AT)
    sub.pending_change = PendingChange(quantity=6, operation_id="op-2")
    sub.record_quantity_accepted("op-2", 6, DECIDED_AT)

    assert not sub.record_quantity_accepted("op-1", 8, DECIDED_AT)
    assert sub.quantity == 6 and sub.last_change is not None
    assert sub.last_change.operation_id == "op-2"


def test_a_decision_ordering_never_asked_for_is_followed() -> None:
    """Provisioning is the authority on seats; a view that knows of no change takes it."""
    sub = subscription()
    assert sub.record_quantity_accepted("op-x", 7, DECIDED_AT)
    assert sub.quantity == 7


def test_a_renewal_moves_the_commitment_end_forward_only() -> None:
    sub = subscription()
    sub.record_renewal(datetime(2032, 2, 2, 12, tzinfo=UTC))
    assert sub.commitment_end_date is not None
    assert sub.commitment_end_date.isoformat() == "2032-02-01"
    sub.record_renewal(datetime(2031, 2, 2, 12, tzinfo=UTC))  # an older renewal replayed
    assert sub.commitment_end_date.isoformat() == "2032-02-01"


def test_the_end_deletes_it_and_asks_for_no_action() -> None:
    sub = subscription(status="pending", action_needed=True)
    sub.record_end()
    assert (sub.status, sub.action_needed) == ("deleted", False)


def test_a_scheduled_cancellation_turns_auto_renew_off_unless_turned_on_since() -> None:
    sub = subscription()
    after_window = REFUNDABLE_UNTIL + timedelta(days=1)
    sub.change(SubscriptionChanges(status="deleted"), PLAN, request(after_window))  # op-1
    assert sub.record_cancellation_scheduled("op-1")
    assert sub.auto_renew_enabled is False

    sub.change(
        SubscriptionChanges(auto_renew_enabled=True),
        PLAN,
        ChangeRequest("alice", after_window, lambda: "op-2"),
    )
    assert not sub.record_cancellation_scheduled("op-1")  # arrived after the partner undid it
    assert sub.auto_renew_enabled is True


def test_a_scheduled_cancellation_ordering_never_asked_for_is_followed() -> None:
    sub = subscription()
    assert sub.record_cancellation_scheduled("op-x")
    assert sub.auto_renew_enabled is False

"""The Operation aggregate and the subscription's state machine, without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.provisioning.domain.commands import ProvisionPurchase
from services.provisioning.domain.events import SubscriptionRenewed
from services.provisioning.domain.model import SaasSubscription, WrongState
from services.provisioning.domain.operations import (
    MAX_ATTEMPTS,
    Operation,
    OperationNotInProgress,
    retry_delay,
    term_end_operation_id,
)
from shared.errors import Conflict
from tests.unit.provisioning.support import T0, purchase


def subscription(**overrides: object) -> SaasSubscription:
    """Activated at T0 (a Jan 31 monthly term), as the aggregate stores it."""
    data = purchase(**overrides).data  # type: ignore[arg-type]
    command = ProvisionPurchase(
        **{
            name: getattr(data, name)
            for name in ProvisionPurchase.__dataclass_fields__
            if hasattr(data, name)
        },
        price_per_seat_minor=1000,
        auto_renew=data.auto_renew_enabled,
        correlation_id="c",
    )
    sub = SaasSubscription.purchased(command, link="l", token_expires_at=T0, now=T0)
    sub.status, sub.term_start, sub.first_term_start = "Subscribed", T0, T0
    sub.term_end = datetime(2025, 2, 28, 9, 30, tzinfo=UTC)
    sub.take_events()
    return sub


def seat_change(sub: SaasSubscription) -> Operation:
    return sub.request_quantity_change(
        str(uuid.uuid4()), 8, T0, deadline=T0 + timedelta(seconds=10), pending=[]
    )


def test_retries_wait_2_4_8_seconds_and_never_more_than_5_minutes() -> None:
    delays = [retry_delay(n).total_seconds() for n in range(1, 11)]
    assert delays == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


def test_an_attempt_is_recorded_once_and_the_eighth_failure_gives_up() -> None:
    operation = seat_change(subscription())
    for attempt in range(1, MAX_ATTEMPTS):
        assert operation.record_attempt(attempt, "failed", "HTTP 500", T0)
        assert not operation.record_attempt(attempt, "failed", "HTTP 500", T0)  # stale
        assert operation.delivery_state == "pending"
    assert operation.record_attempt(MAX_ATTEMPTS, "failed", "HTTP 500", T0)
    assert (operation.delivery_state, operation.next_attempt_at) == ("gaveUp", None)
    assert not operation.record_attempt(MAX_ATTEMPTS + 1, "delivered", "HTTP 200", T0)


def test_renewal_and_expiry_ids_are_derived_from_the_subscription_and_the_term_end() -> None:
    end = datetime(2025, 2, 28, 9, 30, tzinfo=UTC)
    same_instant = end.astimezone(timezone(timedelta(hours=2)))  # 11:30 at UTC+2
    assert term_end_operation_id("s1", end) == term_end_operation_id("s1", same_instant)
    assert term_end_operation_id("s1", end) != term_end_operation_id("s2", end)
    assert term_end_operation_id("s1", end) != term_end_operation_id("s1", end + timedelta(days=1))
    assert uuid.UUID(term_end_operation_id("s1", end)).version == 5


def test_a_decided_operation_cannot_be_decided_again() -> None:
    sub = subscription()
    operation = seat_change(sub)
    sub.accept_quantity_change(operation, "publisher", T0)
    with pytest.raises(OperationNotInProgress) as refused:
        sub.reject_quantity_change(operation, "too late", T0)
    assert isinstance(refused.value, Conflict)
    assert sub.quantity == 8


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        ("Subscribed", {"suspend", "cancel_now", "schedule"}),
        ("Suspended", {"reinstate", "cancel_now", "schedule"}),
        ("PendingFulfillmentStart", {"cancel_now"}),
        ("Unsubscribed", set()),
    ],
)
def test_which_change_each_state_allows(status: str, allowed: set[str]) -> None:
    changes = {
        "suspend": lambda s: s.suspend("op", T0, pending=[]),
        "reinstate": lambda s: s.reinstate("op", T0),
        "cancel_now": lambda s: s.cancel_now("op", T0, pending=[]),
        "schedule": lambda s: s.schedule_cancellation("op"),
    }
    for name, change in changes.items():
        sub = subscription()
        sub.status = status  # type: ignore[assignment]
        if name in allowed:
            change(sub)
            assert sub.events, name
        else:
            with pytest.raises(WrongState):
                change(sub)
            assert sub.events == [] and sub.status == status, name


def test_terms_are_counted_from_the_first_start_across_renewals() -> None:
    sub = subscription(term_duration="P1M")
    ends = []
    for month in range(12):
        sub.end_terms(sub.term_end, pending=[])  # type: ignore[arg-type]
        ends.append(sub.term_end)
        assert month + 1 == sub.term_number
    assert [end.day for end in ends if end is not None] == [
        31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 28  # Mar 2025 .. Feb 2026
    ]  # fmt: skip
    renewals = [e for e in sub.events if isinstance(e, SubscriptionRenewed)]
    assert len(renewals) == 12
    assert all(a.term_end == b.term_start for a, b in zip(renewals, renewals[1:], strict=False))

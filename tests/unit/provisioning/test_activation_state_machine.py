"""The activation state machine: licenses AND confirmation, either order, exactly once.

Tests the aggregate alone: each step's outcome is what it recorded (`subscription.events`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.provisioning.domain.commands import ProvisionPurchase
from services.provisioning.domain.events import (
    ActivationCompleted,
    ActivationLinkIssued,
    LicensesAssigned,
)
from services.provisioning.domain.licenses import LicenseAssignment
from services.provisioning.domain.model import SaasSubscription
from shared.domain import DomainEvent
from shared.errors import RuleBroken

T0 = datetime(2025, 1, 31, 9, 30, tzinfo=UTC)
LATER = T0 + timedelta(hours=2)


def purchase(quantity: int = 3, term: str = "P1M") -> ProvisionPurchase:
    return ProvisionPurchase(
        subscription_id="sub-1",
        publisher_id="contoso",
        offer_id="contoso-crm",
        offer_name="Contoso CRM",
        plan_id="standard",
        plan_name="Standard",
        quantity=quantity,
        term_duration=term,
        billing_cycle="monthly",
        currency="USD",
        price_per_seat_minor=1000,
        friendly_name="CRM",
        csp_partner_id="partner-1",
        customer_id="cust-1",
        customer_name="Adatum",
        purchased_by="alice",
        order_id="order-1",
        line_item_number=0,
        reseller_mpn_id=None,
        auto_renew=True,
        purchased_at=T0,
        refundable_until=T0 + timedelta(days=1),
        correlation_id="corr-1",
    )


def pending(quantity: int = 3, term: str = "P1M") -> SaasSubscription:
    """A purchased subscription whose ActivationLinkIssued is already taken."""
    sub = SaasSubscription.purchased(
        purchase(quantity, term),
        link="https://x.example/?token=t",
        token_expires_at=T0 + timedelta(days=7),
        now=T0,
    )
    sub.take_events()
    return sub


def recorded(sub: SaasSubscription) -> list[DomainEvent]:
    """What the subscription recorded since the last call (as a commit would take it)."""
    return [event for _, event in sub.take_events()]


def users(*ids: str) -> list[LicenseAssignment]:
    return [LicenseAssignment(user_id=i, email=f"{i}@customer.example") for i in ids]


def test_a_purchase_is_pending_with_its_link_issued() -> None:
    sub = SaasSubscription.purchased(
        purchase(quantity=7), link="https://x.example/?token=t", token_expires_at=LATER, now=T0
    )
    assert sub.events == [ActivationLinkIssued("sub-1", "https://x.example/?token=t", LATER)]
    assert (sub.id, sub.status, sub.quantity, sub.created) == (
        "sub-1",
        "PendingFulfillmentStart",
        7,
        T0,
    )
    assert (sub.price_per_seat_minor, sub.correlation_id) == (1000, "corr-1")


def test_licenses_then_activate_completes_on_the_activate() -> None:
    sub = pending()
    sub.assign_licenses(users("u1", "u2"), T0)
    assert recorded(sub) == [LicensesAssigned("sub-1", 2, 3)]
    assert sub.status == "PendingFulfillmentStart"

    sub.confirm_activation("standard", 3, LATER)

    (done,) = sub.events
    end = datetime(2025, 2, 28, 11, 30, tzinfo=UTC)  # Jan 31 + P1M clamps; exclusive
    assert isinstance(done, ActivationCompleted)
    assert (done.licenses_assigned, done.term_start, done.term_end) == (2, LATER, end)
    assert (done.price_per_seat_minor, done.currency, done.auto_renew) == (1000, "USD", True)
    assert (done.subscription_id, done.publisher_id, done.quantity) == ("sub-1", "contoso", 3)
    assert sub.status == "Subscribed"
    assert (sub.term_start, sub.term_end) == (LATER, end)


def test_activate_then_licenses_completes_on_the_licenses() -> None:
    sub = pending()
    sub.confirm_activation("standard", 3, T0)
    assert sub.events == []
    assert sub.activation_confirmed and sub.status == "PendingFulfillmentStart"

    sub.assign_licenses(users("u1"), LATER)

    changed, done = sub.events
    assert changed == LicensesAssigned("sub-1", 1, 3)
    assert isinstance(done, ActivationCompleted) and done.term_start == LATER
    assert sub.status == "Subscribed"


def test_annual_term_ends_exclusively_at_the_anniversary() -> None:
    sub = pending(term="P1Y")
    sub.assign_licenses(users("u1"), T0)
    recorded(sub)
    sub.confirm_activation("standard", 3, T0)
    (done,) = sub.events
    assert isinstance(done, ActivationCompleted)
    assert done.term_end == datetime(2026, 1, 31, 9, 30, tzinfo=UTC)


def test_licenses_alone_never_complete() -> None:
    sub = pending()
    sub.assign_licenses(users("u1"), T0)
    sub.assign_licenses(users("u1", "u2"), T0)
    assert sub.status == "PendingFulfillmentStart" and sub.term_start is None
    assert not any(isinstance(e, ActivationCompleted) for e in sub.events)


def test_activation_alone_never_completes() -> None:
    sub = pending()
    sub.confirm_activation("standard", 3, T0)
    sub.confirm_activation("standard", 3, LATER)
    assert sub.events == []
    assert sub.status == "PendingFulfillmentStart" and sub.term_start is None


def test_repeated_activate_while_waiting_for_licenses_keeps_the_first_confirmation() -> None:
    sub = pending()
    sub.confirm_activation("standard", 3, T0)
    sub.confirm_activation("standard", 3, LATER)
    assert sub.activation_confirmed_at == T0


def test_same_license_set_again_changes_nothing() -> None:
    sub = pending()
    sub.assign_licenses(users("u1", "u2"), T0)
    recorded(sub)
    sub.assign_licenses(users("u2", "u1"), LATER)  # order does not matter
    assert sub.events == []


def test_licenses_retry_after_completion_records_nothing_more() -> None:
    sub = pending()
    sub.assign_licenses(users("u1"), T0)
    sub.confirm_activation("standard", 3, T0)
    recorded(sub)
    sub.assign_licenses(users("u1"), LATER)
    assert sub.events == []
    assert sub.term_start == T0


def test_changing_licenses_after_completion_reports_only_the_new_count() -> None:
    sub = pending()
    sub.confirm_activation("standard", 3, T0)
    sub.assign_licenses(users("u1"), T0)
    recorded(sub)
    sub.assign_licenses(users("u1", "u2", "u3"), LATER)
    assert sub.events == [LicensesAssigned("sub-1", 3, 3)]
    assert sub.term_start == T0 and sub.status == "Subscribed"


def test_activate_after_completion_is_refused() -> None:
    sub = pending()
    sub.assign_licenses(users("u1"), T0)
    sub.confirm_activation("standard", 3, T0)
    recorded(sub)
    with pytest.raises(RuleBroken, match="already activated"):
        sub.confirm_activation("standard", 3, LATER)
    assert sub.events == []


@pytest.mark.parametrize(
    ("plan_id", "quantity", "target"),
    [("premium", 3, "planId"), ("standard", 4, "quantity"), ("standard", 2, "quantity")],
)
def test_activate_with_another_plan_or_quantity_is_refused_naming_the_field(
    plan_id: str, quantity: int, target: str
) -> None:
    sub = pending()
    with pytest.raises(RuleBroken) as refused:
        sub.confirm_activation(plan_id, quantity, T0)
    assert refused.value.target == target
    assert not sub.activation_confirmed


def test_mismatched_activate_does_not_complete_even_with_licenses() -> None:
    sub = pending()
    sub.assign_licenses(users("u1"), T0)
    with pytest.raises(RuleBroken):
        sub.confirm_activation("premium", 3, T0)
    assert sub.status == "PendingFulfillmentStart"


def test_no_licenses_is_refused() -> None:
    with pytest.raises(RuleBroken) as refused:
        pending().assign_licenses([], T0)
    assert refused.value.target == "assignments"


def test_more_licenses_than_seats_is_refused() -> None:
    sub = pending(quantity=2)
    with pytest.raises(RuleBroken, match="exceed"):
        sub.assign_licenses(users("u1", "u2", "u3"), T0)
    assert sub.licenses == () and sub.events == []


def test_duplicate_user_ids_are_refused() -> None:
    with pytest.raises(RuleBroken, match="only once") as refused:
        pending().assign_licenses(users("u1", "u1"), T0)
    assert refused.value.target == "assignments"


def test_licenses_on_an_unsubscribed_subscription_are_refused() -> None:
    sub = pending()
    sub.status = "Unsubscribed"
    with pytest.raises(RuleBroken, match="Unsubscribed"):
        sub.assign_licenses(users("u1"), T0)


def test_publisher_changes_are_refused_by_the_domain() -> None:
    with pytest.raises(RuleBroken, match="only Read"):
        pending().change_by_publisher()


def test_exactly_one_completion_over_any_mix_of_retries() -> None:
    sub = pending()
    sub.confirm_activation("standard", 3, T0)
    sub.confirm_activation("standard", 3, T0)
    sub.assign_licenses(users("u1"), T0)
    sub.assign_licenses(users("u1"), T0)
    sub.assign_licenses(users("u1", "u2"), T0)
    events = sub.events
    assert sum(isinstance(e, ActivationCompleted) for e in events) == 1
    assert [e for e in events if isinstance(e, LicensesAssigned)] == [
        LicensesAssigned("sub-1", 1, 3),
        LicensesAssigned("sub-1", 2, 3),
    ]

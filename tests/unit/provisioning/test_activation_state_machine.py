"""The activation state machine: licenses AND confirmation, either order, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.provisioning.domain.errors import RuleViolation
from services.provisioning.domain.facts import ActivationDone, LicensesChanged
from services.provisioning.domain.model import LicenseAssignment, SaasSubscription

T0 = datetime(2025, 1, 31, 9, 30, tzinfo=UTC)
LATER = T0 + timedelta(hours=2)


def pending(quantity: int = 3, term: str = "P1M") -> SaasSubscription:
    return SaasSubscription(
        id="sub-1",
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
        auto_renew=True,
        purchased_at=T0,
        refundable_until=T0 + timedelta(days=1),
        correlation_id="corr-1",
        created=T0,
        activation_link="https://x.example/?token=t",
        token_expires_at=T0 + timedelta(days=7),
    )


def users(*ids: str) -> list[LicenseAssignment]:
    return [LicenseAssignment(user_id=i, email=f"{i}@customer.example") for i in ids]


def test_licenses_then_activate_completes_on_the_activate() -> None:
    sub = pending()
    assert sub.assign_licenses(users("u1", "u2"), T0) == [LicensesChanged(2, 3)]
    assert sub.status == "PendingFulfillmentStart"

    facts = sub.confirm_activation("standard", 3, LATER)

    assert facts == [ActivationDone(2, LATER, datetime(2025, 2, 27, 11, 30, tzinfo=UTC))]
    assert sub.status == "Subscribed"
    assert (sub.term_start, sub.term_end) == (LATER, datetime(2025, 2, 27, 11, 30, tzinfo=UTC))


def test_activate_then_licenses_completes_on_the_licenses() -> None:
    sub = pending()
    assert sub.confirm_activation("standard", 3, T0) == []
    assert sub.activation_confirmed and sub.status == "PendingFulfillmentStart"

    facts = sub.assign_licenses(users("u1"), LATER)

    assert facts[0] == LicensesChanged(1, 3)
    assert isinstance(facts[1], ActivationDone) and facts[1].term_start == LATER
    assert sub.status == "Subscribed"


def test_annual_term_ends_the_day_before_the_anniversary() -> None:
    sub = pending(term="P1Y")
    sub.assign_licenses(users("u1"), T0)
    (done,) = sub.confirm_activation("standard", 3, T0)
    assert isinstance(done, ActivationDone)
    assert done.term_end == datetime(2026, 1, 30, 9, 30, tzinfo=UTC)


def test_licenses_alone_never_complete() -> None:
    sub = pending()
    sub.assign_licenses(users("u1"), T0)
    sub.assign_licenses(users("u1", "u2"), T0)
    assert sub.status == "PendingFulfillmentStart" and sub.term_start is None


def test_activation_alone_never_completes() -> None:
    sub = pending()
    sub.confirm_activation("standard", 3, T0)
    assert sub.confirm_activation("standard", 3, LATER) == []
    assert sub.status == "PendingFulfillmentStart" and sub.term_start is None


def test_repeated_activate_while_waiting_for_licenses_keeps_the_first_confirmation() -> None:
    sub = pending()
    sub.confirm_activation("standard", 3, T0)
    sub.confirm_activation("standard", 3, LATER)
    assert sub.activation_confirmed_at == T0


def test_same_license_set_again_changes_nothing() -> None:
    sub = pending()
    sub.assign_licenses(users("u1", "u2"), T0)
    assert sub.assign_licenses(users("u2", "u1"), LATER) == []  # order does not matter


def test_licenses_retry_after_completion_emits_nothing_more() -> None:
    sub = pending()
    sub.assign_licenses(users("u1"), T0)
    sub.confirm_activation("standard", 3, T0)
    assert sub.assign_licenses(users("u1"), LATER) == []
    assert sub.term_start == T0


def test_changing_licenses_after_completion_reports_only_the_new_count() -> None:
    sub = pending()
    sub.confirm_activation("standard", 3, T0)
    sub.assign_licenses(users("u1"), T0)
    assert sub.assign_licenses(users("u1", "u2", "u3"), LATER) == [LicensesChanged(3, 3)]
    assert sub.term_start == T0 and sub.status == "Subscribed"


def test_activate_after_completion_is_refused() -> None:
    sub = pending()
    sub.assign_licenses(users("u1"), T0)
    sub.confirm_activation("standard", 3, T0)
    with pytest.raises(RuleViolation, match="already activated"):
        sub.confirm_activation("standard", 3, LATER)


@pytest.mark.parametrize(
    ("plan_id", "quantity", "field"),
    [("premium", 3, "planId"), ("standard", 4, "quantity"), ("standard", 2, "quantity")],
)
def test_activate_with_another_plan_or_quantity_is_refused_naming_the_field(
    plan_id: str, quantity: int, field: str
) -> None:
    sub = pending()
    with pytest.raises(RuleViolation) as refused:
        sub.confirm_activation(plan_id, quantity, T0)
    assert refused.value.field == field
    assert not sub.activation_confirmed


def test_mismatched_activate_does_not_complete_even_with_licenses() -> None:
    sub = pending()
    sub.assign_licenses(users("u1"), T0)
    with pytest.raises(RuleViolation):
        sub.confirm_activation("premium", 3, T0)
    assert sub.status == "PendingFulfillmentStart"


def test_no_licenses_is_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        pending().assign_licenses([], T0)
    assert refused.value.field == "assignments"


def test_more_licenses_than_seats_is_refused() -> None:
    sub = pending(quantity=2)
    with pytest.raises(RuleViolation, match="exceed"):
        sub.assign_licenses(users("u1", "u2", "u3"), T0)
    assert sub.licenses == ()


def test_duplicate_user_ids_are_refused() -> None:
    with pytest.raises(RuleViolation, match="only once") as refused:
        pending().assign_licenses(users("u1", "u1"), T0)
    assert refused.value.field == "assignments"


def test_licenses_on_an_unsubscribed_subscription_are_refused() -> None:
    sub = pending()
    sub.status = "Unsubscribed"
    with pytest.raises(RuleViolation, match="Unsubscribed"):
        sub.assign_licenses(users("u1"), T0)


def test_exactly_one_completion_over_any_mix_of_retries() -> None:
    sub = pending()
    steps = [
        lambda: sub.confirm_activation("standard", 3, T0),
        lambda: sub.confirm_activation("standard", 3, T0),
        lambda: sub.assign_licenses(users("u1"), T0),
        lambda: sub.assign_licenses(users("u1"), T0),
        lambda: sub.assign_licenses(users("u1", "u2"), T0),
    ]
    facts = [fact for step in steps for fact in step()]
    assert sum(isinstance(f, ActivationDone) for f in facts) == 1
    assert [f for f in facts if isinstance(f, LicensesChanged)] == [
        LicensesChanged(1, 3),
        LicensesChanged(2, 3),
    ]

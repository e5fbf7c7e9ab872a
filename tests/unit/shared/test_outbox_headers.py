"""An outbox row is the event exactly as it goes out: the envelope as JSON for a value,
and headers that name its type, version and correlation without parsing it."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.messaging.outbox import outbox_message
from tests.support.kernel import licenses_assigned

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_every_outbox_row_carries_type_version_and_correlation_in_its_headers() -> None:
    event = licenses_assigned(correlation_id="purchase-9").model_copy(
        update={"causation_id": "event-8", "time": T0}
    )

    headers = outbox_message(event).headers

    assert headers == {
        "content-type": "application/json",
        "ce-type": "LicensesAssigned",
        "ce-id": str(event.id),
        "ce-source": "provisioning",
        "ce-time": "2026-11-22T12:00:00+00:00",
        "event-version": "1",
        "correlation-id": "purchase-9",
        "correlation_id": "purchase-9",
        "causation-id": "event-8",
    }
    assert "causation-id" not in outbox_message(licenses_assigned()).headers

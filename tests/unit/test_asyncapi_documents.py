"""Each service's AsyncAPI document names what it consumes and publishes, with schemas:
its event topic, and for ordering and provisioning the part of subscriptions.state each
owns."""

from __future__ import annotations

import importlib

import pytest

EXPECTED = {
    "ordering": (
        {"ordering.subscriptions", "subscriptions.state"},
        {
            "SubscriptionStateChanged",
            "SubscriptionPurchased",
            "SubscriptionDetailsChanged",
            "QuantityChangeRequested",
            "SuspensionRequested",
            "ReinstatementRequested",
            "CancellationRequested",
        },
    ),
    "provisioning": (
        {"provisioning.subscriptions", "subscriptions.state"},
        {
            "SubscriptionStateChanged",
            "ActivationLinkIssued",
            "LicensesAssigned",
            "ActivationCompleted",
            "QuantityChangeAccepted",
            "QuantityChangeRejected",
            "SubscriptionSuspended",
            "SubscriptionReinstated",
            "CancellationScheduled",
            "SubscriptionCancelled",
            "SubscriptionRenewed",
            "SubscriptionExpired",
        },
    ),
    "billing": ({"billing.ledger"}, {"ChargePosted", "InvoiceIssued", "CreditNoteIssued"}),
}


@pytest.mark.parametrize("service", sorted(EXPECTED))
def test_the_document_lists_published_topics_and_event_schemas(service: str) -> None:
    module = importlib.import_module(f"services.{service}.asyncapi")
    document = module.asyncapi().to_specification().to_jsonable()
    topics, event_types = EXPECTED[service]

    sent = {
        document["channels"][operation["channel"]["$ref"].rsplit("/", 1)[-1]]["address"]
        for operation in document["operations"].values()
        if operation["action"] == "send"
    }
    assert topics == sent
    assert event_types <= set(document["components"]["schemas"])
    for event_type in event_types:
        properties = document["components"]["schemas"][event_type]["properties"]
        assert {"id", "type", "subject", "correlationId", "causationId", "data"} <= set(properties)

"""Ordering's AsyncAPI document declares every request it publishes, from its event
mapping, with the schema of each."""

from __future__ import annotations

from services.ordering.asyncapi import asyncapi

CHANGE_REQUESTS = {
    "SubscriptionDetailsChanged",
    "QuantityChangeRequested",
    "SuspensionRequested",
    "ReinstatementRequested",
    "CancellationRequested",
}


def test_the_partners_change_requests_are_documented_with_their_fields() -> None:
    document = asyncapi().to_specification().to_jsonable()
    schemas = document["components"]["schemas"]

    assert CHANGE_REQUESTS | {"SubscriptionPurchased"} <= set(schemas)
    for name in CHANGE_REQUESTS:
        assert schemas[name]["properties"]["type"]["const"] == name
    data = schemas["QuantityChangeRequestedData"]["properties"]
    assert {"subscriptionId", "operationId", "requestedBy", "requestedAt", "quantity"} <= set(data)
    assert "immediate" in schemas["CancellationRequestedData"]["properties"]

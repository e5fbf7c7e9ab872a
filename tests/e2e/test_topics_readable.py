"""The event topics are fit for anyone to read: each record off the real broker is the
envelope as JSON, valid against the message schema of its producer's AsyncAPI document,
keyed by the subscription, with headers naming its type, version and correlation. The
state topic too: each owner's part valid against its owner's document, keyed
`<subscription id>/<part>`."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from shared.events.state import state_key
from shared.events.topics import (
    BILLING_LEDGER,
    ORDERING_SUBSCRIPTIONS,
    PROVISIONING_SUBSCRIPTIONS,
    SUBSCRIPTIONS_STATE,
)
from tests.e2e.processes import buy_and_activate, charges, running_system, until
from tests.support.topics import Record, read_records

pytestmark = pytest.mark.e2e

PRODUCERS = {
    ORDERING_SUBSCRIPTIONS: "ordering",
    PROVISIONING_SUBSCRIPTIONS: "provisioning",
    BILLING_LEDGER: "billing",
}
# At least these, for one purchase activated and charged.
EXPECTED = {
    ORDERING_SUBSCRIPTIONS: {"SubscriptionPurchased"},
    PROVISIONING_SUBSCRIPTIONS: {"ActivationLinkIssued", "LicensesAssigned", "ActivationCompleted"},
    BILLING_LEDGER: {"ChargePosted"},
}
STATE_OWNERS = {"partner": "ordering", "publisher": "provisioning"}  # part -> its writer


def message_validator(service: str, topic: str) -> jsonschema_rs.Validator:
    """The payload schema of what `service` sends on `topic`, per its AsyncAPI document."""
    module = importlib.import_module(f"services.{service}.asyncapi")
    document = module.asyncapi().to_specification().to_jsonable()
    [operation] = [
        o
        for o in document["operations"].values()
        if o["action"] == "send" and _resolve(document, o["channel"]["$ref"])["address"] == topic
    ]
    [message_ref] = operation["messages"]
    message = _resolve(document, _resolve(document, message_ref["$ref"])["$ref"])
    return jsonschema_rs.validator_for({**document, **message["payload"]})


def _resolve(document: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def check(
    record: Record, validator: jsonschema_rs.Validator, subscription_id: str, key: str = ""
) -> str:
    """Everything a reader relies on, for one record (keyed `key`, by default the
    subscription id); its type."""
    value = json.loads(record.value)
    errors = [e.message for e in validator.iter_errors(value)]
    assert not errors, (value.get("type"), errors)
    assert {"id", "type", "version", "source", "time", "subject", "correlationId", "data"} <= set(
        value
    )
    assert value["subject"] == subscription_id
    assert record.key is not None and record.key.decode() == (key or subscription_id)
    headers = {k: v.decode() for k, v in record.headers}
    assert headers["content-type"] == "application/json"
    assert headers["ce-type"] == value["type"]
    assert headers["ce-id"] == value["id"]
    assert headers["ce-source"] == value["source"]
    assert headers["event-version"] == str(value["version"])
    assert headers["correlation-id"] == headers["correlation_id"] == value["correlationId"]
    assert headers.get("causation-id") == value.get("causationId")
    return str(value["type"])


async def test_every_record_of_a_purchase_is_a_documented_envelope_with_telling_headers(
    tmp_path: Path,
) -> None:
    async with running_system(tmp_path) as (system, actors):
        cid, sid = await buy_and_activate(actors)
        await until(lambda: charges(actors, cid, sid), "first charge")
        bootstrap = f"127.0.0.1:{system.broker_port}"

        correlations = set()
        for topic, service in PRODUCERS.items():
            records = await read_records(
                bootstrap,
                topic,
                at_least=len(EXPECTED[topic]),
                where=lambda r: r.key is not None and r.key.decode() == sid,
            )
            validator = message_validator(service, topic)
            types = {check(record, validator, sid) for record in records}
            assert EXPECTED[topic] <= types, (topic, types)
            correlations |= {json.loads(r.value)["correlationId"] for r in records}

        state = await read_records(
            bootstrap,
            SUBSCRIPTIONS_STATE,
            at_least=len(STATE_OWNERS),
            where=lambda r: r.key is not None and r.key.decode().startswith(f"{sid}/"),
        )
        parts = set()
        for record in state:
            part = json.loads(record.value)["data"]["part"]
            writer = STATE_OWNERS[part]
            assert json.loads(record.value)["source"] == writer
            validator = message_validator(writer, SUBSCRIPTIONS_STATE)
            assert check(record, validator, sid, state_key(sid, part)) == "SubscriptionStateChanged"
            parts.add(part)
            correlations.add(json.loads(record.value)["correlationId"])
        assert parts == set(STATE_OWNERS)

    assert len(correlations) == 1  # the purchase's, carried by every event about it

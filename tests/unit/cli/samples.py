"""Bodies as the partner API, billing and the dashboard answer them (README), for the
scripted services."""

from __future__ import annotations

from typing import Any

CID = "0b7a64b4-3c2e-4f57-9a57-2f0d4c1e7a11"
SID = "5d3c2b1a-9e8f-4a7b-8c6d-1e2f3a4b5c6d"
ORDER = "9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f"
CART = "11111111-2222-4333-8444-555555555555"
LINK = "https://contoso.example/landing?token=abc%2Bdef"


def offer(offer_id: str, name: str, plan: str = "standard") -> dict[str, Any]:
    return {
        "offerId": offer_id,
        "publisherId": "contoso",
        "name": name,
        "cancellationWindow": {"monthly": "PT24H", "annual": "P14D"},
        "plans": [
            {
                "planId": plan,
                "name": plan.title(),
                "currency": "USD",
                "minQuantity": 1,
                "maxQuantity": 500,
                "prices": [
                    {"termDuration": "P1M", "billingCycle": "monthly", "pricePerSeat": "10.00"},
                    {"termDuration": "P1Y", "billingCycle": "annual", "pricePerSeat": "100.00"},
                ],
            }
        ],
    }


def page(items: list[Any], next_uri: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"totalCount": len(items), "items": items}
    if next_uri:
        body["links"] = {"next": {"uri": next_uri, "method": "GET"}}
    return body


def customer(cid: str = CID, name: str = "Adatum") -> dict[str, Any]:
    return {
        "id": cid,
        "companyName": name,
        "domain": "adatum.example",
        "partnerId": "p-1",
        "creationDate": "2026-11-23T10:00:00.123456Z",
    }


def subscription(**changes: Any) -> dict[str, Any]:
    body = {
        "id": SID,
        "customerId": CID,
        "orderId": ORDER,
        "offerId": "contoso-crm",
        "planId": "standard",
        "publisherId": "contoso",
        "friendlyName": "CRM for sales",
        "quantity": 5,
        "status": "pending",
        "actionNeeded": False,
        "activationLink": None,
        "licensesAssigned": 0,
        "autoRenewEnabled": True,
        "partnerId": None,
        "termDuration": "P1M",
        "billingCycle": "monthly",
        "creationDate": "2026-11-23T10:00:01Z",
        "effectiveStartDate": None,
        "commitmentEndDate": None,
        "refundableUntil": "2026-11-24T10:00:01Z",
        "pendingChange": None,
        "lastChange": None,
    }
    return {**body, **changes}


def active(**changes: Any) -> dict[str, Any]:
    started = {
        "status": "active",
        "licensesAssigned": 1,
        "activationLink": LINK,
        "effectiveStartDate": "2026-11-23T10:05:00Z",
        "commitmentEndDate": "2026-12-22",
    }
    return subscription(**{**started, **changes})


def order(quantity: int = 5) -> dict[str, Any]:
    return {
        "id": ORDER,
        "customerId": CID,
        "status": "completed",
        "creationDate": "2026-11-23T10:00:01Z",
        "lineItems": [
            {
                "lineItemNumber": 0,
                "offerId": "contoso-crm",
                "planId": "standard",
                "subscriptionId": SID,
                "quantity": quantity,
                "termDuration": "P1M",
                "billingCycle": "monthly",
                "friendlyName": "CRM for sales",
                "partnerIdOnRecord": None,
            }
        ],
    }


def invoice(number: str, kind: str = "invoice", total: str = "50.00") -> dict[str, Any]:
    return {
        "id": f"id-{number}",
        "number": number,
        "kind": kind,
        "customerId": CID,
        "currency": "USD",
        "issuedAt": "2026-11-23T10:05:01Z",
        "total": total,
        "lineItems": [
            {
                "subscriptionId": SID,
                "description": "Contoso CRM / Standard",
                "type": "charge" if kind == "invoice" else "refund",
                "quantity": 5,
                "unitPrice": "10.00",
                "periodStart": "2026-11-23T10:05:00Z",
                "periodEnd": "2026-12-23T10:05:00Z",
                "amount": total,
            }
        ],
    }


def event(offset: int, event_type: str, occurred: str, topic: str) -> dict[str, Any]:
    return {
        "topic": topic,
        "partition": 0,
        "offset": offset,
        "type": event_type,
        "eventId": f"evt-{offset}",
        "occurredAt": occurred,
        "correlationId": "corr-1",
        "causationId": None if offset == 0 else f"evt-{offset - 1}",
        "payload": {"subscriptionId": SID, "step": offset},
    }

"""The billing API: invoices, credit notes, charges.

Any partner read role may read; a partner only ever sees its own documents, and
another partner's look exactly like unknown ones (404, decided by the queries), and so
does an id in the path that cannot be one (checked before any lookup: `path_id`; invoice
ids are billing's GUIDs, customer and subscription ids come from other services' events).
Lists page (`?size`, `continuationToken`, `links.next`: `shared/http/paging.py`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.billing.entrypoints.schemas import ChargeList, InvoiceList, InvoiceOut
from services.billing.service_layer.queries import (
    GetInvoice,
    ListInvoices,
    SubscriptionCharges,
)
from shared.http.auth import Authenticator, PartnerUser
from shared.http.limits import ID_CHARS, path_id
from shared.http.paging import PageParams, page_params
from shared.service_layer import MessageBus

InvoiceId = path_id("invoice", "invoiceId")
CustomerId = path_id("customer", "customerId", guid=False)
SubscriptionId = path_id("subscription", "subscriptionId", guid=False)


def make_router(bus: MessageBus, auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["billing"])
    reader = Depends(auth.partner_reader)
    paging = Depends(page_params)

    @router.get("/invoices", response_model=InvoiceList)
    async def list_invoices(
        customer_id: Annotated[
            str | None, Query(alias="customerId", min_length=1, max_length=ID_CHARS)
        ] = None,
        user: PartnerUser = reader,
        params: PageParams = paging,
    ) -> InvoiceList:
        page = params.bind("invoices", partner=user.partner_id, customer=customer_id)
        found = await bus.handle(ListInvoices(user.partner_id, customer_id, page.page))
        return InvoiceList.of(found, page.links(found.next))

    @router.get("/invoices/{invoiceId}", response_model=InvoiceOut)
    async def get_invoice(invoice_id: InvoiceId, user: PartnerUser = reader) -> InvoiceOut:
        return InvoiceOut.of(await bus.handle(GetInvoice(user.partner_id, invoice_id)))

    @router.get(
        "/customers/{customerId}/subscriptions/{subscriptionId}/charges",
        response_model=ChargeList,
    )
    async def list_charges(
        customer_id: CustomerId,
        subscription_id: SubscriptionId,
        user: PartnerUser = reader,
        params: PageParams = paging,
    ) -> ChargeList:
        scope = {"partner": user.partner_id, "customer": customer_id}
        page = params.bind("charges", **scope, subscription=subscription_id)
        query = SubscriptionCharges(user.partner_id, customer_id, subscription_id, page.page)
        charges = await bus.handle(query)
        return ChargeList.of(charges, page.links(charges.next))

    return router


def routers(bus: MessageBus, auth: Authenticator) -> list[APIRouter]:
    return [make_router(bus, auth)]

"""The billing API (CONTRACT.md "Billing API"): invoices, credit notes, charges.

Any partner read role may read; a partner only ever sees its own documents, and
another partner's look exactly like unknown ones (404).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.billing.entrypoints.schemas import ChargeList, InvoiceList, InvoiceOut
from services.billing.service_layer import queries
from shared.http.auth import Authenticator, PartnerUser
from shared.http.errors import not_found
from shared.store.port import Store


def make_router(store: Store, auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["billing"])
    reader = Depends(auth.partner_reader)

    @router.get("/invoices", response_model=InvoiceList)
    async def list_invoices(
        customer_id: Annotated[str | None, Query(alias="customerId", min_length=1)] = None,
        user: PartnerUser = reader,
    ) -> InvoiceList:
        documents = await queries.list_invoices(store.read_only(), user.partner_id, customer_id)
        return InvoiceList(total_count=len(documents), items=[InvoiceOut.of(d) for d in documents])

    @router.get("/invoices/{invoice_id}", response_model=InvoiceOut)
    async def get_invoice(invoice_id: str, user: PartnerUser = reader) -> InvoiceOut:
        document = await queries.get_invoice(store.read_only(), user.partner_id, invoice_id)
        if document is None:
            raise not_found(f"invoice {invoice_id} not found")
        return InvoiceOut.of(document)

    @router.get(
        "/customers/{customer_id}/subscriptions/{subscription_id}/charges",
        response_model=ChargeList,
    )
    async def list_charges(
        customer_id: str, subscription_id: str, user: PartnerUser = reader
    ) -> ChargeList:
        charges = await queries.subscription_charges(
            store.read_only(), user.partner_id, customer_id, subscription_id
        )
        if charges is None:
            raise not_found(
                f"subscription {subscription_id} of customer {customer_id} has no billing record"
            )
        return ChargeList.of(charges)

    return router

"""The partner API (CONTRACT.md "Partner API"): parse, authorize, one use case, shape.

Writes need GlobalAdmin or AdminAgent, reads any partner role; a publisher token
is refused (403). Everything under /v1/customers/{cid} is scoped to the caller's
partner: another partner's customer answers 404, as if it did not exist.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from services.ordering.domain.checkout import Buyer
from services.ordering.domain.errors import Conflict, InvalidInput, NotFound, OrderingError
from services.ordering.entrypoints.schemas import (
    ActivationLinkOut,
    CartIn,
    CartOut,
    CheckoutOut,
    CustomerIn,
    CustomerOut,
    LinkOut,
    OfferOut,
    OrderOut,
    Page,
    SubscriptionOut,
    offers_page,
)
from services.ordering.service_layer import carts, customers, queries
from shared.catalog import Catalog
from shared.clock import Clock
from shared.http.auth import Authenticator, PartnerUser
from shared.http.errors import error_body
from shared.store.port import Store

_STATUS = {
    InvalidInput: (400, "BadRequest"),
    NotFound: (404, "NotFound"),
    Conflict: (409, "Conflict"),
}


def install_domain_errors(app: FastAPI) -> None:
    """Domain errors become the shared error shape, keeping `target` (the field)."""

    @app.exception_handler(OrderingError)
    async def _domain_error(_: Request, error: OrderingError) -> JSONResponse:
        status, code = _STATUS.get(type(error), (400, "BadRequest"))
        return JSONResponse(error_body(code, error.message, error.target), status_code=status)


def build_router(*, store: Store, clock: Clock, catalog: Catalog, auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["partner"])
    reader = Depends(auth.partner_reader)
    writer = Depends(auth.partner_writer)

    @router.get("/offers", response_model=Page[OfferOut])
    async def list_offers(user: PartnerUser = reader) -> Page[OfferOut]:
        return offers_page(catalog)

    @router.post("/customers", status_code=201, response_model=CustomerOut)
    async def create_customer(body: CustomerIn, user: PartnerUser = writer) -> CustomerOut:
        async with store.unit_of_work() as uow:
            customer = await customers.create_customer(
                uow,
                csp_partner_id=user.partner_id,
                company_name=body.company_name,
                domain=body.domain,
                now=clock.now(),
            )
        return CustomerOut.of(customer)

    @router.get("/customers", response_model=Page[CustomerOut])
    async def list_customers(user: PartnerUser = reader) -> Page[CustomerOut]:
        async with store.read_only() as uow:
            found = await customers.list_customers(uow, user.partner_id)
        return Page[CustomerOut].of([CustomerOut.of(c) for c in found])

    @router.get("/customers/{cid}", response_model=CustomerOut)
    async def get_customer(cid: str, user: PartnerUser = reader) -> CustomerOut:
        async with store.read_only() as uow:
            customer = await customers.owned_customer(uow, user.partner_id, cid)
        return CustomerOut.of(customer)

    @router.post("/customers/{cid}/carts", status_code=201, response_model=CartOut)
    async def create_cart(cid: str, body: CartIn, user: PartnerUser = writer) -> CartOut:
        async with store.unit_of_work() as uow:
            cart = await carts.create_cart(
                uow,
                csp_partner_id=user.partner_id,
                customer_id=cid,
                drafts=[item.draft() for item in body.line_items],
                catalog=catalog,
                now=clock.now(),
            )
        return CartOut.of(cart)

    @router.get("/customers/{cid}/carts/{cart_id}", response_model=CartOut)
    async def get_cart(cid: str, cart_id: str, user: PartnerUser = reader) -> CartOut:
        async with store.read_only() as uow:
            cart = await carts.get_cart(uow, user.partner_id, cid, cart_id)
        return CartOut.of(cart)

    @router.post(
        "/customers/{cid}/carts/{cart_id}/checkout", status_code=201, response_model=CheckoutOut
    )
    async def checkout(cid: str, cart_id: str, user: PartnerUser = writer) -> CheckoutOut:
        buyer = Buyer(csp_partner_id=user.partner_id, user_id=user.user_id)
        async with store.unit_of_work() as uow:
            order = await carts.checkout(
                uow, buyer=buyer, customer_id=cid, cart_id=cart_id, catalog=catalog, now=clock.now()
            )
        return CheckoutOut(orders=[OrderOut.of(order)], order_errors=[])

    @router.get("/customers/{cid}/orders", response_model=Page[OrderOut])
    async def list_orders(cid: str, user: PartnerUser = reader) -> Page[OrderOut]:
        async with store.read_only() as uow:
            orders = await queries.list_orders(uow, user.partner_id, cid)
        return Page[OrderOut].of([OrderOut.of(o) for o in orders])

    @router.get("/customers/{cid}/orders/{order_id}", response_model=OrderOut)
    async def get_order(cid: str, order_id: str, user: PartnerUser = reader) -> OrderOut:
        async with store.read_only() as uow:
            order = await queries.get_order(uow, user.partner_id, cid, order_id)
        return OrderOut.of(order)

    @router.get(
        "/customers/{cid}/orders/{order_id}/lineitems/{n}/activationlinks",
        response_model=Page[ActivationLinkOut],
    )
    async def activation_links(
        cid: str, order_id: str, n: str, user: PartnerUser = reader
    ) -> Page[ActivationLinkOut]:
        async with store.read_only() as uow:
            links = await queries.activation_links(uow, user.partner_id, cid, order_id, n)
        return Page[ActivationLinkOut].of(
            [
                ActivationLinkOut(line_item_number=x.line_item_number, link=LinkOut(uri=x.uri))
                for x in links
            ]
        )

    @router.get("/customers/{cid}/subscriptions", response_model=Page[SubscriptionOut])
    async def list_subscriptions(
        cid: str, status: str | None = None, user: PartnerUser = reader
    ) -> Page[SubscriptionOut]:
        async with store.read_only() as uow:
            found = await queries.list_subscriptions(uow, user.partner_id, cid, status)
        return Page[SubscriptionOut].of([SubscriptionOut.of(s) for s in found])

    @router.get("/customers/{cid}/subscriptions/{sid}", response_model=SubscriptionOut)
    async def get_subscription(cid: str, sid: str, user: PartnerUser = reader) -> SubscriptionOut:
        async with store.read_only() as uow:
            subscription = await queries.get_subscription(uow, user.partner_id, cid, sid)
        return SubscriptionOut.of(subscription)

    return router

"""The partner API (README, "As a partner"): parse, authorize, build a command or a
query, hand it to the message bus, shape the answer.

Writes need GlobalAdmin or AdminAgent, reads any partner role; a publisher token
is refused (403). Everything under /v1/customers/{cid} is scoped to the caller's
partner: another partner's customer answers 404, as if it did not exist, and so does
an id in the path that is no GUID (checked before any lookup: `path_id`). Errors are
the shared vocabulary, mapped to HTTP in `shared/http/errors.py`. Every list pages
(`?size`, `continuationToken`, `links.next`: `shared/http/paging.py`); a token is
bound to its list, its caller and its filters.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from services.ordering.domain.commands import (
    ChangeSubscription,
    Checkout,
    CreateCart,
    CreateCustomer,
)
from services.ordering.entrypoints.offer_schemas import OfferOut
from services.ordering.entrypoints.schemas import (
    CartIn,
    CartOut,
    CheckoutOut,
    CustomerIn,
    CustomerOut,
    OrderOut,
    Page,
)
from services.ordering.entrypoints.subscription_schemas import (
    ActivationLinkOut,
    LinkOut,
    SubscriptionOut,
    SubscriptionPatchIn,
)
from services.ordering.service_layer import queries as q
from shared.errors import NotFound
from shared.http.auth import Authenticator, PartnerUser
from shared.http.errors import clip
from shared.http.limits import CODE_CHARS, path_id
from shared.http.paging import PageParams, page_params
from shared.service_layer import MessageBus

# Ids this service made (GUIDs): anything else is a 404 before any lookup.
CustomerId = path_id("customer", "cid")
CartId = path_id("cart", "cartId")
OrderId = path_id("order", "orderId")
SubscriptionId = path_id("subscription", "sid")
LineItem = Annotated[str, Path(description="The line item's number (0, 1, ...).")]
StatusFilter = Annotated[str | None, Query(max_length=CODE_CHARS)]
_LINE_ITEM_DIGITS = 9  # far more line items than any order has; int() of it is cheap


def line_item_number(text: str) -> int | None:
    """The path's line item as a number; None unless it is (a few) ASCII digits."""
    if text.isdecimal() and text.isascii() and len(text) <= _LINE_ITEM_DIGITS:
        return int(text)
    return None


def build_router(bus: MessageBus, auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["partner"])
    reader = Depends(auth.partner_reader)
    writer = Depends(auth.partner_writer)
    paging = Depends(page_params)

    @router.get("/offers", response_model=Page[OfferOut])
    async def list_offers(
        user: PartnerUser = reader, params: PageParams = paging
    ) -> Page[OfferOut]:
        page = params.bind("offers")  # the catalog is the same for every partner
        found = await bus.handle(q.ListOffers(page.page))
        return Page[OfferOut].of(found.items, page.links(found.next))

    @router.post("/customers", status_code=201, response_model=CustomerOut)
    async def create_customer(body: CustomerIn, user: PartnerUser = writer) -> CustomerOut:
        command = CreateCustomer(user.partner_id, body.company_name, body.domain)
        return CustomerOut.model_validate(await bus.handle(command))

    @router.get("/customers", response_model=Page[CustomerOut])
    async def list_customers(
        user: PartnerUser = reader, params: PageParams = paging
    ) -> Page[CustomerOut]:
        page = params.bind("customers", partner=user.partner_id)
        found = await bus.handle(q.ListCustomers(user.partner_id, page.page))
        return Page[CustomerOut].of(found.items, page.links(found.next))

    @router.get("/customers/{cid}", response_model=CustomerOut)
    async def get_customer(cid: CustomerId, user: PartnerUser = reader) -> CustomerOut:
        customer = await bus.handle(q.GetCustomer(user.partner_id, cid))
        return CustomerOut.model_validate(customer)

    @router.post("/customers/{cid}/carts", status_code=201, response_model=CartOut)
    async def create_cart(cid: CustomerId, body: CartIn, user: PartnerUser = writer) -> CartOut:
        drafts = tuple(item.draft() for item in body.line_items)
        return CartOut.model_validate(await bus.handle(CreateCart(user.partner_id, cid, drafts)))

    @router.get("/customers/{cid}/carts/{cartId}", response_model=CartOut)
    async def get_cart(cid: CustomerId, cart_id: CartId, user: PartnerUser = reader) -> CartOut:
        return CartOut.model_validate(await bus.handle(q.GetCart(user.partner_id, cid, cart_id)))

    @router.post(
        "/customers/{cid}/carts/{cartId}/checkout", status_code=201, response_model=CheckoutOut
    )
    async def checkout(cid: CustomerId, cart_id: CartId, user: PartnerUser = writer) -> CheckoutOut:
        order = await bus.handle(Checkout(user.partner_id, user.user_id, cid, cart_id))
        return CheckoutOut(orders=[OrderOut.model_validate(order)], order_errors=[])

    @router.get("/customers/{cid}/orders", response_model=Page[OrderOut])
    async def list_orders(
        cid: CustomerId, user: PartnerUser = reader, params: PageParams = paging
    ) -> Page[OrderOut]:
        page = params.bind("orders", partner=user.partner_id, customer=cid)
        found = await bus.handle(q.ListOrders(user.partner_id, cid, page.page))
        return Page[OrderOut].of(found.items, page.links(found.next))

    @router.get("/customers/{cid}/orders/{orderId}", response_model=OrderOut)
    async def get_order(cid: CustomerId, order_id: OrderId, user: PartnerUser = reader) -> OrderOut:
        order = await bus.handle(q.GetOrder(user.partner_id, cid, order_id))
        return OrderOut.model_validate(order)

    @router.get(
        "/customers/{cid}/orders/{orderId}/lineitems/{n}/activationlinks",
        response_model=Page[ActivationLinkOut],
    )
    async def activation_links(
        cid: CustomerId,
        order_id: OrderId,
        n: LineItem,
        user: PartnerUser = reader,
        params: PageParams = paging,
    ) -> Page[ActivationLinkOut]:
        scope = {"partner": user.partner_id, "customer": cid, "order": order_id, "line": n}
        page = params.bind("activationlinks", **scope)
        query = q.ActivationLinks(user.partner_id, cid, order_id, line_item_number(n), page.page)
        found = await bus.handle(query)
        if found is None:
            raise NotFound(f"order {order_id} has no line item {clip(n)}", "n")
        return Page[ActivationLinkOut].of(
            (
                ActivationLinkOut(line_item_number=x.line_item_number, link=LinkOut(uri=x.uri))
                for x in found.items
            ),
            page.links(found.next),
        )

    @router.get("/customers/{cid}/subscriptions", response_model=Page[SubscriptionOut])
    async def list_subscriptions(
        cid: CustomerId,
        status: StatusFilter = None,
        user: PartnerUser = reader,
        params: PageParams = paging,
    ) -> Page[SubscriptionOut]:
        page = params.bind("subscriptions", partner=user.partner_id, customer=cid, status=status)
        found = await bus.handle(q.ListSubscriptions(user.partner_id, cid, status, page.page))
        return Page[SubscriptionOut].of(found.items, page.links(found.next))

    @router.get("/customers/{cid}/subscriptions/{sid}", response_model=SubscriptionOut)
    async def get_subscription(
        cid: CustomerId, sid: SubscriptionId, user: PartnerUser = reader
    ) -> SubscriptionOut:
        subscription = await bus.handle(q.GetSubscription(user.partner_id, cid, sid))
        return SubscriptionOut.model_validate(subscription)

    @router.patch("/customers/{cid}/subscriptions/{sid}", response_model=SubscriptionOut)
    async def change_subscription(
        cid: CustomerId, sid: SubscriptionId, body: SubscriptionPatchIn, user: PartnerUser = writer
    ) -> SubscriptionOut:
        """Ordering decides at once: 200 with the subscription as it now stands (a seat
        change shows as `pendingChange` until the publisher's answer); 400 for a bad
        value, 409 when the subscription's state forbids the change."""
        command = ChangeSubscription(user.partner_id, user.user_id, cid, sid, body.changes())
        return SubscriptionOut.model_validate(await bus.handle(command))

    return router


def routers(bus: MessageBus, auth: Authenticator) -> list[APIRouter]:
    return [build_router(bus, auth)]

"""Everything under /v1/customers/{cid} is scoped to the caller's partner.

A customer belongs to the partner that created them; to anyone else it does not
exist (404, never 403: no existence leak). A cart, order or subscription is found
only under its own customer; under any other it is just as unknown.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from services.ordering.domain.model import Cart, Customer, Order
from services.ordering.domain.subscription import Subscription
from services.ordering.service_layer.unit_of_work import OrderingUnitOfWork
from shared.errors import NotFound
from shared.service_layer import Repository

A = TypeVar("A", Cart, Order, Subscription)


class Scoped(Protocol):
    """A command or query about one customer, asked by one partner."""

    @property
    def csp_partner_id(self) -> str: ...

    @property
    def customer_id(self) -> str: ...


async def owned_customer(uow: OrderingUnitOfWork, scope: Scoped) -> Customer:
    customer = await uow.customers.get(scope.customer_id)
    if customer is None or customer.csp_partner_id != scope.csp_partner_id:
        raise NotFound(f"customer {scope.customer_id} not found")
    return customer


async def owned(
    uow: OrderingUnitOfWork, scope: Scoped, repository: Repository[A], key: str, what: str
) -> A:
    """`key` from `repository` if it belongs to the scope's (owned) customer."""
    await owned_customer(uow, scope)
    found = await repository.get(key)
    if found is None or found.customer_id != scope.customer_id:
        raise NotFound(f"{what} {key} not found")
    return found

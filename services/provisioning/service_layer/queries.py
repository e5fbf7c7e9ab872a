"""The read side: the publisher API's queries and what the due work finds due.

Each runs on the store's read side and never commits. A publisher sees only its own
subscriptions: another publisher's is 403, an unknown one 404 (services/provisioning/
README.md, "Publisher API choices").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.provisioning.adapters.purchase_tokens import PurchaseTokens
from services.provisioning.domain.model import NotYourSubscription, SaasSubscription
from services.provisioning.domain.operations import Operation
from services.provisioning.service_layer.unit_of_work import ProvisioningUnitOfWork
from shared.catalog import Catalog, Plan
from shared.errors import NotFound
from shared.service_layer import Paged, PageRequest, Query


class Resolve(Query):
    token: str  # the purchase token from the activation link
    publisher_id: str


class ListSubscriptions(Query):
    publisher_id: str
    after: int | None = None  # the position from the previous page; None: the first


class _OfSubscription(Query):
    """About one subscription, on behalf of the publisher asking."""

    subscription_id: str
    publisher_id: str


class GetSubscription(_OfSubscription):
    pass


class ListAvailablePlans(_OfSubscription):
    plan_id: str | None = None  # only this plan, if given


class ListOperations(_OfSubscription):
    pass


class GetOperation(_OfSubscription):
    operation_id: str


async def load_owned(
    uow: ProvisioningUnitOfWork, subscription_id: str, publisher_id: str
) -> SaasSubscription:
    """The subscription, if it exists (else NotFound) and is the caller's (else Forbidden)."""
    subscription = await uow.subscriptions.get(subscription_id)
    if subscription is None:
        raise NotFound(f"subscription {subscription_id} not found")
    subscription.ensure_publisher(publisher_id)
    return subscription


async def resolve(
    query: Resolve, uow: ProvisioningUnitOfWork, tokens: PurchaseTokens
) -> SaasSubscription:
    """A bad token is InvalidPurchaseToken (400), another publisher's 403, unknown 404."""
    claims = tokens.verify(query.token)
    if claims.publisher_id != query.publisher_id:
        raise NotYourSubscription(claims.subscription_id)
    return await load_owned(uow, claims.subscription_id, query.publisher_id)


async def list_subscriptions(
    query: ListSubscriptions, uow: ProvisioningUnitOfWork, page_size: int
) -> Paged[SaasSubscription]:
    """A page of the publisher's subscriptions, oldest first; `page_size` is the setting
    CSP_PUBLISHER_PAGE_SIZE (the spec gives the caller no size)."""
    page = PageRequest(page_size, query.after)
    return await uow.subscriptions.page_for_publisher(query.publisher_id, page)


async def get_subscription(query: _OfSubscription, uow: ProvisioningUnitOfWork) -> SaasSubscription:
    return await load_owned(uow, query.subscription_id, query.publisher_id)


async def list_available_plans(
    query: ListAvailablePlans, uow: ProvisioningUnitOfWork, catalog: Catalog
) -> list[Plan]:
    """The catalog plans of the subscription's offer (optionally just `plan_id`)."""
    subscription = await get_subscription(query, uow)
    offer = catalog.offer(subscription.offer_id)
    plans = [] if offer is None else offer.plans
    return [plan for plan in plans if query.plan_id is None or plan.plan_id == query.plan_id]


async def load_operation(
    uow: ProvisioningUnitOfWork, subscription: SaasSubscription, operation_id: str
) -> Operation:
    """One operation of this subscription; another subscription's is as unknown (404)."""
    operation = await uow.operations.get(operation_id)
    if operation is None or operation.subscription_id != subscription.id:
        raise NotFound(
            f"operation {operation_id} not found for subscription {subscription.id}",
            "operationId",
        )
    return operation


async def list_operations(query: ListOperations, uow: ProvisioningUnitOfWork) -> list[Operation]:
    """Every operation of the subscription, newest first, decided ones included."""
    await get_subscription(query, uow)
    return list(reversed(await uow.operations.for_subscription(query.subscription_id)))


async def get_operation(query: GetOperation, uow: ProvisioningUnitOfWork) -> Operation:
    subscription = await get_subscription(query, uow)
    return await load_operation(uow, subscription, query.operation_id)


# --- what is due (service_layer/due_work.py) ---


class _Due(Query):
    now: datetime  # business time of the pass


class DueDeliveries(_Due):
    pass


class SilentSeatChanges(_Due):
    pass


class EndedTerms(_Due):
    limit: int  # the earliest ends first


@dataclass(frozen=True)
class Delivery:
    """A webhook to send now: the operation and the subscription it shows."""

    operation: Operation
    subscription: SaasSubscription


async def due_deliveries(query: DueDeliveries, uow: ProvisioningUnitOfWork) -> list[Delivery]:
    """Per subscription only its oldest undelivered webhook, and that one only once its
    next attempt is due: a later webhook waits while an earlier one is retried."""
    oldest: dict[str, Operation] = {}
    for operation in await uow.operations.undelivered():
        oldest.setdefault(operation.subscription_id, operation)
    due = []
    for operation in oldest.values():
        if operation.next_attempt_at is not None and operation.next_attempt_at > query.now:
            continue
        subscription = await uow.subscriptions.get(operation.subscription_id)
        if subscription is not None:
            due.append(Delivery(operation, subscription))
    return due


async def silent_seat_changes(query: SilentSeatChanges, uow: ProvisioningUnitOfWork) -> list[str]:
    """Ids of the seat changes whose acceptance deadline has come without an answer."""
    return [o.id for o in await uow.operations.in_progress() if o.silence_accepts(query.now)]


async def ended_terms(query: EndedTerms, uow: ProvisioningUnitOfWork) -> list[str]:
    """Ids of the subscriptions whose current term has ended by now (through the stored,
    indexed `term_ends_at`: the ended ones only)."""
    return [s.id for s in await uow.subscriptions.terms_ended_by(query.now, query.limit)]

"""The publisher API: SaaS Fulfillment API v2 under /api, plus the licenses extension.

Thin: authorize, run one use case in one unit of work, shape the answer. No
`from __future__ import annotations` here: FastAPI must evaluate annotations that
name per-app dependencies (`Publisher`) defined inside `build_router`.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from services.provisioning.adapters.purchase_tokens import InvalidPurchaseToken, PurchaseTokens
from services.provisioning.domain.errors import RuleViolation
from services.provisioning.domain.model import LicenseAssignment
from services.provisioning.entrypoints import presenters
from services.provisioning.entrypoints.headers import API_PREFIX, require_api_version
from services.provisioning.entrypoints.schemas import (
    LicensesRequest,
    LicensesResponse,
    OperationList,
    ResolvedSubscription,
    SubscriberPlan,
    Subscription,
    SubscriptionPlans,
    SubscriptionsResponse,
)
from services.provisioning.service_layer import fulfillment
from services.provisioning.service_layer.errors import NotYourSubscription, SubscriptionNotFound
from shared.catalog import Catalog
from shared.clock import Clock
from shared.http.auth import Authenticator, PublisherClient
from shared.http.errors import bad_request, forbidden, not_found
from shared.store.port import Store, UnitOfWork

T = TypeVar("T")
SubscriptionId = Annotated[str, Path(alias="subscriptionId")]
READ_ONLY = (
    "CSP purchases allow only Read (allowedCustomerOperations); changes come from the partner"
)


def build_router(
    *, store: Store, clock: Clock, catalog: Catalog, tokens: PurchaseTokens, auth: Authenticator
) -> APIRouter:
    router = APIRouter(
        prefix=API_PREFIX,
        tags=["SaaS Fulfillment API v2"],
        dependencies=[Depends(require_api_version)],
    )
    Publisher = Annotated[PublisherClient, Depends(auth.publisher)]

    async def in_unit(work: Callable[[UnitOfWork], Awaitable[T]], *, reads_only: bool = False) -> T:
        # Queries use the store's read side, so they do not queue behind event handling.
        unit = store.read_only() if reads_only else store.unit_of_work()
        async with _errors_as_http(), unit as uow:
            result = await work(uow)
            await uow.commit()
            return result

    @router.post("/saas/subscriptions/resolve", response_model_exclude_none=True)
    async def resolve(
        caller: Publisher,
        token: Annotated[str | None, Header(alias="x-ms-marketplace-token")] = None,
    ) -> ResolvedSubscription:
        if not token or not token.strip():
            raise bad_request("header x-ms-marketplace-token is required", "x-ms-marketplace-token")
        found = await in_unit(
            lambda uow: fulfillment.resolve(uow, token.strip(), caller.publisher_id, tokens=tokens),
            reads_only=True,
        )
        return presenters.resolved(found)

    @router.get("/saas/subscriptions/", response_model_exclude_none=True)
    @router.get("/saas/subscriptions", response_model_exclude_none=True, include_in_schema=False)
    async def list_subscriptions(caller: Publisher) -> SubscriptionsResponse:
        # One page holds everything, so there is never an @nextLink (continuationToken unused).
        found = await in_unit(
            lambda uow: fulfillment.list_subscriptions(uow, caller.publisher_id), reads_only=True
        )
        return SubscriptionsResponse(subscriptions=[presenters.subscription_body(s) for s in found])

    @router.get("/saas/subscriptions/{subscriptionId}", response_model_exclude_none=True)
    async def get_subscription(sid: SubscriptionId, caller: Publisher) -> Subscription:
        found = await in_unit(
            lambda uow: fulfillment.load_owned(uow, sid, caller.publisher_id), reads_only=True
        )
        return presenters.subscription_body(found)

    @router.patch("/saas/subscriptions/{subscriptionId}")
    @router.delete("/saas/subscriptions/{subscriptionId}")
    async def change_subscription(sid: SubscriptionId, caller: Publisher) -> Response:
        await in_unit(
            lambda uow: fulfillment.load_owned(uow, sid, caller.publisher_id), reads_only=True
        )
        raise bad_request(READ_ONLY)

    @router.post("/saas/subscriptions/{subscriptionId}/activate")
    async def activate(sid: SubscriptionId, body: SubscriberPlan, caller: Publisher) -> Response:
        await in_unit(
            lambda uow: fulfillment.activate(
                uow,
                sid,
                caller.publisher_id,
                plan_id=body.plan_id,
                quantity=body.quantity,
                clock=clock,
            )
        )
        return Response(status_code=200)

    @router.put("/saas/subscriptions/{subscriptionId}/licenses")
    async def assign_licenses(
        sid: SubscriptionId, body: LicensesRequest, caller: Publisher
    ) -> LicensesResponse:
        wanted = [LicenseAssignment(user_id=a.user_id, email=a.email) for a in body.assignments]
        done = await in_unit(
            lambda uow: fulfillment.assign_licenses(
                uow, sid, caller.publisher_id, assignments=wanted, clock=clock
            )
        )
        return LicensesResponse(
            subscription_id=done.id, assigned_count=len(done.licenses), quantity=done.quantity
        )

    @router.get("/saas/subscriptions/{subscriptionId}/listAvailablePlans")
    async def list_available_plans(
        sid: SubscriptionId,
        caller: Publisher,
        plan_id: Annotated[str | None, Query(alias="planId")] = None,
    ) -> SubscriptionPlans:
        found = await in_unit(
            lambda uow: fulfillment.load_owned(uow, sid, caller.publisher_id), reads_only=True
        )
        return SubscriptionPlans(plans=presenters.plans_of(catalog.offer(found.offer_id), plan_id))

    @router.get("/saas/subscriptions/{subscriptionId}/operations")
    async def list_operations(sid: SubscriptionId, caller: Publisher) -> OperationList:
        await in_unit(
            lambda uow: fulfillment.load_owned(uow, sid, caller.publisher_id), reads_only=True
        )
        return OperationList(operations=[])  # no operation exists before seat/plan changes

    @router.get("/saas/subscriptions/{subscriptionId}/operations/{operationId}")
    @router.patch("/saas/subscriptions/{subscriptionId}/operations/{operationId}")
    async def operation(
        sid: SubscriptionId,
        operation_id: Annotated[str, Path(alias="operationId")],
        caller: Publisher,
    ) -> Response:
        await in_unit(
            lambda uow: fulfillment.load_owned(uow, sid, caller.publisher_id), reads_only=True
        )
        raise not_found(f"operation {operation_id} not found")

    return router


@asynccontextmanager
async def _errors_as_http() -> AsyncIterator[None]:
    try:
        yield
    except SubscriptionNotFound as error:
        raise not_found(str(error)) from error
    except NotYourSubscription as error:
        raise forbidden(str(error)) from error
    except RuleViolation as error:
        raise bad_request(error.message, error.field) from error
    except InvalidPurchaseToken as error:
        raise bad_request(str(error), "x-ms-marketplace-token") from error

"""The publisher API: SaaS Fulfillment API v2 under /api, plus the licenses extension.

Operations: list (newest first) and get of a subscription's operations, and the
publisher's PATCH answering a seat change (services/provisioning/README.md).

Thin: parse, authorize, build a command or query, `await bus.handle(...)`, shape the
answer. Errors are the shared vocabulary, mapped to HTTP in `shared/http/errors.py`.
No `from __future__ import annotations` here: FastAPI must evaluate annotations that
name per-app dependencies (`Publisher`) defined inside `build_router`.

Ids in paths are GUIDs, as the spec declares them (`format: uuid`): another value is a
400 naming `subscriptionId` / `operationId` before any lookup. A GUID is read in any of
its spellings (upper case too) and looked up in its canonical lower-case form.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from services.provisioning.adapters.purchase_tokens import TOKEN_HEADER
from services.provisioning.domain.commands import (
    AnswerOperation,
    AssignLicenses,
    ChangeByPublisher,
    ConfirmActivation,
)
from services.provisioning.domain.licenses import LicenseAssignment
from services.provisioning.entrypoints import presenters
from services.provisioning.entrypoints.headers import API_PREFIX, require_api_version
from services.provisioning.entrypoints.schemas import (
    LicensesRequest,
    LicensesResponse,
    OperationList,
    ResolvedSubscription,
    SaasOperation,
    SubscriberPlan,
    Subscription,
    SubscriptionPlans,
    SubscriptionsResponse,
    UpdateOperation,
)
from services.provisioning.service_layer import queries
from shared.errors import RuleBroken
from shared.http.auth import Authenticator, PublisherClient
from shared.http.limits import ID_CHARS
from shared.http.paging import (
    MAX_TOKEN_CHARS,
    TOKEN_PARAM,
    binding,
    decode_token,
    encode_token,
    next_uri,
)
from shared.service_layer import MessageBus

SubscriptionId = Annotated[uuid.UUID, Path(alias="subscriptionId")]
OperationId = Annotated[uuid.UUID, Path(alias="operationId")]
# A marketplace token is opaque and may run to a few KB; ours are a few hundred bytes.
MAX_MARKETPLACE_TOKEN_CHARS = 8192
ONE = "/saas/subscriptions/{subscriptionId}"


def build_router(bus: MessageBus, auth: Authenticator) -> APIRouter:
    router = APIRouter(
        prefix=API_PREFIX,
        tags=["SaaS Fulfillment API v2"],
        dependencies=[Depends(require_api_version)],
    )
    Publisher = Annotated[PublisherClient, Depends(auth.publisher)]

    @router.post("/saas/subscriptions/resolve", response_model_exclude_none=True)
    async def resolve(
        caller: Publisher,
        token: Annotated[
            str | None, Header(alias=TOKEN_HEADER, max_length=MAX_MARKETPLACE_TOKEN_CHARS)
        ] = None,
    ) -> ResolvedSubscription:
        if not token or not token.strip():
            raise RuleBroken(f"header {TOKEN_HEADER} is required", TOKEN_HEADER)
        found = await bus.handle(queries.Resolve(token.strip(), caller.publisher_id))
        return presenters.resolved(found)

    @router.get("/saas/subscriptions/", response_model_exclude_none=True)
    @router.get("/saas/subscriptions", response_model_exclude_none=True, include_in_schema=False)
    async def list_subscriptions(
        caller: Publisher,
        request: Request,
        continuation_token: Annotated[
            str | None,
            Query(
                alias=TOKEN_PARAM,
                max_length=MAX_TOKEN_CHARS,
                description="From the previous page's `@nextLink`.",
            ),
        ] = None,
    ) -> SubscriptionsResponse:
        # Pages of CSP_PUBLISHER_PAGE_SIZE; the token is shared/http/paging.py's, bound
        # to this list and this publisher.
        bound_to = binding("saas.subscriptions", publisher=caller.publisher_id)
        after = decode_token(continuation_token, bound_to) if continuation_token else None
        found = await bus.handle(queries.ListSubscriptions(caller.publisher_id, after))
        next_link = None
        if found.next is not None:
            token = encode_token(bound_to, found.next)
            next_link = next_uri(request, token, absolute=True)
        return SubscriptionsResponse(
            subscriptions=[presenters.subscription_body(s) for s in found.items],
            next_link=next_link,
        )

    @router.get(ONE, response_model_exclude_none=True)
    async def get_subscription(sid: SubscriptionId, caller: Publisher) -> Subscription:
        found = await bus.handle(queries.GetSubscription(str(sid), caller.publisher_id))
        return presenters.subscription_body(found)

    @router.patch(ONE)
    @router.delete(ONE)
    async def change_subscription(sid: SubscriptionId, caller: Publisher) -> Response:
        await bus.handle(ChangeByPublisher(str(sid), caller.publisher_id))  # refused: read only
        return Response(status_code=200)

    @router.post(f"{ONE}/activate")
    async def activate(sid: SubscriptionId, body: SubscriberPlan, caller: Publisher) -> Response:
        command = ConfirmActivation(str(sid), caller.publisher_id, body.plan_id, body.quantity)
        await bus.handle(command)
        return Response(status_code=200)

    @router.put(f"{ONE}/licenses")
    async def assign_licenses(
        sid: SubscriptionId, body: LicensesRequest, caller: Publisher
    ) -> LicensesResponse:
        wanted = tuple(
            LicenseAssignment(user_id=a.user_id, email=a.email) for a in body.assignments
        )
        done = await bus.handle(AssignLicenses(str(sid), caller.publisher_id, wanted))
        return LicensesResponse(
            subscription_id=done.id, assigned_count=len(done.licenses), quantity=done.quantity
        )

    @router.get(f"{ONE}/listAvailablePlans")
    async def list_available_plans(
        sid: SubscriptionId,
        caller: Publisher,
        plan_id: Annotated[str | None, Query(alias="planId", max_length=ID_CHARS)] = None,
    ) -> SubscriptionPlans:
        query = queries.ListAvailablePlans(str(sid), caller.publisher_id, plan_id)
        plans = await bus.handle(query)
        return SubscriptionPlans(plans=[presenters.plan(p) for p in plans])

    @router.get(f"{ONE}/operations")
    async def list_operations(sid: SubscriptionId, caller: Publisher) -> OperationList:
        found = await bus.handle(queries.ListOperations(str(sid), caller.publisher_id))
        return OperationList(operations=[presenters.operation_body(o) for o in found])

    @router.get(f"{ONE}/operations/{{operationId}}")
    async def get_operation(
        sid: SubscriptionId, operation_id: OperationId, caller: Publisher
    ) -> SaasOperation:
        query = queries.GetOperation(str(sid), caller.publisher_id, str(operation_id))
        found = await bus.handle(query)
        return presenters.operation_body(found)

    @router.patch(f"{ONE}/operations/{{operationId}}")
    async def update_operation(
        sid: SubscriptionId, operation_id: OperationId, body: UpdateOperation, caller: Publisher
    ) -> Response:
        """The publisher's answer to a seat change: Success accepts, Failure rejects."""
        answer = AnswerOperation(
            str(sid),
            caller.publisher_id,
            str(operation_id),
            success=body.status == "Success",
            plan_id=body.plan_id,
            quantity=body.quantity,
        )
        await bus.handle(answer)
        return Response(status_code=200)  # the spec's 200 has no body

    return router


def routers(bus: MessageBus, auth: Authenticator) -> list[APIRouter]:
    return [build_router(bus, auth)]

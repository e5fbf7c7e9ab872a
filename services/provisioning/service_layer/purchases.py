"""SubscriptionPurchased -> a PendingFulfillmentStart SaaS subscription + its activation link."""

from __future__ import annotations

import urllib.parse

import structlog

from services.provisioning.adapters.purchase_tokens import PurchaseTokens
from services.provisioning.adapters.repository import SubscriptionRepository
from services.provisioning.domain.model import SaasSubscription
from services.provisioning.service_layer.messages import SOURCE
from shared.catalog import Catalog
from shared.clock import Clock
from shared.events.ordering import SubscriptionPurchased
from shared.events.provisioning import ActivationLinkIssued, ActivationLinkIssuedData
from shared.messaging.consumer import PermanentFailure
from shared.messaging.outbox import emit
from shared.money import to_minor
from shared.store.port import UnitOfWork

log = structlog.get_logger(__name__)


def activation_link(landing_page_url: str, token: str) -> str:
    return f"{landing_page_url}?token={urllib.parse.quote(token, safe='')}"


async def provision_purchase(
    event: SubscriptionPurchased,
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    tokens: PurchaseTokens,
    clock: Clock,
) -> None:
    """Idempotent by subscription id: a purchase seen before (any event id) changes nothing."""
    data = event.data
    repo = SubscriptionRepository(uow)
    if await repo.get(data.subscription_id) is not None:
        log.info("purchase_already_provisioned", subscription_id=data.subscription_id)
        return
    publisher = catalog.publisher(data.publisher_id)
    if publisher is None:
        # Retrying cannot help: the catalog does not know whom to send the link to.
        raise PermanentFailure(f"unknown publisher {data.publisher_id!r}")
    try:
        price_minor = to_minor(data.price_per_seat, data.currency)
    except ValueError as error:  # a price the currency cannot hold never becomes valid
        raise PermanentFailure(str(error)) from error
    now = clock.now()
    issued = tokens.issue(data.subscription_id, data.publisher_id)
    link = activation_link(publisher.landing_page_url, issued.token)
    subscription = SaasSubscription(
        id=data.subscription_id,
        publisher_id=data.publisher_id,
        offer_id=data.offer_id,
        offer_name=data.offer_name,
        plan_id=data.plan_id,
        plan_name=data.plan_name,
        quantity=data.quantity,
        term_duration=data.term_duration,
        billing_cycle=data.billing_cycle,
        currency=data.currency,
        price_per_seat_minor=price_minor,
        friendly_name=data.friendly_name,
        csp_partner_id=data.csp_partner_id,
        customer_id=data.customer_id,
        customer_name=data.customer_name,
        purchased_by=data.purchased_by,
        order_id=data.order_id,
        line_item_number=data.line_item_number,
        reseller_mpn_id=data.reseller_mpn_id,
        auto_renew=data.auto_renew_enabled,
        purchased_at=data.purchased_at,
        refundable_until=data.refundable_until,
        correlation_id=event.correlation_id,
        created=now,
        activation_link=link,
        token_expires_at=issued.expires_at,
    )
    await repo.add(subscription)
    emit(
        uow,
        ActivationLinkIssued(
            source=SOURCE,
            time=now,
            subject=subscription.id,
            correlation_id=event.correlation_id,
            causation_id=str(event.id),
            data=ActivationLinkIssuedData(
                subscription_id=subscription.id, link=link, token_expires_at=issued.expires_at
            ),
        ),
    )
    log.info("activation_link_issued", subscription_id=subscription.id)

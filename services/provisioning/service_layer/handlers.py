"""Command handlers: load through the unit of work, ask the aggregate, return.

The bus opens the unit of work and commits it; the commit saves what changed and
writes the events the aggregate recorded to the outbox in the same transaction, so
no handler saves or emits (docs/architecture.md, "One way per concern").
"""

from __future__ import annotations

import structlog

from services.provisioning.adapters.purchase_tokens import PurchaseTokens, activation_link
from services.provisioning.domain.commands import (
    AssignLicenses,
    ChangeByPublisher,
    ConfirmActivation,
    ProvisionPurchase,
)
from services.provisioning.domain.model import SaasSubscription
from services.provisioning.service_layer.queries import load_owned
from services.provisioning.service_layer.unit_of_work import ProvisioningUnitOfWork
from shared.catalog import Catalog
from shared.errors import NotFound

log = structlog.get_logger(__name__)


async def provision_purchase(
    command: ProvisionPurchase,
    uow: ProvisioningUnitOfWork,
    catalog: Catalog,
    tokens: PurchaseTokens,
) -> None:
    """Idempotent by subscription id: a purchase seen before (any event id) changes nothing."""
    if await uow.subscriptions.get(command.subscription_id) is not None:
        log.info("purchase_already_provisioned", subscription_id=command.subscription_id)
        return
    publisher = catalog.publisher(command.publisher_id)
    if publisher is None:  # the partition waits until the catalog knows the publisher
        raise NotFound(f"unknown publisher {command.publisher_id!r}", "publisherId")
    issued = tokens.issue(command.subscription_id, command.publisher_id)
    subscription = SaasSubscription.purchased(
        command,
        link=activation_link(publisher.landing_page_url, issued.token),
        token_expires_at=issued.expires_at,
        now=uow.clock.now(),
    )
    await uow.subscriptions.add(subscription)
    log.info("activation_link_issued", subscription_id=subscription.id)


async def assign_licenses(command: AssignLicenses, uow: ProvisioningUnitOfWork) -> SaasSubscription:
    """Replace the license set; completes activation if it was already confirmed."""
    subscription = await load_owned(uow, command.subscription_id, command.publisher_id)
    subscription.assign_licenses(command.assignments, uow.clock.now())
    return subscription


async def confirm_activation(command: ConfirmActivation, uow: ProvisioningUnitOfWork) -> None:
    """Confirm activation; completes it if licenses are already assigned."""
    subscription = await load_owned(uow, command.subscription_id, command.publisher_id)
    subscription.confirm_activation(command.plan_id, command.quantity, uow.clock.now())


async def change_by_publisher(command: ChangeByPublisher, uow: ProvisioningUnitOfWork) -> None:
    """PATCH / DELETE: refused by the domain, after the 404 / 403 checks."""
    subscription = await load_owned(uow, command.subscription_id, command.publisher_id)
    subscription.change_by_publisher()
